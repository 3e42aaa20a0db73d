/**
 * The checkpointer signs tree heads off the commit path. A commit (or checkpointAll)
 * only hands over a snapshot — size, root and right edge of a tree whose leaves are
 * all in the store — and is acknowledged without waiting; signing the C2SP note and
 * writing it to the store and to the witness happen here, one at a time.
 *
 * Invariants (the guarantees signing inside the commit gave):
 *  - a snapshot is taken only while the spool is empty, so a checkpoint never covers
 *    a leaf that is not in the store (the caller checks; `request` is synchronous);
 *  - every head handed over is signed, in order (one checkpoint per threshold
 *    crossing, as before); an org's checkpoints are written in increasing tree size
 *    (a snapshot no larger than the newest written one is dropped). Only when
 *    MAX_WAITING snapshots wait does a newer head of an org replace its waiting one,
 *    so memory stays bounded when the store is slower than the threshold;
 *  - the witness is written after the store row, and `latest` moves only after both;
 *  - a failed write is logged and retried by the next request (the next commit past
 *    the threshold, the timer, checkpointAll);
 *  - `flush()` resolves once every snapshot handed over before it is written or failed.
 */
import { signCheckpoint, type CompactRange, type NoteSigner } from '@warden/audit-events';
import type { AuditStore, CheckpointRow, CheckpointWitness, Clock } from '../domain/ports.js';
import type { AuditLogLogger } from './logger.js';

type Snapshot = { readonly org: string; readonly treeSize: number; readonly root: Buffer; readonly compactRange: string };

/** Snapshots that may wait before newer heads replace older ones of the same org. */
const MAX_WAITING = 256;

export type CheckpointerOptions = {
  readonly store: AuditStore;
  readonly witness: CheckpointWitness;
  readonly signer: NoteSigner;
  /** The origin line of an org's log. */
  readonly origin: (org: string) => string;
  readonly clock: Clock;
  readonly logger: AuditLogLogger;
  /** Called with each checkpoint once written (issue 16: witnessing). */
  readonly onWritten?: ((row: CheckpointRow) => void) | undefined;
};

export class Checkpointer {
  private readonly latestRows = new Map<string, CheckpointRow>();
  /** Snapshots waiting to be written, oldest first. */
  private readonly waiting: Snapshot[] = [];
  /** The largest tree size per org handed over (waiting, being written or written). */
  private readonly requested = new Map<string, number>();
  private running: Promise<void> | undefined;

  constructor(private readonly options: CheckpointerOptions) {}

  /** The newest checkpoint written (or found at recovery) for the org. */
  latest(org: string): CheckpointRow | undefined {
    return this.latestRows.get(org);
  }

  /** Tree size of the newest checkpoint (0: none yet). */
  signedSize(org: string): number {
    return this.latestRows.get(org)?.treeSize ?? 0;
  }

  /** How many events of a log of `size` are not covered by a checkpoint written or on its way. */
  unrequested(org: string, size: number): number {
    return size - Math.max(this.requested.get(org) ?? 0, this.signedSize(org));
  }

  /** Recovery found this checkpoint in the store: the newest one wins. */
  seed(org: string, row: CheckpointRow): void {
    if (row.treeSize > this.signedSize(org)) this.latestRows.set(org, row);
  }

  /**
   * Hands over the head of a tree whose `size` leaves are all in the store. Synchronous:
   * the root and right edge are taken now, so the caller may go on appending to `tree`.
   */
  request(org: string, size: number, tree: CompactRange): void {
    if (this.unrequested(org, size) <= 0) return;
    const snapshot = { org, treeSize: size, root: tree.root(), compactRange: tree.hashes().map((h) => h.toString('hex')).join(',') };
    const older = this.waiting.length >= MAX_WAITING ? this.waiting.findLastIndex((s) => s.org === org) : -1;
    if (older >= 0) this.waiting[older] = snapshot;
    else this.waiting.push(snapshot);
    this.requested.set(org, size);
    this.kick();
  }

  /** Resolves once every snapshot handed over so far is written (or failed and logged). */
  async flush(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private kick(): void {
    if (this.running !== undefined) return;
    this.running = (async () => {
      for (let next = this.waiting.shift(); next !== undefined; next = this.waiting.shift()) await this.write(next);
    })().finally(() => {
      this.running = undefined;
    });
  }

  private async write(snapshot: Snapshot): Promise<void> {
    const { org, treeSize } = snapshot;
    if (treeSize <= this.signedSize(org)) return;
    let row: CheckpointRow;
    try {
      const note = signCheckpoint({ origin: this.options.origin(org), treeSize, rootHash: snapshot.root }, this.options.signer);
      row = { org, treeSize, rootHash: snapshot.root.toString('hex'), note, createdAt: this.options.clock().toISOString(), compactRange: snapshot.compactRange };
      await this.options.store.insertCheckpoint(row);
      await this.options.witness.write(org, note);
    } catch (error) {
      this.options.logger.warn({ err: error, org }, 'checkpoint not written; will retry');
      // Let the next request hand over this head again, unless a newer one already waits.
      if (!this.waiting.some((s) => s.org === org)) this.requested.set(org, this.signedSize(org));
      return;
    }
    this.latestRows.set(org, row);
    this.options.onWritten?.(row);
  }

  /** The same checkpoint with cosignatures appended (stored by the caller): it is served from now on. */
  cosigned(row: CheckpointRow): void {
    const latest = this.latestRows.get(row.org);
    if (latest !== undefined && latest.treeSize === row.treeSize && latest.rootHash === row.rootHash) this.latestRows.set(row.org, row);
  }
}
