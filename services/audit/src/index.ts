/**
 * @warden/audit — the audit service. Producers and verifiers use @warden/audit-events; this
 * package is the service itself (`@warden/audit/service`) and its command line.
 */
export { startAuditApp, loadConfig, type AuditApp } from './service.js';
