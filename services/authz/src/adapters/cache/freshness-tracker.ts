/**
 * The freshness state machine of one authz process's cache: up to which revision it has
 * applied every invalidation, which units may no longer be admitted, and when Postgres last
 * confirmed it current. Pure: no I/O, time injected (`now`); the parts that talk to Postgres
 * and Redis (invalidation-listener.ts, the orchestrator) feed it what they read.
 *
 * `applied`: the revision up to which every invalidation has been applied. Invalidations come
 * as Postgres NOTIFY (sent by the writer inside the write's transaction, delivered at commit in
 * commit order), Redis pub/sub as a second channel, this process's own writes, and the
 * changelog for gaps. Only revision `applied + 1` is ever applied; anything further asks for
 * a catch-up from the changelog.
 *
 * Invariants:
 *   - every unit in the in-process layer (the `target`) equals Postgres at `applied`: applying
 *     revision R drops each unit R touched that was read before R, or everything when R's
 *     units are not known;
 *   - a unit read at revision `rev` is admitted (`isCurrent`) only if `floor` ≤ rev ≤ `applied`
 *     and no invalidation applied here touched it after `rev`; then it equals the unit at
 *     `applied`. `invalidated` is bounded: evicting a key's history raises `floor` to that
 *     revision, so an older read of it is refused rather than trusted;
 *   - `confirmedAt` is a time at or before which Postgres said a revision ≤ `applied`:
 *     every write committed before it is applied. Cached answers are given only while
 *     `now() - confirmedAt` ≤ `maxStalenessMs` (`fresh`);
 *   - `applied`, `newest`, `floor`, `confirmedAt` and `generation` never go back.
 */
import { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';

/** Where applied invalidations land: the in-process layer. */
export interface InvalidationTarget {
  /** Drops unit `key` if it was read before `revision`. */
  invalidate(key: string, revision: number): void;
  /** Drops every unit. */
  clear(): void;
}

export interface FreshnessTrackerOptions {
  readonly now: () => number;
  readonly maxStalenessMs: number;
  readonly target?: InvalidationTarget | undefined;
  /** Keys whose newest invalidation is remembered. @defaultValue 200000 */
  readonly maxInvalidatedKeys?: number;
}

/** What each revision touched (unit keys; null: not known, every unit); undefined: more than could be listed. */
export type TouchedByRevision = ReadonlyMap<number, readonly string[] | null> | undefined;

export class FreshnessTracker {
  private appliedRevision = 0;
  private newestRevision = 0;
  private floorRevision = 0;
  private confirmed = 0;
  private generations = 0;
  private applications = 0;
  /** key → the newest revision that invalidated it (bounded; eviction raises `floor`). */
  private readonly invalidated: LRUCache<string, number>;
  private readonly events = new EventEmitter();
  private readonly target: InvalidationTarget | undefined;
  readonly now: () => number;
  readonly maxStalenessMs: number;

  constructor(options: FreshnessTrackerOptions) {
    this.now = options.now;
    this.maxStalenessMs = options.maxStalenessMs;
    this.target = options.target;
    this.invalidated = new LRUCache<string, number>({
      max: options.maxInvalidatedKeys ?? 200_000,
      dispose: (rev, _key, reason) => {
        if (reason === 'evict' && rev > this.floorRevision) this.floorRevision = rev;
      },
    });
    this.events.setMaxListeners(0);
  }

  /** The revision up to which every invalidation has been applied. */
  get applied(): number {
    return this.appliedRevision;
  }
  /** The newest committed revision heard of (notices, heartbeats, reads of the primary). */
  get newest(): number {
    return this.newestRevision;
  }
  /** Units read below this revision cannot be proven fresh (their history was dropped). */
  get floor(): number {
    return this.floorRevision;
  }
  /** When Postgres last confirmed this process current (0: never). */
  get confirmedAt(): number {
    return this.confirmed;
  }
  /** Grows with every applied revision: work that awaited re-checks its units when it changed. */
  get generation(): number {
    return this.generations;
  }
  /** Revisions whose invalidations were applied. */
  get invalidations(): number {
    return this.applications;
  }

  /** Time since Postgres last confirmed this process current. */
  stalenessMs(): number {
    return this.now() - this.confirmed;
  }

  /** Whether cached answers may be given now (confirmed current within the bound). */
  fresh(): boolean {
    return this.now() - this.confirmed <= this.maxStalenessMs;
  }

  /**
   * The first revision read, when nothing has been applied or confirmed yet: the process
   * starts current at it, and nothing read before it can be admitted.
   */
  begin(revision: number): void {
    if (this.appliedRevision !== 0 || this.confirmed !== 0) return;
    this.heard(revision);
    this.floorRevision = revision;
    this.advance(revision);
  }

  /** A committed revision this process has heard of (not yet applied, perhaps). */
  heard(revision: number): void {
    if (revision > this.newestRevision) this.newestRevision = revision;
  }

  /** Postgres said, at or after `sentAt`, a revision this process has applied. */
  confirm(sentAt: number): void {
    if (sentAt > this.confirmed) this.confirmed = sentAt;
  }

  /** A heartbeat sent at `sentAt` read `revision`: confirms only if it is applied. */
  confirmIfApplied(revision: number, sentAt: number): void {
    if (this.appliedRevision >= revision) this.confirm(sentAt);
  }

  /** Whether a unit read at `rev` equals the unit at `applied` (see the header). */
  isCurrent(key: string, rev: number): boolean {
    return rev >= this.floorRevision && rev <= this.appliedRevision && (this.invalidated.get(key) ?? -1) <= rev;
  }

  /** The newest applied invalidation of `key` this process remembers (-1: none); does not touch recency. */
  invalidatedAt(key: string): number {
    return this.invalidated.peek(key) ?? -1;
  }

  /**
   * A change notice (NOTIFY or pub/sub): revision `revision` touched `keys` (null: not listed).
   * Returns true when a catch-up from the changelog is needed (a gap, or no list).
   */
  receive(revision: number, keys: readonly string[] | null): boolean {
    this.heard(revision);
    if (revision <= this.appliedRevision) return false;
    if (revision === this.appliedRevision + 1 && keys !== null) {
      this.apply(revision, keys);
      return false;
    }
    return true;
  }

  /**
   * A write this process committed: applied at once if it is the next revision (null keys:
   * drop everything). Returns true when a catch-up is needed (a gap).
   */
  noteWrite(revision: number, keys: readonly string[] | null): boolean {
    if (revision <= this.appliedRevision) return false;
    if (revision !== this.appliedRevision + 1) return true;
    this.apply(revision, keys);
    return false;
  }

  /**
   * The changelog of (since, revision], read in one snapshot at `revision`, as what each
   * revision touched (a revision not in the map touched nothing). Revisions already applied
   * are skipped; `undefined` (too many to list) drops everything.
   */
  applyChanges(since: number, revision: number, touched: TouchedByRevision): void {
    if (revision <= this.appliedRevision) return;
    if (since > this.appliedRevision || touched === undefined) {
      // since > applied cannot happen (applied only grows); be safe either way.
      this.dropAll(revision);
      this.applications++;
      this.advance(revision);
      return;
    }
    for (let r = this.appliedRevision + 1; r <= revision; r++) this.apply(r, touched.has(r) ? touched.get(r)! : []);
  }

  /** Subscribes to `applied` advancing. Returns the unsubscribe. */
  onRevision(listener: (revision: number) => void): () => void {
    const wrapped = () => listener(this.appliedRevision);
    this.events.on('revision', wrapped);
    return () => this.events.off('revision', wrapped);
  }

  /** Applies revision `applied + 1`. */
  private apply(revision: number, keys: readonly string[] | null): void {
    if (keys === null) this.dropAll(revision);
    else {
      for (const key of keys) {
        this.invalidated.set(key, revision);
        this.target?.invalidate(key, revision);
      }
    }
    this.applications++;
    this.advance(revision);
  }

  private dropAll(revision: number): void {
    this.target?.clear();
    this.invalidated.clear();
    if (revision > this.floorRevision) this.floorRevision = revision;
  }

  private advance(revision: number): void {
    this.appliedRevision = revision;
    this.generations++;
    this.events.emit('revision');
  }
}
