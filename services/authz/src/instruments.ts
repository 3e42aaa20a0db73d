/**
 * The authz service's metrics and spans, through @opentelemetry/api only; the process
 * registers the SDK (runService → startTelemetry, @warden/service-kit).
 */
import { trace, type Attributes, type BatchObservableResult, type Meter } from '@opentelemetry/api';
import { createInstruments, createStoreSpan } from '@warden/service-kit';

export const tracer = trace.getTracer('warden-authz', '0.1.0');

/**
 * Decisions are tallied here and reported through an observable counter: the hot path
 * adds 1 to a number instead of hashing an attribute set per decision. Keyed by decision,
 * then reason (constant strings: two Map lookups, no string built per decision).
 */
const decisionTally = new Map<string, Map<string, { readonly attributes: Attributes; count: number }>>();

export function countDecision(decision: string, reason: string): void {
  let byReason = decisionTally.get(decision);
  if (byReason === undefined) decisionTally.set(decision, (byReason = new Map()));
  const found = byReason.get(reason);
  if (found !== undefined) found.count++;
  else byReason.set(reason, { attributes: { 'warden.decision': decision, 'warden.reason': reason }, count: 1 });
}

/** The histogram's two attribute sets, made once. */
export const SINGLE: Attributes = Object.freeze({ 'warden.batch': false });
export const BATCH: Attributes = Object.freeze({ 'warden.batch': true });

/** Made on the registered MeterProvider (createInstruments). */
function makeInstruments(meter: Meter) {
  return {
    meter,
    /** Time from a check's arrival to its decision, in seconds (engine + store or cache). */
    checkDuration: meter.createHistogram('warden.authz.check.duration', {
      description: 'Time to decide a check (batches: per batch)',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] },
    }),
  };
}

function observeDecisions(meter: Meter): void {
  /** Decisions by result (ALLOW, DENY, REQUIRES_APPROVAL) and reason code, since the process started. */
  meter
    .createObservableCounter('warden.authz.decisions', { description: 'Decisions by result and reason' })
    .addCallback((result) => {
      for (const byReason of decisionTally.values()) for (const { attributes, count } of byReason.values()) result.observe(count, attributes);
    });
}

export const instruments = createInstruments('warden-authz', '0.1.0', (meter) => {
  observeDecisions(meter);
  return makeInstruments(meter);
});

/** Runs `work` in a client span named like a store call (`postgres grant view`), a child of the RPC's. */
export const storeSpan = createStoreSpan(tracer);

/** What the grant cache reports (CachedGrantSource.stats()). */
export interface CacheStatsLike {
  readonly localHits: number;
  readonly localMisses: number;
  readonly redisHits: number;
  readonly redisMisses: number;
  readonly redisErrors: number;
  readonly pgFills: number;
  readonly pgViews: number;
  readonly invalidations: number;
  readonly staleRefusals: number;
  readonly localEntries: number;
  readonly localBytes: number;
  readonly appliedRevision: number;
  readonly revisionLag: number;
  readonly stalenessMs: number;
  readonly readReplicaFills: number;
  readonly readReplicaLagged: number;
  readonly readReplicaErrors: number;
}

const LAYER = (layer: string, result: string): Attributes => Object.freeze({ 'warden.cache.layer': layer, 'warden.cache.result': result });
const LOCAL_HIT = LAYER('local', 'hit');
const LOCAL_MISS = LAYER('local', 'miss');
const REDIS_HIT = LAYER('redis', 'hit');
const REDIS_MISS = LAYER('redis', 'miss');
const REDIS_ERROR = LAYER('redis', 'error');
const LOCAL = Object.freeze({ 'warden.cache.layer': 'local' });
const REDIS = Object.freeze({ 'warden.cache.layer': 'redis' });

/**
 * The grant cache on /metrics, read from its counters when scraped (nothing on the hot path):
 * lookups per layer and result, the hit ratio per layer, Postgres reads, invalidations,
 * the applied revision, the revision lag and the time since the replica last confirmed it
 * was current, the in-process layer's size, and read-replica fills.
 */
export function observeGrantCache(stats: () => CacheStatsLike): () => void {
  const meter = instruments().meter;
  const lookups = meter.createObservableCounter('warden.authz.cache.lookups', { description: 'Grant-graph unit lookups by cache layer and result' });
  const hitRatio = meter.createObservableGauge('warden.authz.cache.hit_ratio', { description: 'Hits ÷ lookups per cache layer since start', unit: '1' });
  const pgReads = meter.createObservableCounter('warden.authz.cache.postgres.reads', { description: 'Postgres reads behind the cache: unit fills and whole views' });
  const invalidations = meter.createObservableCounter('warden.authz.cache.invalidations', { description: 'Revisions whose invalidations were applied' });
  const staleRefusals = meter.createObservableCounter('warden.authz.cache.stale_refusals', { description: 'Checks refused because freshness could not be confirmed within the staleness bound' });
  const applied = meter.createObservableGauge('warden.authz.revision.applied', { description: 'The revision up to which this replica applied every invalidation' });
  const lag = meter.createObservableGauge('warden.authz.revision.lag', { description: 'Committed revisions this replica has heard of but not applied yet' });
  const staleness = meter.createObservableGauge('warden.authz.cache.staleness', { description: 'Time since the replica last confirmed it was current', unit: 's' });
  const entries = meter.createObservableGauge('warden.authz.cache.entries', { description: 'Units in the in-process layer' });
  const bytes = meter.createObservableGauge('warden.authz.cache.size', { description: 'Approximate size of the in-process layer', unit: 'By' });
  const replica = meter.createObservableCounter('warden.authz.read_replica.reads', {
    description: 'Read replica: fills sent (fill), fills whose units had to be re-read from the primary (lagged), failed fills or probes (error)',
  });
  const ratio = (hits: number, misses: number) => (hits + misses === 0 ? 0 : hits / (hits + misses));
  const callback = (result: BatchObservableResult) => {
    const s = stats();
    result.observe(lookups, s.localHits, LOCAL_HIT);
    result.observe(lookups, s.localMisses, LOCAL_MISS);
    result.observe(lookups, s.redisHits, REDIS_HIT);
    result.observe(lookups, s.redisMisses, REDIS_MISS);
    result.observe(lookups, s.redisErrors, REDIS_ERROR);
    result.observe(hitRatio, ratio(s.localHits, s.localMisses), LOCAL);
    result.observe(hitRatio, ratio(s.redisHits, s.redisMisses + s.redisErrors), REDIS);
    result.observe(pgReads, s.pgFills, { 'warden.cache.read': 'fill' });
    result.observe(pgReads, s.pgViews, { 'warden.cache.read': 'view' });
    result.observe(invalidations, s.invalidations);
    result.observe(staleRefusals, s.staleRefusals);
    result.observe(applied, s.appliedRevision);
    result.observe(lag, s.revisionLag);
    result.observe(staleness, s.stalenessMs / 1000);
    result.observe(entries, s.localEntries);
    result.observe(bytes, s.localBytes);
    result.observe(replica, s.readReplicaFills, { 'warden.result': 'fill' });
    result.observe(replica, s.readReplicaLagged, { 'warden.result': 'lagged' });
    result.observe(replica, s.readReplicaErrors, { 'warden.result': 'error' });
  };
  const observables = [lookups, hitRatio, pgReads, invalidations, staleRefusals, applied, lag, staleness, entries, bytes, replica];
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
