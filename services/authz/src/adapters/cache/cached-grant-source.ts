/**
 * GrantSource with a cached grant graph: an in-process LRU (bounded by entries and
 * bytes) in front of Redis (shared by replicas) in front of Postgres (the truth).
 *
 * Units (cache-keys.ts) are independent of the resource asked: per subject its direct
 * groups and all its bindings, per resource path its attributes, per organization its
 * custom roles. Each unit carries the revision it was read at.
 *
 * Freshness. The replica keeps `applied`: the revision up to which it has applied every
 * invalidation (Postgres NOTIFY sent by the writer inside the write's transaction,
 * delivered at commit in commit order; Redis pub/sub as a second channel; and the
 * changelog for gaps). Invariant: every unit in the in-process layer equals Postgres at
 * `applied`. A unit read from Redis or Postgres is admitted only if no invalidation
 * the replica knows of touched it after the revision it was read at. A view is
 * assembled from units and answers at `applied`: the answer equals what Postgres says
 * at that revision (the property test in test/cache-oracle.int.test.ts).
 *
 *   minimize_latency     answer at `applied` (no I/O on an in-process hit)
 *   at_least_revision R  if applied < R, catch up from the changelog first (one query)
 *   fully_consistent     read Postgres
 *
 * Failure. Redis errors count as misses (Postgres answers). When Postgres cannot be
 * reached, cached answers are given only while the replica last *confirmed* it was
 * current (heartbeat on the LISTEN connection) within `maxStalenessMs`; after that,
 * UnavailableError. A unit that cannot be proven fresh is never used.
 *
 * Read replica (`readPool`: a Postgres streaming standby; "replica" above means an authz
 * process). What reads where:
 *   read replica  cache-miss fills (`fill`), when it is up and not known to be too far behind
 *   primary       the LISTEN connection, heartbeat and changelog catch-up (the changelog is read
 *                 where the revision is committed), `fully_consistent` and every fallback view
 *                 (`readPostgres`), the catch-up behind `at_least_revision`, and any fill the
 *                 read replica failed or could not serve
 * Why a fill from a lagging standby is safe: FILL_SQL is one statement, one snapshot, and
 * every write bumps the one-row warden_revision under a row lock in its own transaction,
 * so the standby's snapshot is the primary's state at some committed revision R' (units,
 * changelog and revision alike). If R' > applied, its changelog (applied, R'] is committed
 * history and advances `applied` like a catch-up; if R' ≤ applied, applyChanges ignores it.
 * Units carry R' and are admitted only through isCurrent(key, R'): R' ≥ floor and no
 * invalidation this process applied touched the key after R', so the unit at R' equals
 * the unit at `applied` (the invariant holds). Keys the old snapshot cannot prove current
 * (R' < floor, or touched in (R', applied]) are counted (`readReplicaLagged`) and read
 * again from the primary in the same fill, never retried on the standby. A standby read
 * never confirms freshness (`confirmedAt`): only the primary can say we are current.
 * Routing: a standby last seen caught up gets every fill. One last seen behind gets only
 * fills it can serve (its revision then ≥ floor and ≥ the newest invalidation of each key);
 * after a standby error it gets none. The rest go to the primary, and a background probe (at
 * most once per `heartbeatMs`) looks at the standby again.
 */
import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import { COMPILED_SYSTEM_ROLES } from '../../domain/catalogue.js';
import type { GrantView } from '../../domain/engine.js';
import { UnavailableError } from '@warden/errors';
import { storeSpan } from '../../instruments.js';
import type { Binding, CompiledRole, Consistency, ResourceAttributes } from '../../domain/model.js';
import type { GrantSource, ViewRequest } from '../../ports.js';
import { closure, sortViewIndexes } from '../../domain/grant-graph.js';
import { PgGrantStore, roleFromRow, type BindingRow, type RoleRow } from '../postgres/pg-grant-store.js';
import {
  cacheKeysOf,
  orgKey,
  parseInvalidation,
  PG_CHANNEL,
  redisChannel,
  resourceKey,
  subjectKey,
  type ChangeLike,
  type InvalidationMessage,
} from './cache-keys.js';

