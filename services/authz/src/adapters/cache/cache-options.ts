/** The cached grant source's options (with their defaults) and what it reports (stats). */
import type { Cluster, Redis } from 'ioredis';
import type pg from 'pg';

export interface CachedGrantSourceOptions {
  /** Pool on the primary: catch-up reads, whole views (fully_consistent, fallbacks), and fills when there is no `readPool`. */
  readonly pool: pg.Pool;
  /**
   * Pool on a streaming read replica (standby) of the same database: cache-miss fills read
   * there (see read-replica-router.ts). @defaultValue undefined: fills read the primary
   */
  readonly readPool?: pg.Pool | undefined;
  /** Connection string for the LISTEN connection (a dedicated client) — the primary. */
  readonly databaseUrl: string;
  /**
   * Shared cache; undefined: in-process layer only (embedded mode). A single Redis or a
   * Redis Cluster (ioredis `Cluster`, best with `enableAutoPipelining`). Every unit is one
   * key, so a subject's graph (its groups and all its bindings) lives in one slot.
   */
  readonly redis?: Redis | Cluster | undefined;
  /** Prefix of every Redis key and the pub/sub channel. @defaultValue `warden:` */
  readonly keyPrefix?: string;
  /** In-process entries (0 disables the in-process layer). @defaultValue 100000 */
  readonly localMaxEntries?: number;
  /** In-process bytes (approximate). @defaultValue 256 MiB */
  readonly localMaxBytes?: number;
  /** TTL of Redis entries. @defaultValue 1 hour */
  readonly redisTtlMs?: number;
  /** Cached answers only while the replica confirmed freshness this recently. @defaultValue 5000 */
  readonly maxStalenessMs?: number;
  /** How often the LISTEN connection confirms the revision. @defaultValue 1000 */
  readonly heartbeatMs?: number;
  readonly onWarning?: (message: string, error?: unknown) => void;
  readonly now?: () => number;
}

/** The options with every default filled in. */
export interface ResolvedCacheOptions {
  readonly keyPrefix: string;
  readonly localMaxEntries: number;
  readonly localMaxBytes: number;
  readonly redisTtlMs: number;
  readonly maxStalenessMs: number;
  readonly heartbeatMs: number;
  readonly warn: (message: string, error?: unknown) => void;
  readonly now: () => number;
}

export function resolveCacheOptions(options: CachedGrantSourceOptions): ResolvedCacheOptions {
  return {
    keyPrefix: options.keyPrefix ?? 'warden:',
    localMaxEntries: options.localMaxEntries ?? 200_000,
    localMaxBytes: options.localMaxBytes ?? 256 * 1024 * 1024,
    redisTtlMs: options.redisTtlMs ?? 3_600_000,
    maxStalenessMs: options.maxStalenessMs ?? 5_000,
    heartbeatMs: options.heartbeatMs ?? 1_000,
    warn: options.onWarning ?? (() => undefined),
    now: options.now ?? Date.now,
  };
}

/** The counters the parts of the cache add to (one object, shared; stats() reads it). */
export interface CacheCounters {
  localHits: number;
  localMisses: number;
  redisHits: number;
  redisMisses: number;
  redisErrors: number;
  /** Unit fills read from Postgres (one statement each). */
  pgFills: number;
  /** Whole views read from Postgres (fully_consistent, fallbacks). */
  pgViews: number;
  catchUps: number;
  /** Views refused because the replica could not confirm freshness within the bound. */
  staleRefusals: number;
  /** Of `pgFills`: fills sent to the read replica (those that failed included: see `readReplicaErrors`). */
  readReplicaFills: number;
  /** Read-replica fills with units its snapshot (older than `applied`) could not prove current: the primary read them again. */
  readReplicaLagged: number;
  /** Read-replica fills or probes that failed (the primary answered). */
  readReplicaErrors: number;
}

export const newCacheCounters = (): CacheCounters => ({
  localHits: 0, localMisses: 0, redisHits: 0, redisMisses: 0, redisErrors: 0,
  pgFills: 0, pgViews: 0, catchUps: 0, staleRefusals: 0,
  readReplicaFills: 0, readReplicaLagged: 0, readReplicaErrors: 0,
});

export interface CacheStats extends CacheCounters {
  /** Revisions whose invalidations were applied. */
  invalidations: number;
  /** The read replica's revision when last seen (-1: no read replica, or not seen yet). */
  readReplicaRevision: number;
  localEntries: number;
  localBytes: number;
  appliedRevision: number;
  /** Milliseconds since the replica last confirmed it was current. */
  stalenessMs: number;
  /** The newest committed revision this replica has heard of. */
  newestRevision: number;
  /** Revisions committed that this replica has not applied yet (newestRevision − appliedRevision). */
  revisionLag: number;
}
