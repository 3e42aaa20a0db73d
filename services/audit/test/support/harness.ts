/** Builds an AuditLog over a store with a spool and witness in a temp folder. */
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { AuditLog, type AuditLogOptions } from '../../src/usecases/audit-log.js';
import { createNoteSigner, createNoteVerifier, generateSigningKey } from '@warden/audit-events';
import type { AuditStore, KeyEventRow } from '../../src/domain/ports.js';
import { FileSpool } from '../../src/adapters/spool/file-spool.js';
import { FileWitness } from '../../src/adapters/spool/file-witness.js';
import { tempDir } from './temp.js';

export type Harness = {
  readonly log: AuditLog;
  readonly spool: FileSpool;
  readonly witness: FileWitness;
  readonly dir: string;
  readonly checkpointKey: { privateKey: KeyObject; publicKey: KeyObject };
  /** A new AuditLog over the same store, spool folder, witness and key: a restarted service. */
  restart(overrides?: Partial<AuditLogOptions>): Promise<Harness>;
  /** A crash: a new AuditLog over the same folders without draining the old one (its spool is closed, nothing flushed). */
  crash(): Promise<Harness>;
};

export async function createHarness(
  store: AuditStore,
  keys: readonly KeyEventRow[],
  options: Partial<AuditLogOptions> & { dir?: string; checkpointKey?: { privateKey: KeyObject; publicKey: KeyObject } } = {},
): Promise<Harness> {
  const dir = options.dir ?? tempDir('warden-audit-harness');
  const checkpointKey = options.checkpointKey ?? generateSigningKey();
  const spool = new FileSpool(join(dir, 'spool'));
  const witness = new FileWitness(join(dir, 'witness'));
  const log = new AuditLog({
    store,
    spool,
    witness,
    signer: createNoteSigner('audit.test', checkpointKey.privateKey),
    verifiers: [createNoteVerifier('audit.test', checkpointKey.publicKey)],
    originPrefix: 'audit.test',
    seedKeys: keys,
    checkpointEvery: 5,
    ...options,
  });
  await log.start();
  return {
    log,
    spool,
    witness,
    dir,
    checkpointKey,
    restart: async (overrides = {}) => {
      // The old process is gone before the new one starts: it writes nothing more (checkpoints included).
      await log.drain();
      await spool.close();
      return createHarness(store, keys, { ...options, ...overrides, dir, checkpointKey });
    },
    crash: async () => {
      await spool.close();
      return createHarness(store, keys, { ...options, dir, checkpointKey });
    },
  };
}
