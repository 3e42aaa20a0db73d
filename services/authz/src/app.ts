/**
 * The composition root: config → Postgres (embedded or given) → migrations →
 * store → authorizer → gRPC server. `close()` shuts down in reverse: stop
 * accepting calls and drain in-flight ones (bounded by the grace period), close
 * the pool, stop embedded Postgres.
 *
 * With AUTHZ_DATABASE_READ_URL (a streaming standby of DATABASE_URL), a second pool serves
 * the grant cache's miss fills; everything else reads and writes the primary: writes, the
 * admin use cases (their own authorization must see the newest grants), lookups (they have
 * no revision gate, so a lagging standby would list a just-revoked resource), the cache's
 * LISTEN/heartbeat/catch-up, fully_consistent and fallback views, the outbox relay.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createServer, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';
import type { Logger } from 'pino';
import { AuthzServiceDefinition } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { WatchServiceDefinition } from '@warden/proto/authz/v1/watch';
import { IdentityServiceDefinition } from '@warden/proto/authz/v1/identity';
import { createIdentity } from './usecases/identity.js';
import { createIdentityServiceImpl } from './api/grpc/identity-service.js';
import { ApprovalsServiceDefinition } from '@warden/proto/authz/v1/approvals';
import { createApprovals } from './usecases/approvals.js';
import { createApprovalsServiceImpl } from './api/grpc/approvals-service.js';
import { PgRequestQueries } from './adapters/postgres/pg-request-store.js';
import { loadOrCreateSecret } from './adapters/postgres/pg-secrets.js';
import { createAdmin } from './usecases/admin.js';
import { createAdminServiceImpl } from './api/grpc/admin-service.js';
import { authenticated } from './api/grpc/auth.js';
import { createHttpServer } from './api/http/server.js';
import { PgApiKeyStore } from './adapters/postgres/pg-api-key-store.js';
import { createAuthenticator, type JwtOptions } from './usecases/authenticate.js';
import { createLookups } from './usecases/lookups.js';
import { openTelemetryServerMiddleware } from 'nice-grpc-opentelemetry';
import { observeGrantCache } from './instruments.js';
import { tracingEnabled } from '@warden/service-kit';
import { startOutboxRelay, type OutboxRelay } from './usecases/relay-outbox.js';
import { createPgOutbox } from './adapters/postgres/pg-outbox.js';
import { createGrpcAuditSink } from './adapters/audit/grpc-audit-sink.js';
import { parseCosignatureVerifierKey, parsePrivateKey, parseVerifierKey } from '@warden/audit-events';
import { PgCandidates } from './adapters/postgres/pg-candidates.js';
import { createAuthorizer, type Authorizer } from './usecases/check.js';
import { ConfigError, type Config } from './config.js';
import { createAuthzServiceImpl } from './api/grpc/authz-service.js';
import { startEmbeddedPostgres, type RunningPostgres } from './adapters/postgres/embedded.js';
import { migrate } from './adapters/postgres/migrations.js';
import { PgGrantStore } from './adapters/postgres/pg-grant-store.js';
import { CachedGrantSource } from './adapters/cache/cached-grant-source.js';
import { PgChangeFeed } from './adapters/postgres/pg-change-feed.js';
import { createWatchServiceImpl } from './api/grpc/watch-service.js';
import { PgGrantWriter } from './adapters/postgres/pg-grant-writer.js';
import { seedWorld } from './usecases/world-apply.js';
import { isPlatformAdmin } from './domain/caller.js';
import { PgGrantQueries } from './adapters/postgres/pg-grant-queries.js';
import { answers, ping, serverIdentity, type ServerIdentity } from './adapters/postgres/pg-probes.js';
import { createWatch } from './usecases/watch.js';
import { readWorldFile } from './world-file.js';
import { DirectoryServiceDefinition } from '@warden/proto/authz/v1/directory';
import { CONSOLE_ASSETS_DIR } from '@warden/console';
import { createDirectory } from './usecases/directory.js';
import { createAdminRules } from './usecases/admin-rules.js';
import { createDirectoryServiceImpl } from './api/grpc/directory-service.js';
import { AuditStatusServiceDefinition } from '@warden/proto/authz/v1/audit-status';
import { createAuditStatus } from './usecases/audit-status.js';
import { auditStatusService } from './api/grpc/audit-status-service.js';
import { createGrpcAuditReader } from './adapters/audit/grpc-audit-reader.js';
import { PgDirectory } from './adapters/postgres/pg-directory.js';

/** How often expired change requests are recorded as expired. */
const APPROVAL_SWEEP_MS = 30_000;

