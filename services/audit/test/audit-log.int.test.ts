import { describe } from 'vitest';
import { auditLogSuite } from './support/audit-log-suite.js';
import { chdbDriver } from './support/chdb.js';

describe('audit log on chdb (ClickHouse engine in-process)', () => {
  auditLogSuite(chdbDriver);
});
