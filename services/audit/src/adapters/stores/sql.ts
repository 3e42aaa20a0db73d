/**
 * The one SQL text of the audit store, shared by both drivers (chdb in-process
 * and @clickhouse/client against a server). Every value is a bound
 * `{name:Type}` parameter, the database name included (`{db:Identifier}`).
 * The service issues CREATE (at startup, when migrating), INSERT and SELECT:
 * never UPDATE, DELETE, ALTER or TRUNCATE.
 */

export const CREATE_DATABASE = 'CREATE DATABASE IF NOT EXISTS {db:Identifier}';

/** Columns a payload retention TTL may clear; keys, position and hashes are kept. */
export const PAYLOAD_COLUMNS = ['actor_id', 'actor_on_behalf_of', 'before', 'after', 'reason', 'ip', 'user_agent', 'trace_id', 'signature'] as const;

/**
 * The events table. Plain MergeTree (an INSERT-only writer cannot replace a
 * row), partitioned by the month the batch was logged (a batch lands in one
 * partition, so its insert is one atomic block), ordered for timelines, with a
 * projection in log order (org, seq) for verification, proofs and restarts.
 * `payloadTtlDays` (a validated integer from configuration) adds column TTLs.
 */
export function createEventsTable(payloadTtlDays: number | undefined): string {
  if (payloadTtlDays !== undefined && (!Number.isSafeInteger(payloadTtlDays) || payloadTtlDays <= 0)) {
    throw new TypeError('payloadTtlDays must be a positive integer');
  }
  const ttl = (column: string) =>
    payloadTtlDays !== undefined && (PAYLOAD_COLUMNS as readonly string[]).includes(column)
      ? ` TTL toDateTime(logged_at) + INTERVAL ${payloadTtlDays} DAY`
      : '';
  return `CREATE TABLE IF NOT EXISTS {db:Identifier}.events (
  org LowCardinality(String),
  seq UInt64,
  id UUID,
  occurred_at DateTime64(3, 'UTC'),
  logged_at DateTime64(3, 'UTC'),
  resource String,
  project LowCardinality(String),
  environment LowCardinality(String),
  actor_type LowCardinality(String),
  actor_id String${ttl('actor_id')},
  actor_on_behalf_of String${ttl('actor_on_behalf_of')},
  action LowCardinality(String),
  before String${ttl('before')},
  after String${ttl('after')},
  reason String${ttl('reason')},
  ip String${ttl('ip')},
  user_agent String${ttl('user_agent')},
  trace_id String${ttl('trace_id')},
  producer LowCardinality(String),
  key_id LowCardinality(String),
  signature String${ttl('signature')},
  content_hash String,
  leaf_hash String,
  chain_hash String,
  INDEX idx_id id TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_actor actor_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_action action TYPE set(256) GRANULARITY 1,
  INDEX idx_seq seq TYPE minmax GRANULARITY 1,
  INDEX idx_logged logged_at TYPE minmax GRANULARITY 1,
  PROJECTION by_seq (SELECT * ORDER BY org, seq)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(logged_at)
ORDER BY (org, resource, occurred_at, seq)
SETTINGS non_replicated_deduplication_window = 10000`;
}

export const CREATE_CHECKPOINTS_TABLE = `CREATE TABLE IF NOT EXISTS {db:Identifier}.checkpoints (
  org LowCardinality(String),
  tree_size UInt64,
  root_hash String,
  note String,
  created_at DateTime64(3, 'UTC'),
  compact_range String
) ENGINE = MergeTree
ORDER BY (org, created_at, tree_size)`;

export const CREATE_PRODUCER_KEYS_TABLE = `CREATE TABLE IF NOT EXISTS {db:Identifier}.producer_keys (
  producer String,
  key_id String,
  public_key String,
  kind LowCardinality(String),
  at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY (producer, key_id, at)`;