export interface AuthzApp {
  /** `host:port` the gRPC server listens on. */
  readonly grpcAddress: string;
  /** `http://host:port` of the HTTP API (AuthZEN, Connect-style JSON, health). */
  readonly httpUrl: string;
  /** The outbox relay, when AUTHZ_AUDIT_ADDRESS is set. */
  readonly relay: OutboxRelay | undefined;
  readonly pool: pg.Pool;
  /** The read replica's pool (AUTHZ_DATABASE_READ_URL), for the cache's miss fills. */
  readonly readPool: pg.Pool | undefined;
  readonly authorizer: Authorizer;
  /** The cached grant graph Check answers from (stats(), noteWrite(), waitForRevision()). */
  readonly grantCache: CachedGrantSource;
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

  const pool = new pg.Pool({ connectionString: databaseUrl, max: config.poolMax, connectionTimeoutMillis: 5_000 });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection failed'));
  // Short connect timeout: a fill waits for it before falling back to the primary.
  const readPool =
    config.readReplica !== undefined ? new pg.Pool({ connectionString: config.readReplica.url, max: config.readReplica.poolMax, connectionTimeoutMillis: 2_000 }) : undefined;
  readPool?.on('error', (error) => logger.warn({ err: error }, 'idle read-replica connection failed'));
  let server: Server | undefined;
  let http: FastifyInstance | undefined;
  let redis: Redis | Cluster | undefined;
  let grantCache: CachedGrantSource | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  try {
    const applied = await migrate(pool);
    if (applied.length > 0) logger.info({ versions: applied }, 'migrations applied');
    if (readPool !== undefined) await checkReadReplica(pool, readPool, logger);

    if (config.worldFile !== undefined) {
      // A world file seeds: it creates organizations that do not exist yet and never changes
      // one that does (a revoke made through the admin API stays revoked); drift is reported.
      const world = await readWorldFile(config.worldFile);
      const seeded = await seedWorld(new PgGrantQueries(pool), new PgGrantWriter(pool), world, { actor: 'system:world-file', reason: `created from ${config.worldFile} at start` });
      for (const org of seeded) {
        if (org.created) logger.info({ file: config.worldFile, org: org.org, revision: org.revision }, 'organization created from the world file');
        else if (org.drift.length > 0 || org.pending > 0) logger.warn({ file: config.worldFile, org: org.org, pendingChanges: org.pending, drift: org.drift.slice(0, 20), driftItems: org.drift.length }, 'organization exists and differs from the world file; nothing changed (warden apply FILE plans and applies it)');
        else logger.info({ file: config.worldFile, org: org.org }, 'organization exists and matches the world file');
      }
    }

    const store = new PgGrantStore(pool);
    if (config.cache.redisUrl !== undefined) {
      // Fail fast while Redis is down (Postgres answers); reconnect in the background.
      const fast = { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 250 } as const;
      redis = config.cache.redisCluster ? redisCluster(config.cache.redisUrl, fast) : new Redis(config.cache.redisUrl, { ...fast, retryStrategy: (times) => Math.min(50 * times, 1000) });
      let redisDown = false;
      redis.on('error', (error) => {
        if (!redisDown) logger.warn({ err: error }, 'Redis unavailable; Checks read Postgres until it is back');
        redisDown = true;
      });
      redis.on('ready', () => {
        if (redisDown) logger.info('Redis is back');
        redisDown = false;
      });
    }
    const cacheLog = logger.child({ component: 'grant-cache' });
    grantCache = new CachedGrantSource({
      pool,
      readPool,
      databaseUrl,
      redis,
      keyPrefix: config.cache.keyPrefix,
      redisTtlMs: config.cache.redisTtlMs,
      localMaxEntries: config.cache.maxEntries,
      localMaxBytes: config.cache.maxBytes,
      maxStalenessMs: config.cache.maxStalenessMs,
      heartbeatMs: config.cache.heartbeatMs,
      onWarning: (message, error) => cacheLog.warn({ err: error }, message),
    });
    await grantCache.start();
    const cache = grantCache;
    const unobserveCache = observeGrantCache(() => cache.stats());
    const authorizer = createAuthorizer({ source: cache });
    const lookups = createLookups({ source: store, candidates: new PgCandidates(pool) });
    const keys = new PgApiKeyStore(pool);
    const platformAdmins = new Set(config.platformAdmins);
    const admin = createAdmin({ source: store, queries: new PgGrantQueries(pool), writer: new PgGrantWriter(pool), keys, platformAdmins, onWrite: (result) => cache.noteWrite(result) });
    const authenticator = createAuthenticator({ keys, jwt: await jwtOptions(config), trustLoopback: config.trustLoopback, keyCacheMs: config.keyCacheMs });
    if (config.trustLoopback) logger.warn('AUTHZ_TRUST_LOOPBACK is on: calls from this host without credentials may check any subject');
    const identityCallers = new Set(config.identityCallers);
    if (config.bootstrapKey !== undefined) await bootstrapKey(config.bootstrapKey, keys, platformAdmins, identityCallers, logger);
    if (config.identityKeyFile !== undefined) {
      await bootstrapKey({ file: config.identityKeyFile, subject: config.identityCallers[0]!, org: IDENTITY_KEY_ORG }, keys, platformAdmins, identityCallers, logger);
    }

    const authzImpl = createAuthzServiceImpl(authorizer, lookups);
    const adminImpl = createAdminServiceImpl(admin);
    const approvals = createApprovals({
      source: store, queries: new PgGrantQueries(pool), writer: new PgGrantWriter(pool), requests: new PgRequestQueries(pool), platformAdmins,
      defaultTtlMs: config.approvalTtlMs, onWrite: (result) => cache.noteWrite(result),
    });
    const approvalsImpl = createApprovalsServiceImpl(approvals);
    // Expired requests are recorded (state and audit event) within a sweep of their expiry.
    const sweepLog = logger.child({ component: 'approvals' });
    sweeper = setInterval(() => {
      approvals.expireDue().catch((error: unknown) => sweepLog.warn({ err: error }, 'expiry sweep failed; the next one retries'));
    }, APPROVAL_SWEEP_MS);
    sweeper.unref();
    const directoryRules = createAdminRules({ source: cache, now: Date.now, isPlatformAdmin: (caller) => isPlatformAdmin(caller, platformAdmins) });
    const directoryImpl = createDirectoryServiceImpl(createDirectory({ queries: new PgDirectory(pool), source: store, lookups, rules: directoryRules }));
    const auditReader = config.audit === undefined ? undefined : createGrpcAuditReader({ address: config.audit.address });
    const auditStatusImpl = auditStatusService(
      createAuditStatus({
        rules: directoryRules,
        reader: auditReader,
        logKeys: config.auditKeys.verifierKey === undefined ? [] : [parseVerifierKey(config.auditKeys.verifierKey)],
        witnessKeys: config.auditKeys.witnessKeys.map((k) => parseCosignatureVerifierKey(k)),
      }),
    );
    const health = HealthState();
    const bare = createServer({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
    // Spans per RPC only when a tracing SDK is registered (OTEL_EXPORTER_OTLP_ENDPOINT, or a test's).
    server = tracingEnabled() ? bare.use(openTelemetryServerMiddleware()) : bare;
    server.add(AuthzServiceDefinition, authenticated(AuthzServiceDefinition, authzImpl, authenticator, logger));
    server.add(AdminServiceDefinition, authenticated(AdminServiceDefinition, adminImpl, authenticator, logger));
    server.add(ApprovalsServiceDefinition, authenticated(ApprovalsServiceDefinition, approvalsImpl, authenticator, logger));
    server.add(DirectoryServiceDefinition, authenticated(DirectoryServiceDefinition, directoryImpl, authenticator, logger));
    server.add(AuditStatusServiceDefinition, authenticated(AuditStatusServiceDefinition, auditStatusImpl, authenticator, logger));
    const feed = new PgChangeFeed({ pool, notifier: cache, maxBuffered: config.watchMaxBuffered });
    const watchImpl = createWatchServiceImpl(createWatch({ feed, source: cache, isPlatformAdmin: (caller) => isPlatformAdmin(caller, platformAdmins) }));
    server.add(WatchServiceDefinition, authenticated(WatchServiceDefinition, watchImpl, authenticator, logger));
    const identity = createIdentity({ authenticator, authorizer, callers: identityCallers, platformAdmins, cacheTtlMs: config.keyCacheMs });
    server.add(IdentityServiceDefinition, authenticated(IdentityServiceDefinition, createIdentityServiceImpl(identity), authenticator, logger));
    server.add(HealthDefinition, HealthServiceImpl(health));
    const port = await server.listen(`${config.grpc.host}:${config.grpc.port}`);
    health.setStatus('healthy');
    health.setStatus('healthy', AuthzServiceDefinition.fullName);
    health.setStatus('healthy', AdminServiceDefinition.fullName);
    health.setStatus('healthy', ApprovalsServiceDefinition.fullName);
    health.setStatus('healthy', DirectoryServiceDefinition.fullName);
    const grpcAddress = `${config.grpc.host}:${port}`;
    logger.info({ address: grpcAddress }, 'authz gRPC server listening');

    let replicaWasUp: boolean | undefined;
    const readReplicaReachable =
      readPool === undefined
        ? undefined
        : async () => {
            const up = await answers(readPool);
            if (up !== replicaWasUp) {
              if (up) logger.info('read replica reachable: cache misses read it');
              else logger.warn('read replica unreachable: cache misses read the primary');
            }
            replicaWasUp = up;
          };
    http = await createHttpServer({
      authorizer,
      lookups,
      authenticator,
      logger,
      publicUrl: config.http.publicUrl,
      corsOrigins: config.http.corsOrigins,
      accessRequests: { approvals, secret: await loadOrCreateSecret(pool, 'authzen-denial-binding') },
      services: [
        { definition: AuthzServiceDefinition, implementation: authzImpl },
        { definition: AdminServiceDefinition, implementation: adminImpl },
        { definition: ApprovalsServiceDefinition, implementation: approvalsImpl },
        { definition: DirectoryServiceDefinition, implementation: directoryImpl },
        { definition: AuditStatusServiceDefinition, implementation: auditStatusImpl },
      ],
      consoleDir: config.console ? CONSOLE_ASSETS_DIR : undefined,
      ready: async () => {
        // The read replica is looked at in the background (logged when it goes and comes back)
        // but neither decides nor delays readiness: with it down, Checks answer from the primary.
        void readReplicaReachable?.();
        await ping(pool);
        return true;
      },
    });
    await http.listen({ host: config.http.host, port: config.http.port });
    let relay: OutboxRelay | undefined;
    if (config.audit !== undefined) {
      relay = startOutboxRelay({
        outbox: createPgOutbox(pool),
        sink: createGrpcAuditSink({ address: config.audit.address, privateKey: parsePrivateKey(await readFile(config.audit.signingKeyFile, 'utf8')) }),
        producer: config.audit.producer,
        keyId: config.audit.keyId,
        batchSize: config.audit.batchSize,
        intervalMs: config.audit.intervalMs,
        log: logger.child({ component: 'outbox-relay' }),
      });
      logger.info({ audit: config.audit.address, producer: config.audit.producer, keyId: config.audit.keyId }, 'outbox relay started');
    } else {
      logger.warn('AUTHZ_AUDIT_ADDRESS is not set: audit events stay in the outbox until a relay ships them');
    }
    const httpAddress = http.server.address();
    const httpUrl = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${typeof httpAddress === 'object' && httpAddress !== null ? httpAddress.port : config.http.port}`;
    logger.info({ url: httpUrl }, 'authz HTTP server listening');

    const running = server;
    const runningHttp = http;
    return {
      grpcAddress,
      httpUrl,
      relay,
      pool,
      readPool,
      authorizer,
      grantCache: cache,
      async close() {
        clearInterval(sweeper);
        feed.close(); // ends Watch streams, which would otherwise hold the drain open
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
        // No more writes can arrive: ship what the last ones left in the outbox, then stop the relay.
        await relay?.drain().catch((error: unknown) => logger.warn({ err: error }, 'outbox events left for the next start'));
        await relay?.stop();
        auditReader?.close();
        unobserveCache();
        await cache.close();
        redis?.disconnect();
        await pool.end();
        await readPool?.end();
        await embedded?.stop();
        logger.info('authz stopped');
      },
    };
  } catch (error) {
    clearInterval(sweeper);
    server?.forceShutdown();
    await http?.close().catch(() => undefined);
    await grantCache?.close().catch(() => undefined);
    redis?.disconnect();
    await pool.end().catch(() => undefined);
    await readPool?.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
}

/**
 * A Redis Cluster client seeded with the node REDIS_URL names (credentials and TLS from the
 * URL apply to every node). Commands to the same node are auto-pipelined: a Check's reads
 * cost one round trip per node, in parallel.
 */
function redisCluster(url: string, options: { readonly maxRetriesPerRequest: number; readonly commandTimeout: number }): Cluster {
  const seed = new URL(url);
  const tls = seed.protocol === 'rediss:' ? { tls: {} } : {};
  return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: (times) => Math.min(50 * times, 1000),
    redisOptions: {
      maxRetriesPerRequest: options.maxRetriesPerRequest,
      commandTimeout: options.commandTimeout,
      ...tls,
      ...(seed.username !== '' ? { username: decodeURIComponent(seed.username) } : {}),
      ...(seed.password !== '' ? { password: decodeURIComponent(seed.password) } : {}),
    },
  });
}

/**
 * At start: the read replica must serve the primary's data — same cluster (system identifier)
 * and same database — or grants would be read from something else. Unreachable is only a
 * warning (the primary answers until it is back); not in recovery is a warning too.
 */
async function checkReadReplica(primary: pg.Pool, replica: pg.Pool, logger: Logger): Promise<void> {
  let theirs: ServerIdentity;
  try {
    theirs = await serverIdentity(replica);
  } catch (error) {
    logger.warn({ err: error }, 'read replica unreachable at start: cache misses read the primary until it answers');
    return;
  }
  const ours = await serverIdentity(primary);
  if (theirs.system !== ours.system || theirs.database !== ours.database) {
    throw new ConfigError([
      `AUTHZ_DATABASE_READ_URL: not a replica of DATABASE_URL (${theirs.system !== ours.system ? 'another cluster' : `database ${JSON.stringify(theirs.database)}, not ${JSON.stringify(ours.database)}`})`,
    ]);
  }
  if (!theirs.standby) logger.warn('AUTHZ_DATABASE_READ_URL is not a standby (not in recovery); cache misses read it anyway');
  else logger.info('read replica: cache misses read the standby');
}

async function jwtOptions(config: Config): Promise<JwtOptions | undefined> {
  const jwt = config.jwt;
  if (jwt === undefined) return undefined;
  const jwks = jwt.jwksUrl !== undefined ? new URL(jwt.jwksUrl) : (JSON.parse(await readFile(jwt.jwksFile!, 'utf8')) as JwtOptions['jwks']);
  return { jwks, issuer: jwt.issuer, audience: jwt.audience, subjectClaim: jwt.subjectClaim, groupsClaim: jwt.groupsClaim, orgClaim: jwt.orgClaim };
}

/** The organization an identity caller's key (AUTHZ_IDENTITY_KEY_FILE) belongs to: none a Check can name usefully. */
const IDENTITY_KEY_ORG = 'warden-platform';

/** Creates an operator-issued API key once (bootstrap, identity caller), writing it to its file (0600); never logs the secret. */
async function bootstrapKey(spec: NonNullable<Config['bootstrapKey']>, keys: PgApiKeyStore, platformAdmins: ReadonlySet<string>, identityCallers: ReadonlySet<string>, logger: Logger): Promise<void> {
  if (existsSync(spec.file)) return;
  await mkdir(path.dirname(path.resolve(spec.file)), { recursive: true });
  // The operator issues this key: it may act as a platform admin (or call IdentityService) when its subject is one.
  const platform = platformAdmins.has(spec.subject) || identityCallers.has(spec.subject);
  const created = await keys.create({ org: spec.org, subject: spec.subject, description: 'bootstrap key', platform }, { actor: 'system:bootstrap', reason: 'AUTHZ_BOOTSTRAP_KEY_FILE' });
  await writeFile(spec.file, `${created.key}\n`, { mode: 0o600, flag: 'wx' });
  logger.info({ file: spec.file, subject: spec.subject, org: spec.org, keyId: created.record.id }, 'bootstrap API key created');
}
