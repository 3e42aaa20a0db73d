/**
 * One chdb data directory per test process (vitest forks one process per
 * file); each suite gets its own ClickHouse database inside it.
 */
import { join } from 'node:path';
import { ChdbDriver } from '../../src/adapters/stores/chdb/chdb-driver.js';
import { ClickHouseAuditStore } from '../../src/adapters/stores/clickhouse-audit-store.js';
import type { ClickHouseDriver } from '../../src/adapters/stores/driver.js';
import { tempDir } from './temp.js';

let shared: ChdbDriver | undefined;

export function chdbDriver(): ChdbDriver {
  shared ??= ChdbDriver.open(tempDir('warden-audit-chdb'));
  return shared;
}

/** A driver whose close() leaves the process-wide chdb session open. */
export function sharedDriver(driver: ClickHouseDriver): ClickHouseDriver {
  return {
    query: (sql, params, options) => driver.query(sql, params, options),
    command: (sql, params) => driver.command(sql, params),
    insert: (database, table, rows, settings) => driver.insert(database, table, rows, settings),
    insertCompactRows: (database, table, columns, text, settings) => driver.insertCompactRows(database, table, columns, text, settings),
    close: async () => undefined,
  };
}

let counter = 0;

export async function freshStore(driver: ClickHouseDriver, label: string, options: { payloadTtlDays?: number } = {}): Promise<ClickHouseAuditStore> {
  counter += 1;
  const database = `t_${label}_${process.pid}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
  const store = new ClickHouseAuditStore({ driver: sharedDriver(driver), database, scanPageSize: 7 });
  await store.migrate(options);
  return store;
}
