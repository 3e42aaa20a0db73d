/**
 * Proofs over an org's log (RFC 9162): inclusion of an event and consistency between
 * two tree sizes, against the newest checkpoint by default, and the tree an export
 * with proofs is built against. The tree is rebuilt from the stored leaf hashes (the
 * store given here waits for acknowledged events to be stored), so proofs are
 * UNAVAILABLE while the store refuses writes and a stored log shorter than asked is a
 * FAILED_PRECONDITION (run Verify).
 */
import { MerkleTree } from '@warden/audit-events';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '@warden/errors';
import type { AuditStore, CheckpointRow } from '../domain/ports.js';
import type { Checkpointer } from './checkpointer.js';
import type { Durability } from './durability.js';
import type { OrgLogs } from './org-logs.js';

export type InclusionProof = { readonly seq: number; readonly treeSize: number; readonly leafHash: string; readonly path: Buffer[]; readonly root: Buffer };
export type ConsistencyProof = { readonly fromSize: number; readonly toSize: number; readonly proof: Buffer[]; readonly fromRoot: Buffer; readonly toRoot: Buffer };

export class Proofs {
  constructor(
    private readonly store: AuditStore,
    private readonly durability: Durability,
    private readonly logs: OrgLogs,
    private readonly checkpoints: Checkpointer,
  ) {}

  async inclusion(org: string, eventId: string, treeSize: number, signal?: AbortSignal): Promise<InclusionProof> {
    const record = await this.store.findEvent(org, eventId, { signal });
    if (record === undefined) throw new NotFoundError(`event ${eventId} is not in the log of ${org}`);
    const size = this.proofSize(org, treeSize, 'tree_size');
    if (record.seq >= size) throw new FailedPreconditionError(`event ${eventId} (seq ${record.seq}) is not covered by a tree of size ${size} yet`);
    const tree = await this.treeFor(org, size);
    return { seq: record.seq, treeSize: size, leafHash: record.leafHash, path: tree.inclusionProof(record.seq, size), root: tree.root(size) };
  }

  async consistency(org: string, fromSize: number, toSize: number): Promise<ConsistencyProof> {
    const to = this.proofSize(org, toSize, 'to_size');
    if (fromSize > to) throw new InvalidArgumentError('from_size', `${fromSize} is larger than to_size ${to}`);
    const tree = await this.treeFor(org, to);
    return { fromSize, toSize: to, proof: tree.consistencyProof(fromSize, to), fromRoot: tree.root(fromSize), toRoot: tree.root(to) };
  }

  /** The latest checkpoint and the tree it signs, to attach inclusion proofs to an export. */
  async context(org: string): Promise<{ checkpoint: CheckpointRow; tree: MerkleTree }> {
    const checkpoint = this.checkpoints.latest(org);
    if (checkpoint === undefined) throw new FailedPreconditionError(`the log of ${org} has no checkpoint yet`);
    return { checkpoint, tree: await this.treeFor(org, checkpoint.treeSize) };
  }

  private async treeFor(org: string, treeSize: number): Promise<MerkleTree> {
    const hashes = await this.store.leafHashes(org, 0, treeSize);
    if (this.durability.degraded) throw new UnavailableError('events are waiting in the spool; proofs are available once they are stored');
    if (hashes.length !== treeSize) throw new FailedPreconditionError(`the stored log of ${org} has ${hashes.length} leaves, not ${treeSize}: run Verify`);
    return new MerkleTree(hashes.map((h) => Buffer.from(h, 'hex')));
  }

  private proofSize(org: string, requested: number, field: string): number {
    const latest = this.checkpoints.latest(org);
    if (requested === 0) {
      if (latest === undefined) throw new FailedPreconditionError(`the log of ${org} has no checkpoint yet`);
      return latest.treeSize;
    }
    const size = this.logs.size(org);
    if (requested > size) throw new InvalidArgumentError(field, `${requested} is larger than the log of ${org} (${size})`);
    return requested;
  }
}
