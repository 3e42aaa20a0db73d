/**
 * The sequencer gives admitted events their place in their organization's log, in
 * group commits: concurrent Appends wait in one queue, and one group at a time (at
 * least `minCommitIntervalMs` after the previous one) is committed with one durable
 * write, so concurrent Appends share one store insert (one ClickHouse part) under load.
 *
 * Invariants:
 *  - an id already logged is answered DUPLICATE (same content hash) or refused as a
 *    conflict, from the recent ids or, for ids older than their horizon, the store
 *    (UNAVAILABLE when the store cannot be asked: never a second copy);
 *  - seq, leaf hash and chain link are computed on a tentative copy of the org heads;
 *    the heads and recent ids move only after the group is durable, and each Append
 *    resolves only then;
 *  - a failed write leaves the heads as they were and marks the state for a reload
 *    (the store may have taken the rows) before the next group.
 */
import { chainLink, leafHashFromCanonical, type CompactRange, type LogRecord } from '@warden/audit-events';
import { UnavailableError } from '@warden/errors';
import { scopeOf } from '@warden/names';
import type { AppendOutcome } from '../domain/append.js';
import type { AuditStore, Clock, StoredId } from '../domain/ports.js';
import type { Admission, Admitted } from './admission.js';
import type { Durability, Head } from './durability.js';
import type { OrgLogs } from './org-logs.js';
import type { RecentIds } from './recent-ids.js';
import type { Serial } from './serial.js';

export type SequencerDeps = {
  readonly store: AuditStore;
  readonly logs: OrgLogs;
  readonly ids: RecentIds;
  readonly durability: Durability;
  readonly serial: Serial;
  readonly clock: Clock;
  /** Least time between two commits. */
  readonly minCommitIntervalMs: number;
  /** A group stops taking batches once it holds this many events. */
  readonly maxGroupEvents: number;
  /** Re-reads the state from the store and the spool (after a write whose outcome is unknown). */
  readonly reload: () => Promise<void>;
};

type Pending = { readonly admitted: readonly Admission[]; resolve(outcomes: AppendOutcome[]): void; reject(error: unknown): void };
type Tentative = { size: number; lastChain: Buffer; tree: CompactRange };

export class Sequencer {
  private readonly queue: Pending[] = [];
  private flushing = false;
  private lastCommit = 0;
  private needsReload = false;

  constructor(private readonly deps: SequencerDeps) {}

  /** Resolves with one outcome per admission, in order, once the accepted ones are durable. */
  submit(admitted: readonly Admission[]): Promise<AppendOutcome[]> {
    return new Promise<AppendOutcome[]>((resolve, reject) => {
      this.queue.push({ admitted, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    void this.deps.serial.run(() => this.flushQueue()).finally(() => {
      this.flushing = false;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flushQueue(): Promise<void> {
    while (this.queue.length > 0) {
      const wait = this.lastCommit + this.deps.minCommitIntervalMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastCommit = Date.now();
      const group: Pending[] = [];
      let events = 0;
      while (this.queue.length > 0 && (group.length === 0 || events + this.queue[0]!.admitted.length <= this.deps.maxGroupEvents)) {
        const next = this.queue.shift()!;
        events += next.admitted.length;
        group.push(next);
      }
      try {
        const outcomes = await this.commit(group.map((p) => p.admitted));
        group.forEach((p, i) => p.resolve(outcomes[i]!));
      } catch (error) {
        for (const p of group) p.reject(error);
      }
    }
  }

  private async commit(batches: readonly (readonly Admission[])[]): Promise<AppendOutcome[][]> {
    const { logs, ids } = this.deps;
    if (this.needsReload) {
      await this.deps.reload();
      this.needsReload = false;
    }
    const now = this.deps.clock();
    const fromStore = await this.olderIds(batches.flat().filter((a): a is Admitted => a.ok));
    const loggedAt = now.toISOString();
    const records: LogRecord[] = [];
    const tentative = new Map<string, Tentative>();
    const inGroup = new Map<string, StoredId>();
    const outcomes = batches.map((admitted) =>
      admitted.map((a): AppendOutcome => {
        if (!a.ok) return a.outcome;
        const id = a.event.id;
        const known = ids.get(id) ?? inGroup.get(id) ?? fromStore.get(id);
        if (known !== undefined) {
          if (known.contentHash === a.contentHash) return { status: 'duplicate', id, seq: known.seq };
          return { status: 'refused', id, reason: 'conflict', field: 'event.id', message: `event ${id} is already logged with different content` };
        }
        const scope = scopeOf(a.event.resource);
        const org = scope.org;
        let t = tentative.get(org);
        if (t === undefined) {
          const log = logs.open(org);
          t = { size: log.size, lastChain: log.lastChain, tree: log.tree.clone() };
          tentative.set(org, t);
        }
        const base = { org, seq: t.size, loggedAt, event: a.event, signature: a.signature };
        const leaf = leafHashFromCanonical(a.canonical, base);
        const chain = chainLink(t.lastChain, leaf);
        // A literal of fixed shape, not a spread of `base`: the spread was the most expensive line of the commit (profiled).
        records.push({
          org,
          seq: base.seq,
          loggedAt,
          event: a.event,
          signature: a.signature,
          project: scope.project,
          environment: scope.environment,
          contentHash: a.contentHash,
          leafHash: leaf.toString('hex'),
          chainHash: chain.toString('hex'),
        });
        t.tree.append(leaf);
        t.size += 1;
        t.lastChain = chain;
        inGroup.set(id, { org, seq: base.seq, contentHash: a.contentHash });
        return { status: 'accepted', id, seq: base.seq };
      }),
    );
    if (records.length === 0) return outcomes;
    const heads = new Map<string, Head>();
    for (const [org, t] of tentative) heads.set(org, { size: t.size, tree: t.tree });
    try {
      await this.deps.durability.persist(records, heads);
    } catch (error) {
      this.needsReload = true;
      throw error;
    }
    // The next group works on a copy of the tree, so the head handed to durability never changes.
    for (const [org, t] of tentative) logs.set(org, { size: t.size, lastChain: t.lastChain, tree: t.tree });
    for (const [id, stored] of inGroup) ids.remember(id, stored);
    ids.evict(now.getTime());
    return outcomes;
  }

  /** Positions of the group's ids that are older than the recent ids' horizon, from the store. */
  private async olderIds(admitted: readonly Admitted[]): Promise<Map<string, StoredId>> {
    const older = admitted.map((a) => a.event.id).filter((id) => this.deps.ids.needsStoreCheck(id));
    if (older.length === 0) return new Map();
    try {
      // The store answers only for what it holds: first every acknowledged group must be in it.
      await this.deps.durability.storedOrFail();
      return await this.deps.store.findIds([...new Set(older)]);
    } catch (error) {
      throw new UnavailableError('cannot rule out duplicates of older event ids while the store is unavailable; retry', { cause: error });
    }
  }
}
