/**
 * @warden/cli — the `warden` command (bin `warden`, dist/warden.js): a client of the authz and
 * audit services over gRPC. Imports no service: what it needs offline (verify, the export
 * format) comes from @warden/audit-events.
 */
export { createProgram } from './program.js';
export { EXIT } from './connection.js';
export { describeEffect } from './plan.js';
export { createAuditCommand, formatTimelineLine, verifyExportFile, type CliIo } from './audit.js';
