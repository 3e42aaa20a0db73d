/**
 * GrantSource with a cached grant graph: a caching source decorating the Postgres one (as
 * SpiceDB's caching dispatcher decorates its delegate). An in-process layer (local-layer.ts)
 * in front of Redis (redis-unit-cache.ts, shared by authz processes) in front of Postgres (the
 * truth: pg-unit-reader.ts fills units, PgGrantStore answers whole views).
 *
 * Units (cache-keys.ts, units.ts) are independent of the resource asked: per subject its
 * direct groups and all its bindings, per resource path its attributes, per organization its
 * custom roles. Each unit carries the revision it was read at.
 *
 * Freshness (freshness-tracker.ts): the process keeps `applied`, the revision up to which it
 * has applied every invalidation (invalidation-listener.ts feeds it). A unit read from Redis
 * or Postgres is admitted only if no invalidation the process knows of touched it after the
 * revision it was read at. A view is assembled from units and answers at `applied`: the
 * answer equals what Postgres says at that revision (the property test in
 * test/cache-oracle.int.test.ts; the tracker's own in freshness-tracker.test.ts).
 *
 *   minimize_latency     answer at `applied` (no I/O on an in-process hit)
 *   at_least_revision R  if applied < R, catch up from the changelog first (one query)
 *   fully_consistent     read Postgres
 *
 * Failure. Redis errors count as misses (Postgres answers). When Postgres cannot be
 * reached, cached answers are given only while the process last *confirmed* it was
 * current (heartbeat on the LISTEN connection) within `maxStalenessMs`; after that,
 * UnavailableError. A unit that cannot be proven fresh is never used. Fills may read a
 * Postgres read replica (read-replica-router.ts says when and why that is safe).
 */
import type { GrantView } from '../../domain/engine.js';
import { UnavailableError } from '@warden/errors';
import type { Consistency } from '../../domain/model.js';
import type { GrantSource, ViewRequest } from '../../ports.js';
import { encodeGrantChangeNotice, touchedByAll, type ChangeLike } from '../postgres/grant-changes.js';
import { PgGrantStore } from '../postgres/pg-grant-store.js';
import { newCacheCounters, resolveCacheOptions, type CachedGrantSourceOptions, type CacheStats, type ResolvedCacheOptions } from './cache-options.js';
import { nameOf, orgKey, resourceKey, subjectKey, unitKeysOf } from './cache-keys.js';
import { FreshnessTracker } from './freshness-tracker.js';
import { InvalidationListener } from './invalidation-listener.js';
import { LocalLayer } from './local-layer.js';
import { PgUnitReader } from './pg-unit-reader.js';
import { ReadReplicaRouter } from './read-replica-router.js';
import { RedisUnitCache } from './redis-unit-cache.js';
import { entryOf } from './unit-codec.js';
import { viewOf } from './unit-views.js';
import { wildcardOf } from '../../domain/grant-graph.js';
import type { Entry } from './units.js';
import type pg from 'pg';

export type { CachedGrantSourceOptions, CacheStats } from './cache-options.js';

export class CachedGrantSource implements GrantSource {
  private readonly o: ResolvedCacheOptions;
  private readonly counters = newCacheCounters();
  /** The delegate for whole views: always the primary (fully_consistent, fallbacks). */
  private readonly pgStore: PgGrantStore;
  private readonly local: LocalLayer | undefined;
  private readonly redis: RedisUnitCache | undefined;
  private readonly tracker: FreshnessTracker;
  private readonly reader: PgUnitReader;
  private readonly router: ReadReplicaRouter;
  private readonly listener: InvalidationListener;

  constructor(options: CachedGrantSourceOptions) {
    const o = (this.o = resolveCacheOptions(options));
    this.pgStore = new PgGrantStore(options.pool);
    this.local = o.localMaxEntries > 0 ? new LocalLayer(o.localMaxEntries, o.localMaxBytes, this.counters) : undefined;
    this.redis = options.redis === undefined ? undefined : new RedisUnitCache(options.redis, o.keyPrefix, o.redisTtlMs, this.counters);
    this.tracker = new FreshnessTracker({ now: o.now, maxStalenessMs: o.maxStalenessMs, target: this.local });
    this.reader = new PgUnitReader(this.counters);
    const shared = { tracker: this.tracker, reader: this.reader, counters: this.counters, heartbeatMs: o.heartbeatMs, warn: o.warn };
    this.router = new ReadReplicaRouter({ ...shared, primary: options.pool, readPool: options.readPool });
    this.listener = new InvalidationListener({ ...shared, databaseUrl: options.databaseUrl, pool: options.pool });
  }

  /** LISTENs, reads the current revision, subscribes to Redis invalidations, starts the heartbeat. */
  async start(): Promise<void> {
    await this.listener.start();
    this.redis?.subscribe((payload) => this.listener.receive(payload), this.o.warn);
  }

