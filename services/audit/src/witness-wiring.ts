/**
 * Issue 16 item 3's part of the composition root, kept out of app.ts to ease merging:
 * witnesses (HttpWitnessClient → Witnessing, fed by the AuditLog's onCheckpoint) and the
 * tlog-tiles HTTP server. app.ts calls `createWitnessWiring` before building the AuditLog
 * (for the hook) and `start` once the log runs.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Metadata } from 'nice-grpc';
import { delay } from '@warden/service-kit';
import type { Config } from './config.js';
import type { AccessPolicy, AuditStore, Caller, CheckpointRow } from './domain/ports.js';
import type { AuditLog } from './usecases/audit-log.js';
import { Witnessing } from './usecases/witnessing.js';
import { TlogTiles } from './usecases/tiles.js';
import { HttpWitnessClient } from './adapters/witness/http-witness-client.js';
import { createTlogServer } from './api/http/tlog-server.js';
import { countWitnessOutcome, observeWitnessGauges } from './witness-instruments.js';

export type WitnessWiring = {
  /** The AuditLog's onCheckpoint. */
  readonly onCheckpoint: (row: CheckpointRow) => void;
  start(deps: {
    log: AuditLog;
    store: AuditStore;
    policy: AccessPolicy;
    identify: (context: { readonly metadata: Metadata; readonly signal: AbortSignal }) => Caller | undefined | Promise<Caller | undefined>;
  }): Promise<{ readonly tlogAddress: string | undefined; close(): Promise<void> }>;
};

export function createWitnessWiring(config: Config, logger: Logger): WitnessWiring {
  const settings = config.witnessing;
  let witnessing: Witnessing | undefined;
  let stopGauges: (() => void) | undefined;
  return {
    onCheckpoint: (row) => witnessing?.submit(row),
    async start({ log, store, policy, identify }) {
      const tiles = new TlogTiles({ store, latestCheckpoint: (org) => log.latestCheckpoint(org) });
      if (settings.witnesses.length > 0) {
        witnessing = new Witnessing({
          witnesses: settings.witnesses.map((w) => new HttpWitnessClient(w.url, w.verifier)),
          // From tiles (O(log n) tile reads, full tiles cached), not the whole tree.
          consistencyProof: (org, from, to) => tiles.consistencyProof(org, from, to, AbortSignal.timeout(settings.timeoutMs * 4)),
          publish: (row) => log.publishCosigned(row),
          timeoutMs: settings.timeoutMs,
          retries: settings.retries,
          logger,
          onOutcome: countWitnessOutcome,
        });
        const observed = witnessing;
        stopGauges = observeWitnessGauges({ witnessedSizes: () => observed.witnessedSizes(), checkpointSize: (org) => log.latestCheckpoint(org)?.treeSize ?? 0 });
        // The newest checkpoint of each log found at start is offered again (the witness answers 200 for the same tree).
        for (const status of log.logStatus()) {
          const latest = log.latestCheckpoint(status.org);
          if (latest !== undefined) witnessing.submit(latest);
        }
      }
      let server: Server | undefined;
      let tlogAddress: string | undefined;
      if (settings.httpAddress !== undefined) {
        server = createTlogServer({ tiles, policy, identify, logger });
        const [host, port] = [settings.httpAddress.slice(0, settings.httpAddress.lastIndexOf(':')), Number(settings.httpAddress.slice(settings.httpAddress.lastIndexOf(':') + 1))];
        await new Promise<void>((resolve, reject) => {
          server!.once('error', reject);
          server!.listen(port, host, resolve);
        });
        const address = server.address();
        tlogAddress = `${host}:${typeof address === 'object' && address !== null ? address.port : port}`;
        logger.info({ address: tlogAddress }, 'tlog-tiles HTTP listening');
      }
      return {
        tlogAddress,
        async close() {
          if (server !== undefined) {
            const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
            server.closeAllConnections();
            await closed;
          }
          if (witnessing !== undefined) {
            // The last checkpoint gets its chance to be witnessed, within one deadline.
            await Promise.race([witnessing.settled(), delay(settings.timeoutMs)]);
            await witnessing.close();
          }
          stopGauges?.();
        },
      };
    },
  };
}
