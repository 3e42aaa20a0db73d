import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults: chdb under ./data/audit relative to cwd, migrate on, authz required unless disabled', () => {
    const config = loadConfig({ AUDIT_AUTHZ_DISABLED: 'true', PATH: '/bin' }, '/srv/app');
    expect(config).toMatchObject({
      grpcAddress: '127.0.0.1:50052',
      dataDir: '/srv/app/data/audit',
      clickhouse: { kind: 'chdb', path: '/srv/app/data/audit/chdb' },
      database: 'warden_audit',
      migrate: true,
      payloadTtlDays: undefined,
      trustSubjectHeader: false,
      authz: undefined,
      checkpointEvery: 1000,
      telemetry: { metricsHost: '127.0.0.1', metricsPort: 9465, otlpEndpoint: undefined },
    });
  });

  it('telemetry: metrics host and port (0 = any free port), OTLP traces only when the standard variable is set', () => {
    const config = loadConfig(
      { AUDIT_AUTHZ_DISABLED: 'true', AUDIT_METRICS_HOST: '0.0.0.0', AUDIT_METRICS_PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' },
      '/',
    );
    expect(config.telemetry).toEqual({ metricsHost: '0.0.0.0', metricsPort: 0, otlpEndpoint: 'http://collector:4318' });
    const bad = (env: Record<string, string>) => {
      try {
        loadConfig({ AUDIT_AUTHZ_DISABLED: 'true', ...env }, '/');
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
      throw new Error(`accepted ${JSON.stringify(env)}`);
    };
    expect(bad({ AUDIT_METRICS_PORT: '65536' })).toEqual([expect.stringMatching(/^AUDIT_METRICS_PORT: /)]);
    expect(bad({ AUDIT_METRICS_PORT: 'ninety' })).toEqual([expect.stringMatching(/^AUDIT_METRICS_PORT: /)]);
    // An empty value is an unset one (the services' one loader): the default host.
    expect(loadConfig({ AUDIT_AUTHZ_DISABLED: 'true', AUDIT_METRICS_HOST: '' }, '/').telemetry.metricsHost).toBe('127.0.0.1');
    expect(bad({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toEqual([expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: /)]);
    // Still refused: a misspelt telemetry setting would otherwise silently do nothing.
    expect(bad({ AUDIT_METRIC_PORT: '9465' })).toEqual(['AUDIT_METRIC_PORT: unknown setting']);
  });

  it('server mode does not migrate by default (the writer has no DDL rights)', () => {
    const config = loadConfig({ CLICKHOUSE_URL: 'http://ch:8123', AUDIT_AUTHZ_ADDRESS: 'authz:50051', AUDIT_AUTHZ_CREDENTIAL_FILE: 'audit.key', AUDIT_CLICKHOUSE_USER: 'warden_audit_service' }, '/');
    expect(config.clickhouse).toEqual({ kind: 'server', url: 'http://ch:8123', username: 'warden_audit_service', passwordFile: undefined });
    expect(config.migrate).toBe(false);
  });

  it('reports every problem at once: unknown, malformed and contradictory settings', () => {
    let error: unknown;
    try {
      loadConfig({ AUDIT_AUTHZ_DISABLED: 'true', AUDIT_AUTHZ_ADDRESS: 'authz:1', AUDIT_TYPO: 'x', AUDIT_MAX_BATCH: '0', AUDIT_CLICKHOUSE_DATABASE: 'bad-name', AUDIT_CLICKHOUSE_USER: 'u' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/AUDIT_TYPO: unknown setting/);
    expect(problems).toMatch(/AUDIT_MAX_BATCH/);
    expect(problems).toMatch(/AUDIT_CLICKHOUSE_DATABASE/);
    expect(problems).toMatch(/AUDIT_AUTHZ_DISABLED: contradicts AUDIT_AUTHZ_ADDRESS/);
    expect(problems).toMatch(/AUDIT_CLICKHOUSE_USER: needs CLICKHOUSE_URL/);
    expect(() => loadConfig({})).toThrow(/AUDIT_AUTHZ_ADDRESS: is required/);
  });

  it('identity: authz with the service\'s own credential; the key file and the subject header only in development', () => {
    const config = loadConfig({ AUDIT_AUTHZ_ADDRESS: 'authz:50051', AUDIT_AUTHZ_CREDENTIAL_FILE: 'keys/audit.key' }, '/srv');
    expect(config.authz).toEqual({ address: 'authz:50051', credentialFile: '/srv/keys/audit.key', cacheMs: 5000, timeoutMs: 2000 });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env, '/');
      } catch (error) {
        return (error as ConfigError).problems.join('\n');
      }
      throw new Error(`accepted ${JSON.stringify(env)}`);
    };
    expect(problems({ AUDIT_AUTHZ_ADDRESS: 'authz:50051' })).toMatch(/AUDIT_AUTHZ_CREDENTIAL_FILE: is required with AUDIT_AUTHZ_ADDRESS/);
    expect(problems({ AUDIT_AUTHZ_ADDRESS: 'authz:50051', AUDIT_AUTHZ_CREDENTIAL_FILE: 'k', AUDIT_API_KEYS_FILE: 'keys.json' })).toMatch(/AUDIT_API_KEYS_FILE: is a development switch/);
    expect(problems({ AUDIT_AUTHZ_ADDRESS: 'authz:50051', AUDIT_AUTHZ_CREDENTIAL_FILE: 'k', AUDIT_TRUST_SUBJECT_HEADER: 'true' })).toMatch(/AUDIT_TRUST_SUBJECT_HEADER: is a development switch/);
    expect(problems({ AUDIT_AUTHZ_ADDRESS: 'authz:50051', AUDIT_AUTHZ_CREDENTIAL_FILE: 'k', AUDIT_AUTHZ_CACHE_MS: '600000' })).toMatch(/AUDIT_AUTHZ_CACHE_MS/);
    expect(loadConfig({ AUDIT_AUTHZ_DISABLED: 'true', AUDIT_TRUST_SUBJECT_HEADER: 'true' }, '/').trustSubjectHeader).toBe(true);
  });
});
