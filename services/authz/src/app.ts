/**
 * The composition root: config → Postgres (embedded or given) → migrations →
 * store → authorizer → gRPC server. `close()` shuts down in reverse: stop
 * accepting calls and drain in-flight ones (bounded by the grace period), close
 * the pool, stop embedded Postgres.
 */
import { createServer, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import pg from 'pg';
import type { Logger } from 'pino';
import { AuthzServiceDefinition } from '@warden/proto/authz/v1';
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
    const health = HealthState();
    server = createServer({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
    server.with(errorsMiddleware(logger)).add(AuthzServiceDefinition, createAuthzServiceImpl(authorizer));
    server.add(HealthDefinition, HealthServiceImpl(health));
    const port = await server.listen(`${config.grpc.host}:${config.grpc.port}`);
    health.setStatus('healthy');
    health.setStatus('healthy', AuthzServiceDefinition.fullName);
    const grpcAddress = `${config.grpc.host}:${port}`;
    logger.info({ address: grpcAddress }, 'authz gRPC server listening');

    const running = server;
    return {
      grpcAddress,
      pool,
      authorizer,
      async close() {
        health.setStatus('unhealthy');
        health.setStatus('unhealthy', AuthzServiceDefinition.fullName);
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([
          running.shutdown().then(() => true),
          new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), config.shutdownGraceMs))),
        ]);
        clearTimeout(timer);
        if (!drained) {
          logger.warn({ graceMs: config.shutdownGraceMs }, 'calls still running after the grace period; cancelling them');
          running.forceShutdown();
        }
        await pool.end();
        await embedded?.stop();
        logger.info('authz stopped');
      },
    };
  } catch (error) {
    server?.forceShutdown();
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
}
