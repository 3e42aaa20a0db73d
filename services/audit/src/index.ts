/**
 * @warden/audit — the audit service package. What producers, auditors and the CLI
 * share lives in @warden/audit-events; the service itself is `@warden/audit/service`,
 * the CLI `@warden/audit/cli`. Left here until @warden/service-kit takes it: the
 * helper that makes instruments on the registered MeterProvider (authz and the Node
 * SDK use it).
 */
export { perMeterProvider } from './meter-provider.js';
