import { describe } from 'vitest';
import { ServerDriver } from '../src/adapters/stores/clickhouse/server-driver.js';
import { auditLogSuite } from './support/audit-log-suite.js';

const url = process.env.CLICKHOUSE_URL;

// The same suite as audit-log.int.test.ts, run through @clickhouse/client against a
// ClickHouse server. No server can be installed on the development machine: without
// CLICKHOUSE_URL these tests are reported as skipped (not passed). chdb runs the same
// SQL text and is the real-engine proof that always runs.
describe.runIf(url !== undefined)(`audit log on a ClickHouse server (${url ?? 'skipped: CLICKHOUSE_URL not set'})`, () => {
  auditLogSuite(() => new ServerDriver({ url: url! }));
});
