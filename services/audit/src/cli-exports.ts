/** @warden/audit/cli — the commander command, to mount as `warden audit`. */
export { createAuditCommand, formatTimelineLine, verifyExportFile, type CliIo } from './cli.js';
