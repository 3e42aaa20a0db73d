/**
 * @warden/audit/service — the audit service for composition by other packages
 * (e.g. the one-command startup). Loads chdb and gRPC.
 */
export { AuditLog, type AppendInput, type AppendOutcome, type AuditLogOptions, type RefusalReason } from './usecases/audit-log.js';
export { loadConfig, ConfigError, type Config } from './config.js';
export { startAuditApp, type AuditApp, type AppOverrides } from './app.js';
export { AuthzIdentity } from './adapters/authz/authz-identity.js';
