-- Warden audit: server-mode schema (single node). Apply as an administrator:
--   clickhouse-client --multiquery < 01-schema.sql
-- The statements are the service's own DDL (services/audit/src/stores/sql.ts) with
-- the database name filled in; a test keeps the two identical. Plain MergeTree only:
-- a Replacing/Collapsing engine would let an INSERT-only writer overwrite rows.
--
-- Optional payload retention: the service's AUDIT_PAYLOAD_TTL_DAYS adds, at creation,
--   `TTL toDateTime(logged_at) + INTERVAL <days> DAY` to the payload columns
--   (actor_id, actor_on_behalf_of, before, after, reason, ip, user_agent, trace_id, signature).
-- Keys, position and hashes (org, seq, id, resource, occurred_at, leaf_hash, chain_hash) are
-- never dropped, so `verify` still proves the log and reports the expired payloads.

CREATE DATABASE IF NOT EXISTS warden_audit;

CREATE TABLE IF NOT EXISTS warden_audit.events (
  org LowCardinality(String),
  seq UInt64,
  id UUID,
  occurred_at DateTime64(3, 'UTC'),
  logged_at DateTime64(3, 'UTC'),
  resource String,
  project LowCardinality(String),
  environment LowCardinality(String),
  actor_type LowCardinality(String),
  actor_id String,
  actor_on_behalf_of String,
  action LowCardinality(String),
  before String,
  after String,
  reason String,
  ip String,
  user_agent String,
  trace_id String,
  producer LowCardinality(String),
  key_id LowCardinality(String),
  signature String,
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
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS warden_audit.checkpoints (
  org LowCardinality(String),
  tree_size UInt64,
  root_hash String,
  note String,
  created_at DateTime64(3, 'UTC'),
  compact_range String
) ENGINE = MergeTree
ORDER BY (org, created_at, tree_size);

CREATE TABLE IF NOT EXISTS warden_audit.producer_keys (
  producer String,
  key_id String,
  public_key String,
  kind LowCardinality(String),
  at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY (producer, key_id, at);
