/**
 * Recovery: rebuilds the in-memory state from the store and the spool, at start and
 * after a write whose outcome is unknown. For every org log it resumes the Merkle tree
 * from the newest checkpoint whose stored right edge matches its signed root (else
 * from leaf 0) and reads only the leaves after it; it warns when the witness holds a
 * larger checkpoint than the stored log (a rollback); it reloads the recent ids for
 * duplicate checks; then it applies the spooled batches on top: they were acknowledged,
 * so their positions are taken. Callers hold the Serial lock.
 */
import { CompactRange, openCheckpoint, type NoteVerifier } from '@warden/audit-events';
import type { AuditStore, CheckpointRow, CheckpointWitness, Spool } from '../domain/ports.js';
import type { Checkpointer } from './checkpointer.js';
import { spooledRecords } from './durability.js';
import type { AuditLogLogger } from './logger.js';
import type { OrgLogs } from './org-logs.js';
import type { RecentIds } from './recent-ids.js';

export type RecoveryDeps = {
  readonly store: AuditStore;
  readonly spool: Spool;
  readonly witness: CheckpointWitness;
  readonly verifiers: readonly NoteVerifier[];
  readonly origin: (org: string) => string;
  readonly logs: OrgLogs;
  readonly ids: RecentIds;
  readonly checkpoints: Checkpointer;
  /** How far ahead of the dedup horizon ids may have been minted (the admission skew). */
  readonly maxFutureSkewMs: number;
  readonly logger: AuditLogLogger;
};

/** The compact range stored with a checkpoint, if it matches the signed root. */
function resumeFrom(row: CheckpointRow, signedRoot: Buffer): CompactRange | undefined {
  if (row.compactRange === '' && row.treeSize > 0) return undefined;
  try {
    const range = CompactRange.fromHashes(row.treeSize, row.compactRange === '' ? [] : row.compactRange.split(',').map((h) => Buffer.from(h, 'hex')));
    return range.root().equals(signedRoot) ? range : undefined;
  } catch {
    return undefined;
  }
}

function signatureLines(note: string): number {
  return note.split('\n').filter((line) => line.startsWith('\u2014 ')).length;
}

export async function recover(deps: RecoveryDeps, now: number): Promise<void> {
  const { store, logs, ids } = deps;
  logs.clear();
  ids.reset(now);
  for (const head of await store.heads()) {
    let latest: CheckpointRow | undefined;
    let tree: CompactRange | undefined;
    for (const row of await store.checkpoints(head.org)) {
      const opened = openCheckpoint(row.note, deps.verifiers);
      if (!opened.ok || opened.checkpoint.origin !== deps.origin(head.org) || (latest !== undefined && row.treeSize < latest.treeSize)) continue;
      // The same checkpoint again with cosignatures (witnessing): keep the copy with the most signature lines.
      if (latest !== undefined && row.treeSize === latest.treeSize && (row.rootHash !== latest.rootHash || signatureLines(row.note) <= signatureLines(latest.note))) continue;
      latest = row;
      tree = resumeFrom(row, opened.checkpoint.rootHash) ?? tree;
    }
    const witnessed = await deps.witness.read(head.org);
    const seen = witnessed === undefined ? undefined : openCheckpoint(witnessed, deps.verifiers);
    if (seen?.ok === true && seen.checkpoint.treeSize > head.size) {
      deps.logger.error(
        { org: head.org, witnessed: seen.checkpoint.treeSize, stored: head.size },
        'the stored log is shorter than the last checkpoint this service signed: it was rolled back or events were removed; run Verify',
      );
    }
    if (tree === undefined || tree.size > head.size) tree = new CompactRange();
    for (const hash of await store.leafHashes(head.org, tree.size, head.size)) tree.append(Buffer.from(hash, 'hex'));
    logs.set(head.org, { size: head.size, lastChain: Buffer.from(head.lastChainHash, 'hex'), tree });
    if (latest !== undefined) deps.checkpoints.seed(head.org, latest);
  }
  const since = new Date(ids.since - deps.maxFutureSkewMs).toISOString();
  for (const [id, stored] of await store.idsLoggedSince(since)) ids.remember(id, stored);
  ids.evict(now);
  for (const batch of await deps.spool.pending()) {
    for (const record of spooledRecords(store, batch)) {
      const log = logs.open(record.org);
      if (record.seq < log.size) continue;
      log.tree.append(Buffer.from(record.leafHash, 'hex'));
      log.size = record.seq + 1;
      log.lastChain = Buffer.from(record.chainHash, 'hex');
      ids.remember(record.event.id, { org: record.org, seq: record.seq, contentHash: record.contentHash });
    }
  }
}
