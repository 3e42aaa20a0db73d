/**
 * Wiring shared by main.ts and tests: config → driver → store → spool →
 * core → gRPC server, and shutdown in reverse (drain calls, stop timers,
 * close server, wait for the core, close spool and store).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createWitnessWiring } from './witness-wiring.js'; // issue 16 item 3
import { identify } from './api/grpc/identity.js'; // issue 16 item 3: the tiles' HTTP identifies callers as gRPC does
import type { Config } from './config.js';
import { createPublicKey } from 'node:crypto';
import { createNoteSigner, createNoteVerifier, generateSigningKey, parsePrivateKey, parseVerifierKey, privateKeyToPem, type NoteVerifier } from '@warden/audit-events';
import { AuditLog } from './usecases/audit-log.js';
import type { AccessPolicy, AuditStore } from './domain/ports.js';
import type { IdentityOptions } from './api/grpc/identity.js';
import { readApiKeys, readProducerKeys } from './files.js';
import { createAuditGrpcServer } from './api/grpc/server.js';
import { allowAuthenticatedPolicy } from './adapters/authz/authz-access-policy.js';
import { AuthzIdentity } from './adapters/authz/authz-identity.js';
import { ClickHouseAuditStore } from './adapters/stores/clickhouse-audit-store.js';
import { ChdbDriver } from './adapters/stores/chdb/chdb-driver.js';
import { ServerDriver } from './adapters/stores/clickhouse/server-driver.js';
import type { ClickHouseDriver } from './adapters/stores/driver.js';
import { FileSpool } from './adapters/spool/file-spool.js';
import { FileWitness } from './adapters/spool/file-witness.js';
import { VerifierPool } from './adapters/crypto/verifier-pool.js';
import { observeGauges } from './instruments.js';
import { startDeliveries, type RunningDeliveries } from './delivery-wiring.js';

export type AuditApp = {
  readonly log: AuditLog;
  /** host:port of the tlog-tiles HTTP server (AUDIT_HTTP_ADDRESS), when on (issue 16 item 3). */
  readonly tlogAddress: string | undefined;
  readonly store: AuditStore;
  readonly address: string;
  /** Streams to SIEMs (issue 16 item 4), one per configured sink. */
  readonly deliveries: RunningDeliveries;
  close(): Promise<void>;
};

function loadSigningKey(config: Config, logger: Logger) {
  if (config.signingKeyFile !== undefined) return parsePrivateKey(readFileSync(config.signingKeyFile, 'utf8'));
  const path = join(config.dataDir, 'checkpoint-signing-key.pem');
  if (existsSync(path)) return parsePrivateKey(readFileSync(path, 'utf8'));
  const { privateKey } = generateSigningKey();
  writeFileSync(path, privateKeyToPem(privateKey), { mode: 0o600 });
  logger.warn({ path }, 'generated a checkpoint signing key (set AUDIT_SIGNING_KEY_FILE in production)');
  return privateKey;
}

export type AppOverrides = {
  /** Use this driver instead of the configured one (tests). */
  readonly driver?: ClickHouseDriver;
  /** Wrap the store (tests inject faults). */
  readonly wrapStore?: (store: AuditStore) => AuditStore;
  readonly policy?: AccessPolicy;
};