export const EVENT_COLUMNS = `org, seq, toString(id) AS event_id, occurred_at, logged_at, resource, project, environment,
  actor_type, actor_id, actor_on_behalf_of, action, before, after, reason, ip, user_agent, trace_id,
  producer, key_id, signature, content_hash, leaf_hash, chain_hash`;

export const SELECT_HEADS = `SELECT org, max(seq) + 1 AS size, argMax(chain_hash, seq) AS last_chain_hash
FROM {db:Identifier}.events GROUP BY org ORDER BY org`;

export const SELECT_LEAF_HASHES = `SELECT leaf_hash FROM {db:Identifier}.events
WHERE org = {org:String} AND seq >= {from:UInt64} AND seq < {to:UInt64}
ORDER BY seq, logged_at`;

export const SELECT_IDS = `SELECT toString(id) AS event_id, org, seq, content_hash FROM {db:Identifier}.events
WHERE id IN {ids:Array(UUID)}`;

export const SELECT_IDS_LOGGED_SINCE = `SELECT toString(id) AS event_id, org, seq, content_hash FROM {db:Identifier}.events
WHERE logged_at >= {since:DateTime64(3, 'UTC')}`;

export const SELECT_SCAN_PAGE = `SELECT ${EVENT_COLUMNS} FROM {db:Identifier}.events
WHERE org = {org:String} AND seq >= {from:UInt64} AND seq < {to:UInt64}
ORDER BY seq, logged_at, leaf_hash`;

export const SELECT_EVENT = `SELECT ${EVENT_COLUMNS} FROM {db:Identifier}.events
WHERE org = {org:String} AND id = {id:UUID}
ORDER BY seq LIMIT 1`;

export const INSERT_CHECKPOINT_TABLE = 'checkpoints';
export const SELECT_CHECKPOINTS = `SELECT org, tree_size, root_hash, note, created_at, compact_range FROM {db:Identifier}.checkpoints
WHERE org = {org:String} ORDER BY created_at, tree_size`;

export const SELECT_KEY_EVENTS = `SELECT producer, key_id, public_key, kind, at FROM {db:Identifier}.producer_keys ORDER BY at, kind`;

/**
 * The timeline query: fixed fragments chosen by which filter fields are set
 * (never by their values, which are all bound).
 */
export type TimelineParts = {
  project: boolean;
  environment: boolean;
  resource: boolean;
  resourcePrefix: boolean;
  actor: boolean;
  actions: boolean;
  since: boolean;
  until: boolean;
  cursor: boolean;
  newestFirst: boolean;
};

export function timelineQuery(parts: TimelineParts): string {
  const where = ['org = {org:String}'];
  if (parts.project) where.push('project = {project:String}');
  if (parts.environment) where.push('environment = {environment:String}');
  if (parts.resource) where.push('resource = {resource:String}');
  if (parts.resourcePrefix) where.push('(resource = {prefix:String} OR startsWith(resource, {prefixSlash:String}))');
  if (parts.actor) where.push('actor_type = {actorType:String} AND actor_id = {actorId:String}');
  if (parts.actions) where.push('action IN {actions:Array(String)}');
  if (parts.since) where.push("occurred_at >= {since:DateTime64(3, 'UTC')}");
  if (parts.until) where.push("occurred_at < {until:DateTime64(3, 'UTC')}");
  if (parts.cursor) {
    where.push(
      parts.newestFirst
        ? "(occurred_at, seq) < ({cursorAt:DateTime64(3, 'UTC')}, {cursorSeq:UInt64})"
        : "(occurred_at, seq) > ({cursorAt:DateTime64(3, 'UTC')}, {cursorSeq:UInt64})",
    );
  }
  const direction = parts.newestFirst ? 'DESC' : 'ASC';
  return `SELECT ${EVENT_COLUMNS} FROM {db:Identifier}.events
WHERE ${where.join('\n  AND ')}
ORDER BY occurred_at ${direction}, seq ${direction}
LIMIT {limit:UInt32}`;
}
