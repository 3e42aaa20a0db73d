-- Warden audit: access control for a cluster. Cluster variant of 02-access.sql (ON CLUSTER); apply after 11-schema-cluster.sql.
-- Replace the CHANGE_ME passwords (or use another IDENTIFIED WITH method) before applying.
--
-- The service's user can INSERT and SELECT, nothing else: no ALTER (so no UPDATE/DELETE
-- mutations), no lightweight DELETE/UPDATE, no TRUNCATE, no DROP, no DDL at all. The
-- profile pins allow_ddl = 0 and disables lightweight deletes and updates as CONST, so a
-- session cannot turn them back on. Run the service with AUDIT_MIGRATE=false (the default
-- when CLICKHOUSE_URL is set): the schema comes from 01-schema.sql.

CREATE SETTINGS PROFILE IF NOT EXISTS warden_audit_locked ON CLUSTER '{cluster}'
  SETTINGS allow_ddl = 0 CONST,
           enable_lightweight_delete = 0 CONST,
           enable_lightweight_update = 0 CONST;

-- INSERT only: what the audit service writes with.
CREATE ROLE IF NOT EXISTS warden_audit_writer ON CLUSTER '{cluster}';
GRANT ON CLUSTER '{cluster}' INSERT ON warden_audit.events TO warden_audit_writer;
GRANT ON CLUSTER '{cluster}' INSERT ON warden_audit.checkpoints TO warden_audit_writer;
GRANT ON CLUSTER '{cluster}' INSERT ON warden_audit.producer_keys TO warden_audit_writer;

-- SELECT only: SREs, dashboards, and the service's reads.
CREATE ROLE IF NOT EXISTS warden_audit_reader ON CLUSTER '{cluster}';
GRANT ON CLUSTER '{cluster}' SELECT ON warden_audit.* TO warden_audit_reader;

CREATE USER IF NOT EXISTS warden_audit_service ON CLUSTER '{cluster}'
  IDENTIFIED WITH sha256_password BY 'CHANGE_ME'
  SETTINGS PROFILE 'warden_audit_locked';
GRANT ON CLUSTER '{cluster}' warden_audit_writer, warden_audit_reader TO warden_audit_service;
ALTER USER warden_audit_service ON CLUSTER '{cluster}' DEFAULT ROLE warden_audit_writer, warden_audit_reader;

-- Read-only SQL access for SREs (see docs/audit.md for ready queries).
CREATE USER IF NOT EXISTS warden_audit_sre ON CLUSTER '{cluster}'
  IDENTIFIED WITH sha256_password BY 'CHANGE_ME'
  SETTINGS PROFILE 'warden_audit_locked';
GRANT ON CLUSTER '{cluster}' warden_audit_reader TO warden_audit_sre;
ALTER USER warden_audit_sre ON CLUSTER '{cluster}' DEFAULT ROLE warden_audit_reader;
