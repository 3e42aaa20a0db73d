/**
 * deploy/clickhouse: the server DDL is the service's own SQL text, every
 * statement parses in the ClickHouse engine (chdb 26.7), the single-node schema
 * applies and works, and the service's SQL never mutates or drops anything.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as sql from '../src/adapters/stores/sql.js';
import { ClickHouseAuditStore } from '../src/adapters/stores/clickhouse-audit-store.js';
import { chdbDriver, sharedDriver } from './support/chdb.js';

const deploy = join(import.meta.dirname, '..', '..', '..', 'deploy', 'clickhouse');
const statements = (file: string) =>
  readFileSync(join(deploy, file), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');

describe('deploy/clickhouse DDL', () => {
  it('01-schema.sql is the service DDL with the database name filled in', () => {
    const fill = (text: string) => text.replaceAll('{db:Identifier}', 'warden_audit');
    expect(statements('01-schema.sql')).toEqual(
      [sql.CREATE_DATABASE, sql.createEventsTable(undefined), sql.CREATE_CHECKPOINTS_TABLE, sql.CREATE_PRODUCER_KEYS_TABLE].map(fill),
    );
  });

  it('every statement of every file parses in the ClickHouse engine', async () => {
    const files = readdirSync(deploy).filter((f) => f.endsWith('.sql'));
    expect(files.sort()).toEqual(['01-schema.sql', '02-access.sql', '11-schema-cluster.sql', '12-access-cluster.sql']);
    for (const file of files) {
      for (const statement of statements(file)) {
        await expect(chdbDriver().unsafeRaw(`EXPLAIN AST ${statement}`), `${file}: ${statement.slice(0, 60)}`).resolves.toBeTypeOf('string');
      }
    }
  });

  it('the access files grant INSERT and SELECT only, and pin the locked profile', () => {
    for (const file of ['02-access.sql', '12-access-cluster.sql']) {
      const grants = statements(file).filter((s) => s.startsWith('GRANT') && / ON warden_audit\./.test(s));
      expect(grants.length).toBeGreaterThan(0);
      for (const g of grants) expect(g).toMatch(/^GRANT (ON CLUSTER '\{cluster\}' )?(INSERT|SELECT) ON warden_audit\./);
      const profile = statements(file).find((s) => s.startsWith('CREATE SETTINGS PROFILE'))!;
      for (const setting of ['allow_ddl = 0 CONST', 'enable_lightweight_delete = 0 CONST', 'enable_lightweight_update = 0 CONST']) expect(profile).toContain(setting);
    }
    expect(readFileSync(join(deploy, '11-schema-cluster.sql'), 'utf8')).not.toMatch(/ENGINE = (Replacing|Collapsing|VersionedCollapsing|Summing|Aggregating)/);
  });

  it('the single-node schema applies, and the store works on it without migrating', async () => {
    for (const statement of statements('01-schema.sql')) await chdbDriver().unsafeRaw(statement);
    const store = new ClickHouseAuditStore({ driver: sharedDriver(chdbDriver()), database: 'warden_audit' });
    expect(await store.heads()).toEqual([]);
    expect(await store.keyEvents()).toEqual([]);
  });

  it('the service SQL text never updates, deletes, alters, truncates or drops', () => {
    const texts = Object.values(sql).flatMap((v) => (typeof v === 'string' ? [v] : []));
    texts.push(sql.createEventsTable(30));
    for (const flags of [false, true]) {
      texts.push(sql.timelineQuery({ project: flags, environment: flags, resource: flags, resourcePrefix: flags, actor: flags, actions: flags, since: flags, until: flags, cursor: flags, newestFirst: flags }));
    }
    for (const text of texts) expect(text).not.toMatch(/\b(ALTER|DELETE|UPDATE|TRUNCATE|DROP|RENAME|OPTIMIZE)\b/i);
    expect(sql.createEventsTable(undefined)).toMatch(/ENGINE = MergeTree\n/);
    expect(sql.createEventsTable(30)).toContain('signature String TTL toDateTime(logged_at) + INTERVAL 30 DAY');
  });
});