export interface CachedGrantSourceOptions {
  /** Pool on the primary: catch-up reads, whole views (fully_consistent, fallbacks), and fills when there is no `readPool`. */
  readonly pool: pg.Pool;
  /**
   * Pool on a streaming read replica (standby) of the same database: cache-miss fills read
   * there (see the header comment). @defaultValue undefined: fills read the primary
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

export interface CacheStats {
  localHits: number;
  localMisses: number;
  redisHits: number;
  redisMisses: number;
  redisErrors: number;
  /** Unit fills read from Postgres (one statement each). */
  pgFills: number;
  /** Whole views read from Postgres (fully_consistent, fallbacks). */
  pgViews: number;
  invalidations: number;
  catchUps: number;
  /** Views refused because the replica could not confirm freshness within the bound. */
  staleRefusals: number;
  /** Of `pgFills`: fills sent to the read replica (those that failed included: see `readReplicaErrors`). */
  readReplicaFills: number;
  /** Read-replica fills with units its snapshot (older than `applied`) could not prove current: the primary read them again. */
  readReplicaLagged: number;
  /** Read-replica fills or probes that failed (the primary answered). */
  readReplicaErrors: number;
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

interface SubjectUnit {
  readonly t: 's';
  readonly groups: readonly string[];
  readonly byScope: ReadonlyMap<string, readonly Binding[]>;
}
interface AttrUnit {
  readonly t: 'r';
  readonly attrs: ResourceAttributes | undefined;
}
interface OrgUnit {
  readonly t: 'o';
  readonly roles: ReadonlyMap<string, CompiledRole>;
}
type Unit = SubjectUnit | AttrUnit | OrgUnit;
interface Entry {
  readonly rev: number;
  readonly unit: Unit;
  readonly size: number;
  /**
   * Set when the in-process layer drops the entry (evicted, invalidated, replaced, cleared).
   * An entry not dead is in the layer, so current at `applied`; a memo over live entries is too.
   */
  dead?: true;
  /** On a resource path's unit: the path's organization and scope chain, resolved (localHit). */
  chain?: ChainMemo;
  /** On a subject's unit: its group closure, resolved (localHit). */
  closure?: ClosureMemo;
}

/**
 * What localHit resolved for a resource path or a subject, kept on the entry it starts from so
 * a repeated Check reads two entries instead of one per scope and group. Valid while every
 * entry in `entries` is alive; re-resolved through the layer every REFRESH_EVERY uses anyway,
 * which keeps the units it names recently used (an LRU evicts what it does not see read).
 */
interface ChainMemo {
  /** The organization's unit, then the attribute unit of each path on the chain. */
  readonly entries: readonly Entry[];
  readonly roles: ReadonlyMap<string, CompiledRole>;
  readonly attrs: ReadonlyArray<ResourceAttributes | undefined>;
  uses: number;
}
interface ClosureMemo {
  /** The entries of the subject's groups, transitively (the subject's own is the memo's holder). */
  readonly entries: readonly Entry[];
  /** The subject, then its groups in closure() order; `units` alike. */
  readonly names: readonly string[];
  readonly units: readonly SubjectUnit[];
  uses: number;
}
const REFRESH_EVERY = 64;

function alive(entries: readonly Entry[]): boolean {
  for (const entry of entries) if (entry.dead === true) return false;
  return true;
}

// The same rows as the Postgres store's grant view.
type BindingJson = BindingRow;
type RoleJson = RoleRow;
type UnitJson = { g: string[]; b: BindingJson[] } | { a: ResourceAttributes | null } | { r: RoleJson[] };

const EMPTY: readonly Binding[] = [];
const CHANGES_LIMIT = 10_000;

/** Stores `rev|value` only if Redis holds nothing newer (fills race with other replicas). */
const SET_IF_NEWER = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  if sep and tonumber(string.sub(cur, 1, sep - 1)) >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1`;

/**
 * Reads units and follows subjects' groups on the server (single Redis only: the group
 * keys are not declared, which a Cluster forbids). KEYS: unit keys. ARGV[1]: the key
 * prefix. Replies key, value pairs: each requested key, then each group's subject unit,
 * transitively, each key once (bounded). A subject unit's JSON starts with its direct
 * groups, `{"g":["group:a",…],…`, and subject names hold no quote or backslash
 * (domain/names.ts), so the names are read without decoding the bindings.
 */
const UNITS_WITH_GROUPS = `
local prefix = ARGV[1]
local subjectPrefix = prefix .. 's:'
local queue, seen, out = {}, {}, {}
for i = 1, #KEYS do
  if not seen[KEYS[i]] then seen[KEYS[i]] = true; queue[#queue + 1] = KEYS[i] end
end
local i = 1
while i <= #queue and i <= 2000 do
  local key = queue[i]
  local value = redis.call('GET', key)
  out[#out + 1] = key
  out[#out + 1] = value
  if value and string.sub(key, 1, #subjectPrefix) == subjectPrefix then
    local groups = string.match(value, '^%d+|{"g":%[(.-)%]')
    if groups then
      for name in string.gmatch(groups, '"([^"]*)"') do
        local groupKey = subjectPrefix .. name
        if not seen[groupKey] then seen[groupKey] = true; queue[#queue + 1] = groupKey end
      end
    end
  end
  i = i + 1
end
return out`;

/** The scripts as client commands (EVALSHA, falling back to EVAL once per connection). */
interface WardenCommands {
  wardenUnits(numberOfKeys: number, ...args: string[]): Promise<Array<string | null>>;
  wardenSetIfNewer(key: string, revision: number, text: string, ttlMs: number): Promise<number>;
}

function withWardenCommands(redis: Redis | Cluster): (Redis | Cluster) & WardenCommands {
  if (!('wardenUnits' in redis)) {
    redis.defineCommand('wardenUnits', { lua: UNITS_WITH_GROUPS });
    redis.defineCommand('wardenSetIfNewer', { lua: SET_IF_NEWER, numberOfKeys: 1 });
  }
  return redis as (Redis | Cluster) & WardenCommands;
}

const CHANGES_SQL = `
(SELECT coalesce(json_agg(json_build_array(c.revision, c.kind, c.key, c.before, c.after) ORDER BY c.revision, c.seq), '[]'::json)
   FROM (SELECT revision, seq, kind, key, before, after FROM changelog WHERE revision > $LAST
         ORDER BY revision, seq LIMIT ${CHANGES_LIMIT + 1}) c)`;

const FILL_SQL = `
WITH RECURSIVE reach(subject) AS (
  SELECT unnest($1::text[])
  UNION
  SELECT gm.group_subject FROM group_members gm JOIN reach r ON gm.member = r.subject
)
SELECT
  (SELECT revision FROM warden_revision) AS revision,
  (SELECT coalesce(json_agg(subject), '[]'::json) FROM reach) AS subjects,
  (SELECT coalesce(json_agg(json_build_array(gm.member, gm.group_subject)), '[]'::json)
     FROM group_members gm WHERE gm.member IN (SELECT subject FROM reach)) AS edges,
  (SELECT coalesce(json_agg(json_build_object(
      'id', b.id, 'subject', b.subject, 'role', b.role, 'actions', b.actions, 'scope', b.scope,
      'effect', b.effect, 'expires_at', b.expires_at, 'condition', b.condition,
      'granted_by', b.granted_by, 'reason', b.reason)), '[]'::json)
     FROM bindings b WHERE b.subject IN (SELECT subject FROM reach)) AS bindings,
  (SELECT coalesce(json_agg(json_build_object(
      'org', r.org, 'name', r.name, 'description', r.description, 'actions', r.actions,
      'membership', r.membership, 'ceiling', r.ceiling)), '[]'::json)
     FROM roles r WHERE r.org = ANY($3::text[])) AS roles,
  (SELECT coalesce(json_object_agg(res.path, res.attributes), '{}'::json)
     FROM resources res WHERE res.path = ANY($2::text[])) AS attributes,
  ${CHANGES_SQL.replace('$LAST', '$4')} AS changes
`;

const CATCH_UP_SQL = `SELECT (SELECT revision FROM warden_revision) AS revision, ${CHANGES_SQL.replace('$LAST', '$1')} AS changes`;

type ChangeRow = [number | string, string, string, unknown, unknown];

interface FillRow {
  revision: string;
  subjects: string[];
  edges: Array<[string, string]>;
  bindings: BindingJson[];
  roles: RoleJson[];
  attributes: Record<string, ResourceAttributes>;
  changes: ChangeRow[];
}

/**
 * Scopes, roles, grantors and reasons repeat across thousands of bindings; JSON.parse
 * gives each its own copy. Interning them keeps a replica's memory near the size of
 * the distinct data. Bounded: when full it starts over (correctness never depends on it).
 */
const interned = new Map<string, string>();
function intern(value: string): string {
  const found = interned.get(value);
  if (found !== undefined) return found;
  if (interned.size >= 200_000) interned.clear();
  interned.set(value, value);
  return value;
}
const internOrUndefined = (value: string | null): string | undefined => (value === null ? undefined : intern(value));

function bindingFromJson(row: BindingJson, subject: string): Binding {
  return {
    id: row.id,
    subject: row.subject === subject ? subject : intern(row.subject),
    role: internOrUndefined(row.role),
    actions: row.actions ?? undefined,
    scope: intern(row.scope),
    effect: row.effect === 'deny' ? 'deny' : 'allow',
    expiresAt: row.expires_at === null ? undefined : new Date(row.expires_at),
    condition: internOrUndefined(row.condition),
    grantedBy: internOrUndefined(row.granted_by),
    reason: internOrUndefined(row.reason),
  };
}

function unitFromJson(key: string, json: UnitJson): Unit {
  if ('g' in json) {
    const byScope = new Map<string, Binding[]>();
    const subject = key.slice(2);
    for (const row of json.b) {
      const binding = bindingFromJson(row, subject);
      const list = byScope.get(binding.scope);
      if (list === undefined) byScope.set(binding.scope, [binding]);
      else list.push(binding);
    }
    const groups = json.g.map(intern);
    sortViewIndexes(byScope, new Map([[key, groups]]));
    return { t: 's', groups, byScope };
  }
  if ('a' in json) return { t: 'r', attrs: json.a ?? undefined };
  const roles = new Map<string, CompiledRole>();
  for (const r of json.r) {
    roles.set(r.name, roleFromRow(r));
  }
  return { t: 'o', roles };
}

function entryOf(key: string, rev: number, text: string): Entry {
  return { rev, unit: unitFromJson(key, JSON.parse(text) as UnitJson), size: 2 * (key.length + text.length) + 256 };
}

export class CachedGrantSource implements GrantSource {
  private readonly pool: pg.Pool;
  /** The read replica's pool (undefined: fills read the primary). */
  private readonly readPool: pg.Pool | undefined;
  /** What this process last saw of the read replica: its revision (-1: not yet), when it looked, whether it failed or was behind `applied`. */
  private readonly readReplica = { revision: -1, checkedAt: 0, down: false, behind: false, probing: false };
  private readonly pgStore: PgGrantStore;
  private readonly redis: (Redis | Cluster) & WardenCommands | undefined;
  private subscriber: Redis | Cluster | undefined;
  private readonly prefix: string;
  private readonly local: LRUCache<string, Entry> | undefined;
  /** key → the newest revision that invalidated it (bounded; eviction raises `floor`). */
  private readonly invalidated: LRUCache<string, number>;
  /** Units read at a revision below this cannot be proven fresh (their history was dropped). */
  private floor = 0;
  private applied = 0;
  /** The newest committed revision this replica has heard of (NOTIFY, pub/sub, heartbeat, reads of the primary). */
  private newest = 0;
  private generation = 0;
  private confirmedAt = 0;
  private listener: pg.Client | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private heartbeatBusy = false;
  private reconnecting: NodeJS.Timeout | undefined;
  private catchingUp: Promise<void> | undefined;
  private closed = false;
  private readonly events = new EventEmitter();
  private readonly redisTtlMs: number;
  private readonly maxStalenessMs: number;
  private readonly heartbeatMs: number;
  private readonly warn: (message: string, error?: unknown) => void;
  private readonly now: () => number;
  private readonly counters = {
    localHits: 0, localMisses: 0, redisHits: 0, redisMisses: 0, redisErrors: 0,
    pgFills: 0, pgViews: 0, invalidations: 0, catchUps: 0, staleRefusals: 0,
    readReplicaFills: 0, readReplicaLagged: 0, readReplicaErrors: 0,
  };

  constructor(private readonly options: CachedGrantSourceOptions) {
    this.pool = options.pool;
    this.readPool = options.readPool;
    // Whole views (fully_consistent, fallbacks) read the primary, never the read replica.
    this.pgStore = new PgGrantStore(options.pool);
    this.redis = options.redis === undefined ? undefined : withWardenCommands(options.redis);
    this.prefix = options.keyPrefix ?? 'warden:';
    const maxEntries = options.localMaxEntries ?? 100_000;
    this.local = maxEntries > 0
      ? new LRUCache<string, Entry>({
          max: maxEntries,
          maxSize: options.localMaxBytes ?? 256 * 1024 * 1024,
          sizeCalculation: (e) => e.size,
          // Synchronous on evict, delete, replace and clear: memos over the entry see it at once.
          dispose: (e) => {
            e.dead = true;
          },
        })
      : undefined;
    this.invalidated = new LRUCache<string, number>({
      max: 200_000,
      dispose: (rev, _key, reason) => {
        if (reason === 'evict' && rev > this.floor) this.floor = rev;
      },
    });
    this.redisTtlMs = options.redisTtlMs ?? 3_600_000;
    this.maxStalenessMs = options.maxStalenessMs ?? 5_000;
    this.heartbeatMs = options.heartbeatMs ?? 1_000;
    this.warn = options.onWarning ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.events.setMaxListeners(0);
  }

  /** LISTENs, reads the current revision, subscribes to Redis invalidations, starts the heartbeat. */
  async start(): Promise<void> {
    await this.connectListener();
    if (this.redis !== undefined) {
      const subscriber = this.redis.isCluster ? (this.redis as Cluster).duplicate(undefined, { enableOfflineQueue: true }) : (this.redis as Redis).duplicate({ enableOfflineQueue: true });
      subscriber.on('error', () => undefined);
      subscriber.on('message', (_channel: string, message: string) => this.onMessage(message));
      this.subscriber = subscriber;
      subscriber.subscribe(redisChannel(this.prefix)).catch((error: unknown) => this.warn('Redis subscribe failed; Postgres NOTIFY still invalidates', error));
    }
    this.heartbeat = setInterval(() => void this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.reconnecting);
    this.subscriber?.disconnect();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  /** Empties the in-process layer (Redis and Postgres keep everything; the next Checks refill it). */
  clearLocal(): void {
    this.local?.clear();
  }

  /** The revision up to which this replica has applied every invalidation. */
  get appliedRevision(): number {
    return this.applied;
  }

  stats(): CacheStats {
    return {
      ...this.counters,
      readReplicaRevision: this.readReplica.revision,
      localEntries: this.local?.size ?? 0,
      localBytes: this.local?.calculatedSize ?? 0,
      appliedRevision: this.applied,
      stalenessMs: this.now() - this.confirmedAt,
      newestRevision: Math.max(this.newest, this.applied),
      revisionLag: Math.max(0, this.newest - this.applied),
    };
  }

  /** Resolves once `applied` ≥ revision (or after `timeoutMs`, with the outcome). */
  async waitForRevision(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.applied >= revision) return true;
    return new Promise((resolve) => {
      const onRevision = () => {
        if (this.applied >= revision) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.events.off('revision', onRevision);
        resolve(ok);
      };
      this.events.on('revision', onRevision);
    });
  }

  /** Subscribes to revision advances (Watch uses it to wake up). Returns the unsubscribe. */
  onRevision(listener: (revision: number) => void): () => void {
    const wrapped = () => listener(this.applied);
    this.events.on('revision', wrapped);
    return () => this.events.off('revision', wrapped);
  }

  /**
   * Tells the cache about a write this process committed: applied at once (the writer's
   * own next Check sees it) and published on Redis for the other replicas.
   */
  noteWrite(result: { readonly revision: number; readonly changes: readonly ChangeLike[] }): void {
    if (result.changes.length === 0) return;
    const keys = keysOf(result.changes);
    this.applyInvalidation(result.revision, keys);
    if (this.redis !== undefined) {
      const message: InvalidationMessage = { r: result.revision, k: keys };
      this.redis.publish(redisChannel(this.prefix), JSON.stringify(message)).catch(() => {
        this.counters.redisErrors++;
      });
    }
  }

  async view(requests: readonly ViewRequest[], signal?: AbortSignal, consistency?: Consistency): Promise<GrantView> {
    signal?.throwIfAborted();
    if (consistency?.kind === 'fully_consistent') return this.readPostgres(requests, signal);
    if (consistency?.kind === 'at_least_revision' && this.applied < consistency.revision) {
      try {
        await this.catchUp();
      } catch (error) {
        throw new UnavailableError(`cannot confirm revision ${consistency.revision}: Postgres could not be read`, { cause: error });
      }
      // Still older: the revision is newer than any committed; Postgres answers (and the authorizer refuses).
      if (this.applied < consistency.revision) return this.readPostgres(requests, signal);
    }
    const staleness = this.now() - this.confirmedAt;
    if (staleness > this.maxStalenessMs) {
      // Not proven current (the LISTEN connection is down): catch up from the changelog.
      // If Postgres cannot answer, fail closed.
      try {
        await this.catchUp();
      } catch (error) {
        this.counters.staleRefusals++;
        throw new UnavailableError(
          `Postgres is unreachable and the cache was last confirmed current ${staleness} ms ago (bound: ${this.maxStalenessMs} ms)`,
          { cause: error },
        );
      }
    }
    if (requests.length === 1) {
      const hit = this.localHit(requests[0]!);
      if (hit !== undefined) return hit;
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const view = await this.assemble(requests, signal);
      if (view !== undefined) return view;
    }
    return this.readPostgres(requests, signal);
  }

  localViews(requests: readonly ViewRequest[], consistency?: Consistency): GrantView[] | undefined {
    if (consistency !== undefined && consistency.kind !== 'minimize_latency' && !(consistency.kind === 'at_least_revision' && this.applied >= consistency.revision)) return undefined;
    // Not proven current: view() catches up or refuses.
    if (this.now() - this.confirmedAt > this.maxStalenessMs) return undefined;
    // Synchronous, so every view is at the same `applied`.
    const views: GrantView[] = [];
    for (const request of requests) {
      const view = this.localHit(request);
      if (view === undefined) return undefined;
      views.push(view);
    }
    return views;
  }

  private async readPostgres(requests: readonly ViewRequest[], signal: AbortSignal | undefined): Promise<GrantView> {
    this.counters.pgViews++;
    // Always the primary (`pgStore` is built on `pool`): fully_consistent, an at_least_revision
    // newer than any applied, and the fallback after refused fills must not read a lagging standby.
    const view = await this.pgStore.view(requests, signal);
    // A view read from Postgres also confirms nothing about other units; it is honest on its own.
    return view;
  }

  private isCurrent(key: string, rev: number): boolean {
    return rev >= this.floor && rev <= this.applied && (this.invalidated.get(key) ?? -1) <= rev;
  }

  /**
   * The hot path: one request whose units are all in the in-process layer. Synchronous
   * (no invalidation can interleave), so the units are current at `applied`. Undefined
   * on any miss: the general path takes over.
   */
  private localHit(request: ViewRequest): GrantView | undefined {
    const local = this.local;
    if (local === undefined) return undefined;
    const resource = request.resource;
    const leaf = local.get(resource.path);
    if (leaf === undefined || leaf.unit.t !== 'r') return undefined;
    let chain = leaf.chain;
    if (chain === undefined || ++chain.uses % REFRESH_EVERY === 0 || !alive(chain.entries)) {
      chain = resolveChain(local, resource.org, resource.chain);
      if (chain === undefined) return undefined;
      leaf.chain = chain;
    }
    const first = local.get(request.subject);
    if (first === undefined || first.unit.t !== 's') return undefined;
    let closure = first.closure;
    if (closure === undefined || ++closure.uses % REFRESH_EVERY === 0 || !alive(closure.entries)) {
      closure = resolveClosure(local, request.subject, first.unit);
      if (closure === undefined) return undefined;
      first.closure = closure;
    }
    this.counters.localHits += closure.names.length + chain.entries.length;
    return new SingleRequestView(this.applied, closure.names, closure.units, resource.org, chain.roles, resource.chain, chain.attrs);
  }

  /** Builds a view from units at `applied`; undefined when it could not prove one (retry). */
  private async assemble(requests: readonly ViewRequest[], signal: AbortSignal | undefined): Promise<GrantView | undefined> {
    const startGeneration = this.generation;
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
      need(orgs, resource.org, orgKey);
      for (const path of resource.chain) need(attributes, path, resourceKey);
    }
    for (;;) {
      if (missing.length > 0) {
        const found = new Map<string, Entry>();
        if (this.redis !== undefined) missing = await this.readRedis(missing, found);
        if (missing.length > 0) {
          signal?.throwIfAborted();
          await this.fill(missing, found);
          // A unit that changed after the fill's snapshot could not be admitted: retry.
          if (missing.some((key) => !found.has(key))) return undefined;
        }
        for (const [key, entry] of found) {
          const name = key.slice(2);
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

    if (this.generation !== startGeneration) {
      // Invalidations arrived while we awaited: every unit must still be current.
      const still = (map: Map<string, Entry>, prefixed: (name: string) => string) => {
        for (const [name, entry] of map) {
          if (fromLocal.has(entry) && this.local?.peek(name) === entry) continue;
          if (!this.isCurrent(prefixed(name), entry.rev)) return false;
        }
        return true;
      };
      if (!still(subjects, subjectKey) || !still(attributes, resourceKey) || !still(orgs, orgKey)) return undefined;
    }
    return viewOf(this.applied, subjects, attributes, orgs);
  }

  /**
   * Reads units from Redis; returns the keys it could not serve. On a single Redis one
   * round trip also brings the subject units of every group the subjects found belong
   * to, transitively (a script follows them on the server), so a Redis hit costs one
   * round trip even for subjects in nested groups. On a Cluster each key is read on its
   * own node (auto-pipelined: one round trip per node, in parallel); groups not in the
   * in-process layer then cost one more round trip per level of nesting.
   */
  private async readRedis(keys: string[], units: Map<string, Entry>): Promise<string[]> {
    const redis = this.redis!;
    const prefixed = keys.map((k) => this.prefix + k);
    let reply: Array<string | null>;
    try {
      reply = await storeSpan(
        'redis grant units',
        { 'db.system.name': 'redis', 'db.operation.name': redis.isCluster ? 'GET' : 'EVALSHA', 'warden.keys': keys.length },
        async () =>
          redis.isCluster
            ? (await Promise.all(prefixed.map((key) => redis.get(key)))).flatMap((value, i) => [prefixed[i]!, value])
            : redis.wardenUnits(prefixed.length, ...prefixed, this.prefix),
      );
    } catch {
      this.counters.redisErrors++;
      return keys;
    }
    const requested = new Set(keys);
    const missing = new Set(keys);
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const key = reply[i]!.slice(this.prefix.length);
      const value = reply[i + 1];
      const asked = requested.has(key);
      const sep = value?.indexOf('|') ?? -1;
      const rev = value === null || value === undefined || sep < 0 ? -1 : Number(value.slice(0, sep));
      if (rev < 0 || !this.isCurrent(key, rev)) {
        if (asked) this.counters.redisMisses++;
        continue;
      }
      this.counters.redisHits++;
      const entry = entryOf(key, rev, value!.slice(sep + 1));
      missing.delete(key);
      units.set(key, entry);
      this.local?.set(key.slice(2), entry);
    }
    return [...missing];
  }

  /**
   * Reads the missing keys' units: from the read replica when there is one that may serve
   * them, else (or for what it could not serve, or when it fails) from the primary. Never
   * loops on a lagging read replica: one read there at most, then the primary.
   */
  private async fill(keys: string[], units: Map<string, Entry>): Promise<void> {
    const readPool = this.readPool;
    if (readPool === undefined || !this.readReplicaMayServe(keys)) {
      await this.fillFrom(this.pool, keys, units, false);
      return;
    }
    const seen = this.readReplica;
    const since = this.applied;
    const sentAt = this.now();
    let revision: number;
    try {
      revision = await this.fillFrom(readPool, keys, units, true);
    } catch (error) {
      this.counters.readReplicaErrors++;
      if (!seen.down) this.warn('the read replica could not be read; cache misses read the primary until it answers again', error);
      seen.down = true;
      seen.checkedAt = sentAt;
      await this.fillFrom(this.pool, keys, units, false);
      return;
    }
    // Only lag refuses here: after applyChanges, applied ≥ revision, so a refused key was read
    // below `floor` or touched in (revision, applied]. The primary reads those now.
    const refused = keys.filter((key) => !units.has(key));
    seen.revision = revision;
    seen.behind = revision < since || refused.length > 0;
    seen.checkedAt = sentAt;
    seen.down = false;
    if (refused.length === 0) return;
    this.counters.readReplicaLagged++;
    await this.fillFrom(this.pool, refused, units, false);
  }

  /**
   * Whether to send this fill to the read replica. Up and last seen caught up (at or above
   * `applied` then): yes — one read there, and what it cannot prove current goes to the
   * primary. Last seen behind: only if its revision then is at or above `floor` and the
   * newest invalidation of every key (it would serve them all). Otherwise the primary, and a
   * background probe (at most once per heartbeat) looks at the read replica again.
   */
  private readReplicaMayServe(keys: readonly string[]): boolean {
    const seen = this.readReplica;
    if (!seen.down) {
      if (!seen.behind) return true;
      if (this.floor <= seen.revision && !keys.some((key) => (this.invalidated.peek(key) ?? -1) > seen.revision)) return true;
    }
    if (this.now() - seen.checkedAt >= this.heartbeatMs) this.probeReadReplica();
    return false;
  }

  /** Reads the read replica's revision in the background (nothing waits on it). */
  private probeReadReplica(): void {
    const readPool = this.readPool;
    const seen = this.readReplica;
    if (readPool === undefined || seen.probing || this.closed) return;
    seen.probing = true;
    seen.checkedAt = this.now();
    const since = this.applied;
    void readPool
      .query<{ revision: string }>('SELECT revision FROM warden_revision')
      .then(
        ({ rows }) => {
          seen.revision = Number(rows[0]!.revision);
          seen.behind = seen.revision < since;
          seen.down = false;
        },
        () => {
          this.counters.readReplicaErrors++;
          seen.down = true;
        },
      )
      .finally(() => {
        seen.probing = false;
      });
  }

  /**
   * One statement on `pool`: units of the keys (subjects with their whole group closure) and the
   * changelog since `applied`. Returns the revision read at. Units that cannot be proven current
   * at `applied` are left out of `units` (the caller re-reads or retries them).
   */
  private async fillFrom(pool: pg.Pool, keys: readonly string[], units: Map<string, Entry>, fromReadReplica: boolean): Promise<number> {
    const subjects: string[] = [];
    const paths: string[] = [];
    const orgs: string[] = [];
    for (const key of keys) {
      const rest = key.slice(2);
      if (key.startsWith('s:')) subjects.push(rest);
      else if (key.startsWith('r:')) paths.push(rest);
      else orgs.push(rest);
    }
    const since = this.applied;
    const sentAt = this.now();
    let row: FillRow;
    try {
      this.counters.pgFills++;
      if (fromReadReplica) this.counters.readReplicaFills++;
      // The Postgres read behind a view (named like PgGrantStore's): units plus the changelog since `applied`.
      row = (
        await storeSpan(
          'postgres grant view',
          {
            'db.system.name': 'postgresql', 'db.operation.name': 'SELECT', 'warden.cache': 'fill', 'warden.subjects': subjects.length, 'warden.scopes': paths.length,
            'warden.read': fromReadReplica ? 'replica' : 'primary',
          },
          () => pool.query<FillRow>(FILL_SQL, [subjects, paths, orgs, since]),
        )
      ).rows[0]!;
    } catch (error) {
      throw new UnavailableError(`the grant store (Postgres${fromReadReplica ? ' read replica' : ''}) could not be read`, { cause: error });
    }
    const revision = Number(row.revision);
    if (!fromReadReplica) this.heard(revision);
    // The standby's changelog is committed history (a prefix of the primary's): applying it is a catch-up.
    this.applyChanges(since, revision, row.changes);
    // Only the primary proves this process current; a standby may be behind it by any amount.
    if (!fromReadReplica) this.confirm(sentAt);

    const texts = new Map<string, string>();
    const edges = new Map<string, string[]>();
    for (const [member, group] of row.edges) {
      const list = edges.get(member) ?? [];
      list.push(group);
      edges.set(member, list);
    }
    const bindings = new Map<string, BindingJson[]>();
    for (const b of row.bindings) {
      const list = bindings.get(b.subject) ?? [];
      list.push(b);
      bindings.set(b.subject, list);
    }
    for (const subject of row.subjects) texts.set(subjectKey(subject), JSON.stringify({ g: edges.get(subject) ?? [], b: bindings.get(subject) ?? [] }));
    for (const path of paths) texts.set(resourceKey(path), JSON.stringify({ a: row.attributes[path] ?? null }));
    const rolesByOrg = new Map<string, RoleJson[]>();
    for (const r of row.roles) {
      const list = rolesByOrg.get(r.org) ?? [];
      list.push(r);
      rolesByOrg.set(r.org, list);
    }
    for (const org of orgs) texts.set(orgKey(org), JSON.stringify({ r: rolesByOrg.get(org) ?? [] }));

    const redis = this.redis;
    // A Cluster pipeline must stay on one node: there, each write goes on its own (auto-pipelined).
    const pipeline = redis !== undefined && !redis.isCluster ? (redis as Redis).pipeline() : undefined;
    const writes: Array<Promise<unknown>> = [];
    for (const [key, text] of texts) {
      const entry = entryOf(key, revision, text);
      // Always usable in this view if current; a unit that changed after `revision` is not (the retry re-reads it).
      if (!this.isCurrent(key, revision)) continue;
      if (!units.has(key)) units.set(key, entry);
      this.local?.set(key.slice(2), entry);
      if (pipeline !== undefined) pipeline.eval(SET_IF_NEWER, 1, this.prefix + key, revision, text, this.redisTtlMs);
      else if (redis !== undefined) writes.push(redis.wardenSetIfNewer(this.prefix + key, revision, text, this.redisTtlMs));
    }
    if (pipeline !== undefined && pipeline.length > 0) {
      pipeline.exec().catch(() => {
        this.counters.redisErrors++;
      });
    }
    if (writes.length > 0) {
      Promise.all(writes).catch(() => {
        this.counters.redisErrors++;
      });
    }
    return revision;
  }

  // --- invalidation -------------------------------------------------------------

  private onMessage(payload: string): void {
    const message = parseInvalidation(payload);
    if (message === undefined) return;
    this.heard(message.r);
    if (message.r <= this.applied) return;
    if (message.r === this.applied + 1 && message.k !== null) this.applyInvalidation(message.r, message.k);
    else void this.catchUp().catch((error: unknown) => this.warn('cache catch-up failed', error));
  }

  /** Applies one revision's invalidation; out-of-order revisions trigger a changelog catch-up. */
  private applyInvalidation(revision: number, keys: readonly string[] | null): void {
    if (revision <= this.applied) return;
    if (revision !== this.applied + 1) {
      void this.catchUp().catch((error: unknown) => this.warn('cache catch-up failed', error));
      return;
    }
    if (keys === null) this.dropAll(revision);
    else {
      for (const key of keys) {
        this.invalidated.set(key, revision);
        const name = key.slice(2);
        const entry = this.local?.peek(name);
        if (entry !== undefined && entry.rev < revision) this.local!.delete(name);
      }
    }
    this.counters.invalidations++;
    this.advance(revision);
  }

  private dropAll(revision: number): void {
    this.local?.clear();
    this.invalidated.clear();
    this.floor = revision;
  }

  private heard(revision: number): void {
    if (revision > this.newest) this.newest = revision;
  }

  private advance(revision: number): void {
    this.applied = revision;
    this.generation++;
    this.events.emit('revision');
  }

  /** Applies changelog rows of (since, revision]. */
  private applyChanges(since: number, revision: number, rows: readonly ChangeRow[]): void {
    if (revision <= this.applied) return;
    if (since < this.applied) rows = rows.filter(([rev]) => Number(rev) > this.applied);
    else if (since > this.applied) {
      // Cannot happen (applied only grows); be safe.
      this.dropAll(revision);
      this.advance(revision);
      return;
    }
    if (rows.length > CHANGES_LIMIT) {
      this.dropAll(revision);
      this.counters.invalidations++;
      this.advance(revision);
      return;
    }
    const byRevision = new Map<number, string[] | null>();
    for (const [rev, kind, key, before, after] of rows) {
      const r = Number(rev);
      const keys = cacheKeysOf({ kind, key, before, after });
      const list = byRevision.has(r) ? byRevision.get(r)! : [];
      byRevision.set(r, keys === undefined || list === null ? null : [...list, ...keys]);
    }
    for (let r = this.applied + 1; r <= revision; r++) this.applyInvalidation(r, byRevision.has(r) ? byRevision.get(r)! : []);
  }

  /** Reads the changelog since `applied` (single-flight). */
  catchUp(): Promise<void> {
    this.catchingUp ??= (async () => {
      try {
        this.counters.catchUps++;
        const since = this.applied;
        const sentAt = this.now();
        const { rows } = await this.pool.query<{ revision: string; changes: ChangeRow[] }>(CATCH_UP_SQL, [since]);
        this.heard(Number(rows[0]!.revision));
        this.applyChanges(since, Number(rows[0]!.revision), rows[0]!.changes);
        this.confirm(sentAt);
      } finally {
        this.catchingUp = undefined;
      }
    })();
    return this.catchingUp;
  }

  // --- the LISTEN connection ------------------------------------------------------

  /** Postgres said, at or after `sentAt`, a revision this replica has applied. */
  private confirm(sentAt: number): void {
    if (sentAt > this.confirmedAt) this.confirmedAt = sentAt;
  }

  private async connectListener(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl, query_timeout: Math.max(2 * this.heartbeatMs, 1000), connectionTimeoutMillis: 2000 });
    const lost = (error?: unknown) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      if (!this.closed) {
        this.warn('LISTEN connection lost; cached answers only within the staleness bound until it is back', error);
        this.scheduleReconnect();
      }
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (message.channel === PG_CHANNEL && message.payload !== undefined) this.onMessage(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_CHANNEL}`);
      const sentAt = this.now();
      if (this.applied === 0 && this.confirmedAt === 0) {
        const { rows } = await client.query<{ revision: string }>('SELECT revision FROM warden_revision');
        const revision = Number(rows[0]!.revision);
        this.heard(revision);
        this.floor = revision;
        this.advance(revision);
      }
      this.listener = client;
      await this.catchUp();
      this.confirmedAt = Math.max(this.confirmedAt, sentAt);
    } catch (error) {
      this.listener = undefined;
      await client.end().catch(() => undefined);
      throw new UnavailableError('cannot LISTEN for grant changes on Postgres', { cause: error });
    }
  }

  private scheduleReconnect(): void {
    if (this.reconnecting !== undefined || this.closed) return;
    this.reconnecting = setTimeout(() => {
      this.reconnecting = undefined;
      this.connectListener().catch(() => this.scheduleReconnect());
    }, Math.min(this.heartbeatMs, 500));
    this.reconnecting.unref();
  }

  private async beat(): Promise<void> {
    const client = this.listener;
    if (client === undefined || this.heartbeatBusy) return;
    this.heartbeatBusy = true;
    const sentAt = this.now();
    try {
      const { rows } = await client.query<{ revision: string }>('SELECT revision FROM warden_revision');
      const revision = Number(rows[0]!.revision);
      this.heard(revision);
      if (revision > this.applied) await this.catchUp();
      if (this.applied >= revision) this.confirmedAt = Math.max(this.confirmedAt, sentAt);
    } catch (error) {
      if (this.listener === client) {
        this.listener = undefined;
        client.end().catch(() => undefined);
        this.warn('heartbeat on the LISTEN connection failed; reconnecting', error);
        this.scheduleReconnect();
      }
    } finally {
      this.heartbeatBusy = false;
    }
  }
}

function keysOf(changes: readonly ChangeLike[]): string[] | null {
  const keys = new Set<string>();
  for (const change of changes) {
    const touched = cacheKeysOf(change);
    if (touched === undefined) return null;
    for (const key of touched) keys.add(key);
  }
  return [...keys];
}

function viewOf(revision: number, subjects: ReadonlyMap<string, Entry>, attributes: ReadonlyMap<string, Entry>, orgs: ReadonlyMap<string, Entry>): GrantView {
  const closures = new Map<string, string[]>();
  const subjectUnit = (subject: string) => subjects.get(subject)?.unit as SubjectUnit | undefined;
  const groupsOf = (subject: string): readonly string[] => subjectUnit(subject)?.groups ?? EMPTY_GROUPS;
  return {
    revision,
    subjectsOf(subject) {
      let found = closures.get(subject);
      if (found === undefined) {
        found = closure(subject, groupsOf);
        closures.set(subject, found);
      }
      return found;
    },
    bindingsAt: (subject, scope) => subjectUnit(subject)?.byScope.get(scope) ?? EMPTY,
    role: (org, name) => COMPILED_SYSTEM_ROLES.get(name) ?? (orgs.get(org)?.unit as OrgUnit | undefined)?.roles.get(name),
    attributes: (path) => (attributes.get(path)?.unit as AttrUnit | undefined)?.attrs,
  };
}

const EMPTY_GROUPS: readonly string[] = [];

/** The organization's and the chain's units from the in-process layer (undefined on any miss). */
function resolveChain(local: LRUCache<string, Entry>, org: string, chain: readonly string[]): ChainMemo | undefined {
  const orgEntry = local.get(org);
  if (orgEntry === undefined || orgEntry.unit.t !== 'o') return undefined;
  const entries = [orgEntry];
  const attrs: Array<ResourceAttributes | undefined> = [];
  for (const path of chain) {
    const entry = local.get(path);
    if (entry === undefined || entry.unit.t !== 'r') return undefined;
    entries.push(entry);
    attrs.push(entry.unit.attrs);
  }
  return { entries, roles: orgEntry.unit.roles, attrs, uses: 0 };
}

/** A subject's group closure, breadth first (the order closure() gives), from the in-process layer. */
function resolveClosure(local: LRUCache<string, Entry>, subject: string, unit: SubjectUnit): ClosureMemo | undefined {
  const names = [subject];
  const units = [unit];
  const entries: Entry[] = [];
  for (let i = 0; i < units.length; i++) {
    for (const group of units[i]!.groups) {
      if (names.includes(group)) continue;
      const entry = local.get(group);
      if (entry === undefined || entry.unit.t !== 's') return undefined;
      names.push(group);
      units.push(entry.unit);
      entries.push(entry);
    }
  }
  return { entries, names, units, uses: 0 };
}

/**
 * The view of one request served from the in-process layer: plain arrays (a subject's
 * closure is a handful of names, a chain at most eight paths), so a hit allocates little.
 */
class SingleRequestView implements GrantView {
  constructor(
    readonly revision: number,
    /** The subject, then its groups in closure() order. */
    private readonly names: readonly string[],
    private readonly units: readonly SubjectUnit[],
    private readonly org: string,
    private readonly roles: ReadonlyMap<string, CompiledRole>,
    private readonly chain: readonly string[],
    private readonly attrs: ReadonlyArray<ResourceAttributes | undefined>,
  ) {}

  subjectsOf(subject: string): readonly string[] {
    if (subject === this.names[0]) return this.names;
    return closure(subject, (s) => {
      const i = this.names.indexOf(s);
      return i < 0 ? EMPTY_GROUPS : this.units[i]!.groups;
    });
  }

  bindingsAt(subject: string, scope: string): readonly Binding[] {
    const i = this.names.indexOf(subject);
    return i < 0 ? EMPTY : (this.units[i]!.byScope.get(scope) ?? EMPTY);
  }

  role(org: string, name: string): CompiledRole | undefined {
    return COMPILED_SYSTEM_ROLES.get(name) ?? (org === this.org ? this.roles.get(name) : undefined);
  }

  attributes(path: string): ResourceAttributes | undefined {
    const i = this.chain.indexOf(path);
    return i < 0 ? undefined : this.attrs[i];
  }
}