  async close(): Promise<void> {
    this.router.close();
    this.redis?.close();
    await this.listener.close();
  }

  /** Empties the in-process layer (Redis and Postgres keep everything; the next Checks refill it). */
  clearLocal(): void {
    this.local?.clear();
  }

  /** The revision up to which this process has applied every invalidation. */
  get appliedRevision(): number {
    return this.tracker.applied;
  }

  stats(): CacheStats {
    const t = this.tracker;
    return {
      ...this.counters,
      invalidations: t.invalidations,
      readReplicaRevision: this.router.revision,
      localEntries: this.local?.size ?? 0,
      localBytes: this.local?.bytes ?? 0,
      appliedRevision: t.applied,
      stalenessMs: t.stalenessMs(),
      newestRevision: Math.max(t.newest, t.applied),
      revisionLag: Math.max(0, t.newest - t.applied),
    };
  }

  /** Resolves once `applied` ≥ revision (or after `timeoutMs`, with the outcome). */
  async waitForRevision(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.tracker.applied >= revision) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const unsubscribe = this.tracker.onRevision((applied) => {
        if (applied >= revision) done(true);
      });
      const done = (ok: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        resolve(ok);
      };
    });
  }

  /** Subscribes to revision advances (Watch uses it to wake up). Returns the unsubscribe. */
  onRevision(listener: (revision: number) => void): () => void {
    return this.tracker.onRevision(listener);
  }

  /** Reads the changelog since `applied` (single-flight). */
  catchUp(): Promise<void> {
    return this.listener.catchUp();
  }

  /**
   * Tells the cache about a write this process committed: applied at once (the writer's
   * own next Check sees it) and published on Redis for the other processes.
   */
  noteWrite(result: { readonly revision: number; readonly changes: readonly ChangeLike[] }): void {
    if (result.changes.length === 0) return;
    const touched = touchedByAll(result.changes) ?? null;
    if (this.tracker.noteWrite(result.revision, unitKeysOf(touched))) this.listener.catchUpInBackground();
    this.redis?.publish(encodeGrantChangeNotice({ revision: result.revision, touched }, Infinity));
  }

  async view(requests: readonly ViewRequest[], signal?: AbortSignal, consistency?: Consistency): Promise<GrantView> {
    signal?.throwIfAborted();
    const tracker = this.tracker;
    if (consistency?.kind === 'fully_consistent') return this.readPostgres(requests, signal);
    const asked = tracker.now();
    if (consistency?.kind === 'at_least_revision' && tracker.applied < consistency.revision) {
      try {
        await this.listener.catchUpFrom(asked);
      } catch (error) {
        throw new UnavailableError(`cannot confirm revision ${consistency.revision}: Postgres could not be read`, { cause: error });
      }
      // Still older: the revision is newer than any committed; Postgres answers (and the authorizer refuses).
      if (tracker.applied < consistency.revision) return this.readPostgres(requests, signal);
    }
    const staleness = asked - tracker.confirmedAt;
    if (staleness > tracker.maxStalenessMs) {
      // Not proven current (the LISTEN connection is down): catch up from the changelog, with a
      // read sent after this one arrived. If Postgres cannot answer, fail closed.
      try {
        await this.listener.catchUpFrom(asked);
      } catch (error) {
        this.counters.staleRefusals++;
        throw new UnavailableError(
          `Postgres is unreachable and the cache was last confirmed current ${staleness} ms ago (bound: ${tracker.maxStalenessMs} ms)`,
          { cause: error },
        );
      }
    }
    if (requests.length === 1 && this.local !== undefined) {
      const hit = this.local.hit(requests[0]!, tracker.applied);
      if (hit !== undefined) return hit;
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const view = await this.assemble(requests, signal);
      if (view !== undefined) return view;
    }
    return this.readPostgres(requests, signal);
  }

  localViews(requests: readonly ViewRequest[], consistency?: Consistency): GrantView[] | undefined {
    const tracker = this.tracker;
    if (consistency !== undefined && consistency.kind !== 'minimize_latency' && !(consistency.kind === 'at_least_revision' && tracker.applied >= consistency.revision)) return undefined;
    // Not proven current: view() catches up or refuses.
    if (!tracker.fresh()) return undefined;
    // Synchronous, so every view is at the same `applied`.
    const local = this.local;
    const applied = tracker.applied;
    const views: GrantView[] = [];
    for (const request of requests) {
      const view = local?.hit(request, applied);
      if (view === undefined) return undefined;
      views.push(view);
    }
    return views;
  }

  private async readPostgres(requests: readonly ViewRequest[], signal: AbortSignal | undefined): Promise<GrantView> {
    this.counters.pgViews++;
    // Always the primary (`pgStore` is built on `pool`): fully_consistent, an at_least_revision
    // newer than any applied, and the fallback after refused fills must not read a lagging standby.
    // A view read from Postgres confirms nothing about other units; it is honest on its own.
    return this.pgStore.view(requests, signal);
  }

  /** Builds a view from units at `applied`; undefined when it could not prove one (retry). */
  private async assemble(requests: readonly ViewRequest[], signal: AbortSignal | undefined): Promise<GrantView | undefined> {
    const tracker = this.tracker;
    const startGeneration = tracker.generation;
    // In-process keys are the plain names (subjects, paths and org ids never collide):
    // a hit builds no strings. Redis and invalidations use the prefixed keys.
    const subjects = new Map<string, Entry>();
    const attributes = new Map<string, Entry>();
    const orgs = new Map<string, Entry>();
    const fromLocal = new Set<Entry>();
    let missing: string[] = [];
    const need = (map: Map<string, Entry>, name: string, prefixed: (name: string) => string) => {
      if (map.has(name)) return;
      const entry = this.local?.get(name);
      if (entry !== undefined) {
        this.counters.localHits++;
        map.set(name, entry);
        fromLocal.add(entry);
      } else {
        this.counters.localMisses++;
        const key = prefixed(name);
        if (!missing.includes(key)) missing.push(key);
      }
    };
    for (const { subject, resource } of requests) {
      need(subjects, subject, subjectKey);
      // The bindings naming every subject of its type (`user:*`) count for it too.
      const wildcard = wildcardOf(subject);
      if (wildcard !== undefined) need(subjects, wildcard, subjectKey);
      need(orgs, resource.org, orgKey);
      for (const path of resource.chain) need(attributes, path, resourceKey);
    }
    for (;;) {
      if (missing.length > 0) {
        const found = new Map<string, Entry>();
        if (this.redis !== undefined) missing = await this.redis.read(missing, (key, rev) => tracker.isCurrent(key, rev), (key, rev, text) => this.admit(key, rev, text, found));
        if (missing.length > 0) {
          signal?.throwIfAborted();
          await this.router.fill(missing, (key) => found.has(key), (pool, keys, fromReadReplica) => this.fillFrom(pool, keys, found, fromReadReplica));
          // A unit that changed after the fill's snapshot could not be admitted: retry.
          if (missing.some((key) => !found.has(key))) return undefined;
        }
        for (const [key, entry] of found) {
          const name = nameOf(key);
          const map = key.startsWith('s:') ? subjects : key.startsWith('r:') ? attributes : orgs;
          if (!map.has(name)) map.set(name, entry);
        }
        missing = [];
      }
      // Groups of the loaded subjects, transitively (a Map visits entries added while iterating).
      for (const entry of subjects.values()) {
        if (entry.unit.t === 's') for (const group of entry.unit.groups) need(subjects, group, subjectKey);
      }
      if (missing.length === 0) break;
    }

    if (tracker.generation !== startGeneration) {
      // Invalidations arrived while we awaited: every unit must still be current.
      const still = (map: Map<string, Entry>, prefixed: (name: string) => string) => {
        for (const [name, entry] of map) {
          if (fromLocal.has(entry) && this.local?.peek(name) === entry) continue;
          if (!tracker.isCurrent(prefixed(name), entry.rev)) return false;
        }
        return true;
      };
      if (!still(subjects, subjectKey) || !still(attributes, resourceKey) || !still(orgs, orgKey)) return undefined;
    }
    return viewOf(tracker.applied, subjects, attributes, orgs);
  }

  /** A unit read at `rev` that the tracker admitted: into this view's units and the in-process layer. */
  private admit(key: string, rev: number, text: string, units: Map<string, Entry>): Entry {
    const entry = entryOf(key, rev, text);
    if (!units.has(key)) units.set(key, entry);
    this.local?.set(nameOf(key), entry);
    return entry;
  }

  /**
   * One fill on `pool` (pg-unit-reader.ts): applies its changelog, admits the units it can prove
   * current at `applied` into `units` (the caller re-reads or retries the rest) and stores them in
   * Redis. Returns the revision read at.
   */
  private async fillFrom(pool: pg.Pool, keys: readonly string[], units: Map<string, Entry>, fromReadReplica: boolean): Promise<number> {
    const tracker = this.tracker;
    const since = tracker.applied;
    const sentAt = tracker.now();
    const { revision, changes, texts } = await this.reader.fill(pool, keys, since, fromReadReplica);
    if (!fromReadReplica) tracker.heard(revision);
    // The standby's changelog is committed history (a prefix of the primary's): applying it is a catch-up.
    tracker.applyChanges(since, revision, changes);
    // Only the primary proves this process current; a standby may be behind it by any amount.
    if (!fromReadReplica) tracker.confirm(sentAt);

    const admitted: Array<readonly [string, string]> = [];
    for (const [key, text] of texts) {
      // Usable in this view only if current; a unit that changed after `revision` is not (the retry re-reads it).
      if (!tracker.isCurrent(key, revision)) continue;
      this.admit(key, revision, text, units);
      admitted.push([key, text]);
    }
    this.redis?.write(revision, admitted);
    return revision;
  }
}
