-- Warden audit: schema for a ClickHouse cluster (ON CLUSTER, ReplicatedMergeTree).
-- Same columns, keys, indexes and partitioning as 01-schema.sql. One shard, replicated:
-- each organization's log has one sequencer (the audit service), and every replica holds
-- the whole log, so verification and timelines read one replica. The `{cluster}`, `{shard}`
-- and `{replica}` macros come from the servers' configuration. Replicated tables
-- deduplicate retried insert blocks (insert_deduplication_token) within
-- replicated_deduplication_window blocks.
--   clickhouse-client --multiquery < 11-schema-cluster.sql

CREATE DATABASE IF NOT EXISTS warden_audit ON CLUSTER '{cluster}';

CREATE TABLE IF NOT EXISTS warden_audit.events ON CLUSTER '{cluster}' (
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
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/warden_audit/events', '{replica}')
PARTITION BY toYYYYMM(logged_at)
ORDER BY (org, resource, occurred_at, seq)
SETTINGS replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS warden_audit.checkpoints ON CLUSTER '{cluster}' (
  org LowCardinality(String),
  tree_size UInt64,
  root_hash String,
  note String,
  created_at DateTime64(3, 'UTC'),
  compact_range String
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/warden_audit/checkpoints', '{replica}')
ORDER BY (org, created_at, tree_size);

CREATE TABLE IF NOT EXISTS warden_audit.producer_keys ON CLUSTER '{cluster}' (
  producer String,
  key_id String,
  public_key String,
  kind LowCardinality(String),
  at DateTime64(3, 'UTC')
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/warden_audit/producer_keys', '{replica}')
ORDER BY (producer, key_id, at);
