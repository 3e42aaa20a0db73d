/**
 * Where a cache-miss fill reads: a Postgres streaming standby (`readPool`) when it may serve
 * the fill, else the primary. ("Replica" elsewhere in the cache means an authz process.)
 *
 *   read replica  cache-miss fills, when it is up and not known to be too far behind
 *   primary       the LISTEN connection, heartbeat and changelog catch-up (the changelog is
 *                 read where the revision is committed), `fully_consistent` and every
 *                 fallback view, the catch-up behind `at_least_revision`, and any fill the
 *                 read replica failed or could not serve
 *
 * Why a fill from a lagging standby is safe: a fill is one statement, one snapshot
 * (pg-unit-reader.ts), so the standby's snapshot is the primary's state at some committed
 * revision R' (units, changelog and revision alike). If R' > applied, its changelog
 * (applied, R'] is committed history and advances `applied` like a catch-up; if R' ≤ applied,
 * the tracker ignores it. Units carry R' and are admitted only through isCurrent(key, R'):
 * R' ≥ floor and no invalidation this process applied touched the key after R', so the unit
 * at R' equals the unit at `applied`. Keys the old snapshot cannot prove current (R' < floor,
 * or touched in (R', applied]) are counted (`readReplicaLagged`) and read again from the
 * primary in the same fill, never retried on the standby. A standby read never confirms
 * freshness: only the primary can say we are current.
 *
 * Routing: a standby last seen caught up gets every fill. One last seen behind gets only
 * fills it can serve (its revision then ≥ floor and ≥ the newest invalidation of each key);
 * after a standby error it gets none. The rest go to the primary, and a background probe (at
 * most once per `heartbeatMs`) looks at the standby again.
 */
import type pg from 'pg';
import type { CacheCounters } from './cache-options.js';
import type { FreshnessTracker } from './freshness-tracker.js';
import type { PgUnitReader } from './pg-unit-reader.js';

/**
 * Reads `keys` on `pool` and admits what it can prove current into `units`; resolves to the
 * revision it read at.
 */
export type FillFrom = (pool: pg.Pool, keys: readonly string[], fromReadReplica: boolean) => Promise<number>;

export interface ReadReplicaRouterOptions {
  readonly primary: pg.Pool;
  readonly readPool: pg.Pool | undefined;
  readonly tracker: FreshnessTracker;
  readonly reader: PgUnitReader;
  readonly counters: CacheCounters;
  readonly heartbeatMs: number;
  readonly warn: (message: string, error?: unknown) => void;
}

export class ReadReplicaRouter {
  /** What this process last saw of the read replica: its revision (-1: not yet), when it looked, whether it failed or was behind `applied`. */
  private readonly seen = { revision: -1, checkedAt: 0, down: false, behind: false, probing: false };
  private closed = false;

  constructor(private readonly o: ReadReplicaRouterOptions) {}

  /** The read replica's revision when last seen (-1: none, or not seen yet). */
  get revision(): number {
    return this.seen.revision;
  }

  close(): void {
    this.closed = true;
  }

  /**
   * Reads the missing keys' units: from the read replica when there is one that may serve
   * them, else (or for what it could not serve, or when it fails) from the primary. Never
   * loops on a lagging read replica: one read there at most, then the primary. `admitted`
   * tells which keys the reads admitted.
   */
  async fill(keys: readonly string[], admitted: (key: string) => boolean, fillFrom: FillFrom): Promise<void> {
    const { primary, readPool, tracker, counters } = this.o;
    if (readPool === undefined || !this.mayServe(keys)) {
      await fillFrom(primary, keys, false);
      return;
    }
    const seen = this.seen;
    const since = tracker.applied;
    const sentAt = tracker.now();
    let revision: number;
    try {
      revision = await fillFrom(readPool, keys, true);
    } catch (error) {
      counters.readReplicaErrors++;
      if (!seen.down) this.o.warn('the read replica could not be read; cache misses read the primary until it answers again', error);
      seen.down = true;
      seen.checkedAt = sentAt;
      await fillFrom(primary, keys, false);
      return;
    }
    // Only lag refuses here: after the fill's changelog, applied ≥ revision, so a refused key was
    // read below `floor` or touched in (revision, applied]. The primary reads those now.
    const refused = keys.filter((key) => !admitted(key));
    seen.revision = revision;
    seen.behind = revision < since || refused.length > 0;
    seen.checkedAt = sentAt;
    seen.down = false;
    if (refused.length === 0) return;
    counters.readReplicaLagged++;
    await fillFrom(primary, refused, false);
  }

  /**
   * Whether to send this fill to the read replica. Up and last seen caught up (at or above
   * `applied` then): yes — one read there, and what it cannot prove current goes to the
   * primary. Last seen behind: only if its revision then is at or above `floor` and the
   * newest invalidation of every key (it would serve them all). Otherwise the primary, and a
   * background probe (at most once per heartbeat) looks at the read replica again.
   */
  private mayServe(keys: readonly string[]): boolean {
    const seen = this.seen;
    const tracker = this.o.tracker;
    if (!seen.down) {
      if (!seen.behind) return true;
      if (tracker.floor <= seen.revision && !keys.some((key) => tracker.invalidatedAt(key) > seen.revision)) return true;
    }
    if (tracker.now() - seen.checkedAt >= this.o.heartbeatMs) this.probe();
    return false;
  }

  /** Reads the read replica's revision in the background (nothing waits on it). */
  private probe(): void {
    const readPool = this.o.readPool;
    const seen = this.seen;
    if (readPool === undefined || seen.probing || this.closed) return;
    seen.probing = true;
    seen.checkedAt = this.o.tracker.now();
    const since = this.o.tracker.applied;
    void this.o.reader
      .revision(readPool)
      .then(
        (revision) => {
          seen.revision = revision;
          seen.behind = seen.revision < since;
          seen.down = false;
        },
        () => {
          this.o.counters.readReplicaErrors++;
          seen.down = true;
        },
      )
      .finally(() => {
        seen.probing = false;
      });
  }
}
