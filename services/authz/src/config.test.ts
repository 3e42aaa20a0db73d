import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, KNOWN_SETTINGS, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has defaults for a laptop: embedded Postgres under ./data, gRPC on loopback', () => {
    expect(loadConfig({})).toEqual({
      databaseUrl: undefined,
      grpc: { host: '127.0.0.1', port: 50051 },
      dataDir: 'data',
      embeddedPostgresPort: 54329,
      poolMax: 10,
      readReplica: undefined,
      worldFile: undefined,
      logLevel: 'info',
      shutdownGraceMs: 10_000,
      http: { host: '127.0.0.1', port: 8080, publicUrl: undefined, corsOrigins: [] },
      console: false,
      telemetry: { metricsHost: '127.0.0.1', metricsPort: 9464, otlpEndpoint: undefined },
      trustLoopback: false,
      keyCacheMs: 5000,
      jwt: undefined,
      platformAdmins: [],
      identityCallers: [],
      identityKeyFile: undefined,
      audit: undefined,
      auditKeys: { verifierKey: undefined, witnessKeys: [] },
      bootstrapKey: undefined,
      cache: {
        redisUrl: undefined,
        redisCluster: false,
        keyPrefix: 'warden:',
        redisTtlMs: 3_600_000,
        maxEntries: 200_000,
        maxBytes: 256 * 1024 * 1024,
        maxStalenessMs: 5_000,
        heartbeatMs: 1_000,
      },
      watchMaxBuffered: 10_000,
      approvalTtlMs: 86_400_000,
    });
  });

  it('refuses contradictory or partial settings', () => {
    expect(() => loadConfig({ AUTHZ_JWKS_URL: 'https://idp.example/jwks' })).toThrow(/AUTHZ_JWT_ISSUER: required[\s\S]*AUTHZ_JWT_AUDIENCE: required/);
    expect(() => loadConfig({ AUTHZ_JWKS_URL: 'https://idp.example/jwks', AUTHZ_JWKS_FILE: 'x', AUTHZ_JWT_ISSUER: 'i', AUTHZ_JWT_AUDIENCE: 'a' })).toThrow(/set exactly one/);
    expect(() => loadConfig({ AUTHZ_BOOTSTRAP_KEY_FILE: 'k' })).toThrow(/set all three or none/);
    expect(() => loadConfig({ AUTHZ_MAX_STALENESS_MS: '1000', AUTHZ_CACHE_HEARTBEAT_MS: '800' })).toThrow(/AUTHZ_CACHE_HEARTBEAT_MS: must be at most half/);
    expect(() => loadConfig({ REDIS_URL: 'http://cache:6379' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ AUTHZ_REDIS_CLUSTER: 'true' })).toThrow(/AUTHZ_REDIS_CLUSTER: needs REDIS_URL/);
    expect(() => loadConfig({ AUTHZ_REDIS_CLUSTER: 'yes', REDIS_URL: 'redis://r:6379' })).toThrow(/AUTHZ_REDIS_CLUSTER/);
    expect(() => loadConfig({ AUTHZ_REDIS_KEY_PREFIX: '{warden}:' })).toThrow(/AUTHZ_REDIS_KEY_PREFIX: must have no braces or spaces/);
    expect(() => loadConfig({ AUTHZ_CONSOLE: 'on' })).toThrow(/AUTHZ_CONSOLE/);
    expect(loadConfig({ AUTHZ_CONSOLE: 'true' }).console).toBe(true);
    expect(loadConfig({ AUTHZ_REDIS_CLUSTER: 'true', REDIS_URL: 'redis://r:6379' }).cache.redisCluster).toBe(true);
    expect(() => loadConfig({ AUTHZ_PLATFORM_ADMINS: 'user:a@b.c, root' })).toThrow(/"root" is not a user or service subject/);
    expect(loadConfig({ AUTHZ_PLATFORM_ADMINS: 'user:a@b.c, service:ops' }).platformAdmins).toEqual(['user:a@b.c', 'service:ops']);
  });

  it('reports every problem at once, never echoing a secret', () => {
    let error: unknown;
    try {
      loadConfig({ AUTHZ_GRPC_PORT: '99999', AUTHZ_LOG_LEVEL: 'loud', AUTHZ_GRCP_HOST: 'x', DATABASE_URL: 'mysql://root:hunter2@db/x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^AUTHZ_GRCP_HOST: unknown setting/);
    expect(problems.join('\n')).toMatch(/AUTHZ_GRPC_PORT: /);
    expect(problems.join('\n')).toMatch(/AUTHZ_LOG_LEVEL: /);
    expect(problems.join('\n')).toMatch(/DATABASE_URL: /);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('reads a read replica (AUTHZ_DATABASE_READ_URL or its _FILE) and validates it, naming the variable', () => {
    const primary = 'postgres://warden@primary/warden';
    const standby = 'postgres://warden:s3cret@standby/warden';
    expect(loadConfig({ DATABASE_URL: primary, AUTHZ_DATABASE_READ_URL: standby }).readReplica).toEqual({ url: standby, poolMax: 10 });
    expect(loadConfig({ DATABASE_URL: primary, AUTHZ_DATABASE_READ_URL: standby, AUTHZ_PG_READ_POOL_MAX: '4' }).readReplica).toEqual({ url: standby, poolMax: 4 });
    expect(loadConfig({ DATABASE_URL: primary }).readReplica).toBeUndefined();
    const dir = mkdtempSync(path.join(tmpdir(), 'warden-config-'));
    try {
      const file = path.join(dir, 'read-url');
      writeFileSync(file, `${standby}\n`);
      expect(loadConfig({ DATABASE_URL: primary, AUTHZ_DATABASE_READ_URL_FILE: file }).readReplica).toEqual({ url: standby, poolMax: 10 });
      expect(() => loadConfig({ DATABASE_URL: primary, AUTHZ_DATABASE_READ_URL: standby, AUTHZ_DATABASE_READ_URL_FILE: file })).toThrow(
        /AUTHZ_DATABASE_READ_URL_FILE: set either AUTHZ_DATABASE_READ_URL or AUTHZ_DATABASE_READ_URL_FILE/,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
    expect(() => loadConfig({ DATABASE_URL: primary, AUTHZ_DATABASE_READ_URL_FILE: '/nonexistent/read' })).toThrow(/AUTHZ_DATABASE_READ_URL_FILE: cannot read \/nonexistent\/read/);
    // Bad values name the variable and never echo a password.
    let error: unknown;
    try {
      loadConfig({ DATABASE_URL: primary, AUTHZ_DATABASE_READ_URL: 'mysql://root:hunter2@standby/x', AUTHZ_PG_READ_POOL_MAX: '0' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^AUTHZ_DATABASE_READ_URL: /m);
    expect(problems).toMatch(/^AUTHZ_PG_READ_POOL_MAX: /m);
    expect(problems).not.toContain('hunter2');
    expect(() => loadConfig({ DATABASE_URL: primary, AUTHZ_DATABASE_READ_URL: standby, AUTHZ_PG_READ_POOL_MAX: 'many' })).toThrow(/AUTHZ_PG_READ_POOL_MAX: /);
    // Contradictions: a replica of nothing (embedded Postgres), a pool for no replica.
    expect(() => loadConfig({ AUTHZ_DATABASE_READ_URL: standby })).toThrow(/AUTHZ_DATABASE_READ_URL: needs DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: primary, AUTHZ_PG_READ_POOL_MAX: '4' })).toThrow(/AUTHZ_PG_READ_POOL_MAX: set only with AUTHZ_DATABASE_READ_URL/);
    expect(KNOWN_SETTINGS).toEqual(expect.arrayContaining(['AUTHZ_DATABASE_READ_URL', 'AUTHZ_DATABASE_READ_URL_FILE', 'AUTHZ_PG_READ_POOL_MAX']));
  });

  it('reads DATABASE_URL_FILE and refuses both forms together', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://a@b/c', DATABASE_URL_FILE: '/nonexistent' })).toThrow(/set either DATABASE_URL or DATABASE_URL_FILE/);
    expect(() => loadConfig({ DATABASE_URL_FILE: '/nonexistent/file' })).toThrow(/DATABASE_URL_FILE: cannot read \/nonexistent\/file/);
  });

  it('identity callers: service subjects only; a key file needs exactly one of them', () => {
    expect(loadConfig({ AUTHZ_IDENTITY_CALLERS: 'service:audit', AUTHZ_IDENTITY_KEY_FILE: 'data/audit.key' })).toMatchObject({ identityCallers: ['service:audit'], identityKeyFile: 'data/audit.key' });
    expect(() => loadConfig({ AUTHZ_IDENTITY_CALLERS: 'user:eve@acme.com' })).toThrow(/AUTHZ_IDENTITY_CALLERS: "user:eve@acme.com" is not a service subject/);
    expect(() => loadConfig({ AUTHZ_IDENTITY_KEY_FILE: 'k' })).toThrow(/AUTHZ_IDENTITY_KEY_FILE: needs exactly one subject/);
    expect(() => loadConfig({ AUTHZ_IDENTITY_CALLERS: 'service:a,service:b', AUTHZ_IDENTITY_KEY_FILE: 'k' })).toThrow(/AUTHZ_IDENTITY_KEY_FILE: needs exactly one subject/);
  });
});
