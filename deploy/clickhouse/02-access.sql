-- Warden audit: access control (single node). Apply as an administrator after 01-schema.sql.
-- Replace the CHANGE_ME passwords (or use another IDENTIFIED WITH method) before applying.
--
-- The service's user can INSERT and SELECT, nothing else: no ALTER (so no UPDATE/DELETE
-- mutations), no lightweight DELETE/UPDATE, no TRUNCATE, no DROP, no DDL at all. The
-- profile pins allow_ddl = 0 and disables lightweight deletes and updates as CONST, so a
-- session cannot turn them back on. Run the service with AUDIT_MIGRATE=false (the default
-- when CLICKHOUSE_URL is set): the schema comes from 01-schema.sql.

CREATE SETTINGS PROFILE IF NOT EXISTS warden_audit_locked
  SETTINGS allow_ddl = 0 CONST,
           enable_lightweight_delete = 0 CONST,
           enable_lightweight_update = 0 CONST;

-- INSERT only: what the audit service writes with.
CREATE ROLE IF NOT EXISTS warden_audit_writer;
GRANT INSERT ON warden_audit.events TO warden_audit_writer;
GRANT INSERT ON warden_audit.checkpoints TO warden_audit_writer;
GRANT INSERT ON warden_audit.producer_keys TO warden_audit_writer;

-- SELECT only: SREs, dashboards, and the service's reads.
CREATE ROLE IF NOT EXISTS warden_audit_reader;
GRANT SELECT ON warden_audit.* TO warden_audit_reader;

CREATE USER IF NOT EXISTS warden_audit_service
  IDENTIFIED WITH sha256_password BY 'CHANGE_ME'
  SETTINGS PROFILE 'warden_audit_locked';
GRANT warden_audit_writer, warden_audit_reader TO warden_audit_service;
ALTER USER warden_audit_service DEFAULT ROLE warden_audit_writer, warden_audit_reader;

-- Read-only SQL access for SREs (see docs/audit.md for ready queries).
CREATE USER IF NOT EXISTS warden_audit_sre
  IDENTIFIED WITH sha256_password BY 'CHANGE_ME'
  SETTINGS PROFILE 'warden_audit_locked';
GRANT warden_audit_reader TO warden_audit_sre;
ALTER USER warden_audit_sre DEFAULT ROLE warden_audit_reader;