export async function startAuditApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<AuditApp> {
  mkdirSync(config.dataDir, { recursive: true });
  const driver =
    overrides.driver ??
    (config.clickhouse.kind === 'chdb'
      ? ChdbDriver.open(config.clickhouse.path)
      : new ServerDriver({
          url: config.clickhouse.url,
          username: config.clickhouse.username,
          password: config.clickhouse.passwordFile === undefined ? undefined : readFileSync(config.clickhouse.passwordFile, 'utf8').trim(),
        }));
  const chStore = new ClickHouseAuditStore({ driver, database: config.database });
  if (config.migrate) await chStore.migrate({ payloadTtlDays: config.payloadTtlDays });
  const store = overrides.wrapStore?.(chStore) ?? chStore;
  const spool = new FileSpool(join(config.dataDir, 'spool'));
  const witness = new FileWitness(join(config.dataDir, 'witness'));
  const privateKey = loadSigningKey(config, logger);
  const signer = createNoteSigner(config.signingKeyName, privateKey);
  const witnessWiring = createWitnessWiring(config, logger); // issue 16 item 3
  const verifiers: NoteVerifier[] = [createNoteVerifier(config.signingKeyName, createPublicKey(privateKey)), ...config.previousVerifierKeys.map(parseVerifierKey)];
  const verifier = new VerifierPool();
  const log = new AuditLog({
    verifySignature: verifier.verify,
    store,
    spool,
    witness,
    onCheckpoint: witnessWiring.onCheckpoint, // issue 16 item 3: each written checkpoint goes to the witnesses
    signer,
    verifiers,
    originPrefix: config.originPrefix,
    seedKeys: config.producerKeysFile === undefined ? [] : readProducerKeys(config.producerKeysFile),
    maxBatch: config.maxBatch,
    maxEventBytes: config.maxEventBytes,
    maxFutureSkewMs: config.maxFutureSkewMs,
    checkpointEvery: config.checkpointEvery,
    minCommitIntervalMs: config.minCommitIntervalMs,
    flushIntervalMs: config.flushIntervalMs,
    storeRetryMs: config.spoolRetryMs,
    logger,
  });
  await log.start();
  // The observable gauges (spool depth, degraded, tree size, checkpoint age) read this app.
  const stopGauges = observeGauges({ spoolDepth: () => spool.depth, degraded: () => log.degraded, logs: () => log.logStatus() });

  // --- identity (issue 16): authz authenticates callers (audit's own credential) and decides.
  const authz =
    config.authz === undefined
      ? undefined
      : AuthzIdentity.connect({ address: config.authz.address, credential: readFileSync(config.authz.credentialFile, 'utf8').trim(), cacheMs: config.authz.cacheMs, timeoutMs: config.authz.timeoutMs });
  if (authz === undefined) logger.warn('AUDIT_AUTHZ_DISABLED: development mode, every authenticated caller may read every organization');
  const policy = overrides.policy ?? authz ?? allowAuthenticatedPolicy;
  const identity: IdentityOptions =
    authz !== undefined
      ? { kind: 'authz', authenticate: (credential, signal) => authz.authenticate(credential, signal) }
      : { kind: 'development', apiKeys: config.apiKeysFile === undefined ? new Map() : readApiKeys(config.apiKeysFile), trustSubjectHeader: config.trustSubjectHeader };
  // --- end identity
  const { server, health } = createAuditGrpcServer({ log, store: log.readStore, policy, identity, logger, keyAdminScope: config.keyAdminScope });
  const port = await server.listen(config.grpcAddress);
  const host = config.grpcAddress.slice(0, config.grpcAddress.lastIndexOf(':'));
  const address = `${host}:${port}`;
  // --- issue 16 item 3: witnesses and tlog-tiles ---
  const witnesses = await witnessWiring.start({ log, store, policy, identify: (context) => identify(context, identity) });
  // --- end issue 16 item 3 ---
  health.setStatus('healthy');

  const checkpointTimer = setInterval(() => {
    void log.checkpointAll().catch((error: unknown) => logger.warn({ err: error }, 'checkpoint tick failed'));
  }, config.checkpointIntervalMs);
  checkpointTimer.unref();
  // While ClickHouse fails, the log retries its store writes from the spool every
  // AUDIT_SPOOL_RETRY_MS, backing off up to 10× that (durability.ts).
  const deliveries = await startDeliveries(config, { log, driver }, logger);
  logger.info({ address, store: config.clickhouse.kind, database: config.database }, 'audit service listening');

  let closed = false;
  return {
    tlogAddress: witnesses.tlogAddress, // issue 16 item 3
    log,
    store,
    address,
    deliveries,
    async close() {
      if (closed) return;
      closed = true;
      health.setStatus('unhealthy');
      clearInterval(checkpointTimer);
      await deliveries.close();
      // Calls in flight (a long Export) may finish within the grace period, then are cancelled.
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        server.shutdown().then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), config.shutdownGraceMs))),
      ]);
      clearTimeout(timer);
      if (!drained) {
        logger.warn({ graceMs: config.shutdownGraceMs }, 'calls still running after the grace period; cancelling them');
        server.forceShutdown();
      }
      await log.drain();
      await log.replaySpool().catch(() => false);
      await log.checkpointAll().catch(() => undefined);
      await witnesses.close(); // issue 16 item 3
      await spool.close();
      await verifier.close();
      stopGauges();
      authz?.close();
      await store.close();
    },
  };
}
