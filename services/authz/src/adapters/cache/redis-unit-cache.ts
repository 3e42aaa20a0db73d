/**
 * The shared layer: units in Redis (or a Redis Cluster), `rev|json` under the key prefix, and
 * the pub/sub channel that carries change notices between authz processes.
 *
 * Invariants:
 *   - Redis is never invalidated, only versioned: a value is `rev|text`, written only if Redis
 *     holds nothing newer (SET_IF_NEWER: fills race with other processes), and a value read
 *     is used only if the caller's `isCurrent(key, rev)` admits it. So a stale value is a miss,
 *     never a wrong answer;
 *   - Redis errors are misses (Postgres answers), counted in `redisErrors`; writes and publishes
 *     are fire-and-forget;
 *   - every unit is one key, so on a Cluster a subject's graph lives in one slot.
 */
import type { Cluster, Redis } from 'ioredis';
import { storeSpan } from '../../instruments.js';
import type { CacheCounters } from './cache-options.js';
import { redisChannel } from './cache-keys.js';

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
 * groups, `{"g":["group:a",…],…` (unit-codec.ts), and subject names hold no quote or
 * backslash (domain/names.ts), so the names are read without decoding the bindings.
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

/** Bumped when a unit's JSON changes shape (v2: groups per organization, declared actions; v3: declared subject and resource types, the directory). */
export const UNIT_FORMAT = 'v3';

export class RedisUnitCache {
  private readonly redis: (Redis | Cluster) & WardenCommands;
  private subscriber: Redis | Cluster | undefined;
  /** The configured prefix and the unit format's version: units of an older format are never read. */
  private readonly prefix: string;

  constructor(
    redis: Redis | Cluster,
    prefix: string,
    private readonly ttlMs: number,
    private readonly counters: CacheCounters,
  ) {
    this.redis = withWardenCommands(redis);
    this.prefix = `${prefix}${UNIT_FORMAT}:`;
  }

  /**
   * Reads units; calls `found` for each one `isCurrent` admits and returns the keys it could
   * not serve. On a single Redis one round trip also brings the subject units of every group
   * the subjects found belong to, transitively (a script follows them on the server), so a
   * Redis hit costs one round trip even for subjects in nested groups. On a Cluster each key
   * is read on its own node (auto-pipelined: one round trip per node, in parallel); groups
   * not in the in-process layer then cost one more round trip per level of nesting.
   */
  async read(keys: readonly string[], isCurrent: (key: string, rev: number) => boolean, found: (key: string, rev: number, text: string) => void): Promise<string[]> {
    const redis = this.redis;
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
      return [...keys];
    }
    const requested = new Set(keys);
    const missing = new Set(keys);
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const key = reply[i]!.slice(this.prefix.length);
      const value = reply[i + 1];
      const asked = requested.has(key);
      const sep = value?.indexOf('|') ?? -1;
      const rev = value === null || value === undefined || sep < 0 ? -1 : Number(value.slice(0, sep));
      if (rev < 0 || !isCurrent(key, rev)) {
        if (asked) this.counters.redisMisses++;
        continue;
      }
      this.counters.redisHits++;
      missing.delete(key);
      found(key, rev, value!.slice(sep + 1));
    }
    return [...missing];
  }

  /** Stores units read at `revision` unless Redis holds newer ones (in the background). */
  write(revision: number, units: ReadonlyArray<readonly [key: string, text: string]>): void {
    if (units.length === 0) return;
    const redis = this.redis;
    if (!redis.isCluster) {
      const pipeline = (redis as Redis).pipeline();
      for (const [key, text] of units) pipeline.eval(SET_IF_NEWER, 1, this.prefix + key, revision, text, this.ttlMs);
      pipeline.exec().catch(() => {
        this.counters.redisErrors++;
      });
      return;
    }
    // A Cluster pipeline must stay on one node: there, each write goes on its own (auto-pipelined).
    Promise.all(units.map(([key, text]) => redis.wardenSetIfNewer(this.prefix + key, revision, text, this.ttlMs))).catch(() => {
      this.counters.redisErrors++;
    });
  }

  /** Publishes a change notice to the other processes (in the background). */
  publish(payload: string): void {
    this.redis.publish(redisChannel(this.prefix), payload).catch(() => {
      this.counters.redisErrors++;
    });
  }

  /** Delivers every change notice published on the channel to `onPayload`. */
  subscribe(onPayload: (payload: string) => void, warn: (message: string, error?: unknown) => void): void {
    const subscriber = this.redis.isCluster
      ? (this.redis as Cluster).duplicate(undefined, { enableOfflineQueue: true })
      : (this.redis as Redis).duplicate({ enableOfflineQueue: true });
    subscriber.on('error', () => undefined);
    subscriber.on('message', (_channel: string, message: string) => onPayload(message));
    this.subscriber = subscriber;
    subscriber.subscribe(redisChannel(this.prefix)).catch((error: unknown) => warn('Redis subscribe failed; Postgres NOTIFY still invalidates', error));
  }

  close(): void {
    this.subscriber?.disconnect();
  }
}
