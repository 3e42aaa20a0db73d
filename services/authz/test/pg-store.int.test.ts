/** The Postgres adapter: idempotent writes, revisions, changelog + outbox in the same transaction, revocation, indexed reads. */
import { TRUSTED_LOCAL } from '../src/domain/caller.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../src/usecases/check.js';
import { parseWorld } from '../src/domain/world.js';
import { PgGrantStore, UNIT_FILL_SQL, VIEW_SQL } from '../src/adapters/postgres/pg-grant-store.js';
import { withWrite } from '../src/adapters/postgres/pg-writer.js';
import { applyWorld, deleteBinding } from '../src/adapters/postgres/pg-grant-writer.js';
import { migrate, MIGRATIONS } from '../src/adapters/postgres/migrations.js';
import { loadAcme } from './acme-scenario.js';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const count = async (table: string) => Number((await db.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

describe('PgGrantStore and the writer', () => {
  it('migrations are idempotent', async () => {
    expect(await migrate(db.pool)).toEqual([]);
  });

  it('applying a world records every change with its audit event, once', async () => {
    const world = parseWorld(loadAcme());
    const first = await applyWorld(db.pool, world, { actor: 'user:olivia@acme.com', reason: 'seed' });
    expect(first.revision).toBe(1);
    expect(first.changes.length).toBe(world.resources.length + world.roles.length + world.memberships.length + world.bindings.length);
    expect(await count('changelog')).toBe(first.changes.length);
    expect(await count('outbox')).toBe(first.changes.length);
    const { rows } = await db.pool.query(`SELECT event FROM outbox WHERE event->>'action' = 'binding.created' AND event->'after'->>'subject' = 'user:sarah@acme.com' AND event->'after'->>'role' = 'release_manager'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].event).toMatchObject({
      actor: { type: 'user', id: 'olivia@acme.com' },
      resource: 'org:acme/project:checkout/env:production',
      before: null,
      reason: 'seed',
      revision: 1,
    });
    expect(rows[0].event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);

    const again = await applyWorld(db.pool, world, { actor: 'user:olivia@acme.com', reason: 'seed again' });
    expect(again).toEqual({ revision: 1, changes: [] });
    expect(await count('changelog')).toBe(first.changes.length);
    expect(await new PgGrantStore(db.pool).revision()).toBe(1);
  });

  it('every changelog row names its audit event (the outbox id), and migration 8 backfills older rows', async () => {
    const pairs = `SELECT c.revision, c.seq, c.event_id::text AS event_id, o.id::text AS outbox_id FROM changelog c
      LEFT JOIN outbox o ON o.id = c.event_id AND o.event->>'action' = c.kind AND o.event->>'key' = c.key AND (o.event->>'revision')::bigint = c.revision
      ORDER BY c.revision, c.seq`;
    const written = (await db.pool.query<{ event_id: string | null; outbox_id: string | null }>(pairs)).rows;
    expect(written.length).toBeGreaterThan(0);
    expect(written.every((r) => r.event_id !== null && r.event_id === r.outbox_id)).toBe(true);
    expect(new Set(written.map((r) => r.event_id)).size).toBe(written.length);
    // Rows from before the column: the backfill finds each one's outbox row by revision, kind and key.
    await db.pool.query('UPDATE changelog SET event_id = NULL');
    const backfill = MIGRATIONS.find((m) => m.version === 8)!.sql.replace(/ALTER TABLE changelog ADD COLUMN event_id uuid;/, '');
    await db.pool.query(backfill);
    expect((await db.pool.query<{ event_id: string | null; outbox_id: string | null }>(pairs)).rows).toEqual(written);
  });

  it('an update records before and after and bumps the revision by one', async () => {
    const file = loadAcme();
    const staging = file.orgs[0]!.projects!.find((p) => p.id === 'checkout')!.environments!.find((e) => e.id === 'staging')!;
    staging.show_values_to_readers = true;
    const result = await applyWorld(db.pool, parseWorld(file), { actor: 'user:adam@acme.com', reason: 'show values' });
    expect(result.revision).toBe(2);
    expect(result.changes, JSON.stringify(result.changes)).toHaveLength(1);
    expect(result.changes[0]).toMatchObject({
      kind: 'resource.updated',
      key: 'org:acme/project:checkout/env:staging',
      before: { show_values_to_readers: false },
      after: { show_values_to_readers: true },
    });
  });

  it('a failed write leaves no change, no changelog, no outbox event and the same revision', async () => {
    const before = { changelog: await count('changelog'), outbox: await count('outbox'), bindings: await count('bindings') };
    await expect(
      withWrite(db.pool, { actor: 'user:adam@acme.com' }, async ({ client, record, revision }) => {
        await client.query(`DELETE FROM bindings WHERE subject = 'user:sam@acme.com'`);
        record({ kind: 'binding.deleted', key: 'x', resource: 'org:acme', before: {}, after: null });
        void revision;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect({ changelog: await count('changelog'), outbox: await count('outbox'), bindings: await count('bindings') }).toEqual(before);
    expect(await new PgGrantStore(db.pool).revision()).toBe(2);
  });

  it("a world of another organization names its own groups: acme's group of the same name is untouched", async () => {
    const intruder = parseWorld({
      orgs: [{ id: 'globex', groups: [{ id: 'release-managers', members: ['user:mallory@globex.com'] }], bindings: [{ subject: 'user:mallory@globex.com', role: 'owner' }] }],
    });
    await applyWorld(db.pool, intruder, { actor: 'user:mallory@globex.com' });
    const { rows } = await db.pool.query(`SELECT org FROM group_members WHERE group_subject = 'group:release-managers' AND member = 'user:mallory@globex.com'`);
    expect(rows).toEqual([{ org: 'globex' }]);
    // In acme, mallory is in no group: the production release managers' binding does not reach her.
    const authorizer = createAuthorizer({ source: new PgGrantStore(db.pool) });
    const enable = await authorizer.check(TRUSTED_LOCAL, { subject: 'user:mallory@globex.com', action: 'flags:enable', resource: 'org:acme/project:checkout/env:production/flag:f' });
    expect(enable.decision).toBe('DENY');
  });

  it('revoking a binding takes effect at the next revision', async () => {
    const authorizer = createAuthorizer({ source: new PgGrantStore(db.pool) });
    const input = { subject: 'user:sam@acme.com', action: 'variables:write', resource: 'org:acme/project:checkout/env:staging/variable:X' };
    const allowed = await authorizer.check(TRUSTED_LOCAL, input);
    expect(allowed.decision).toBe('ALLOW');
    const revoked = await deleteBinding(db.pool, allowed.reason.binding!.id, { actor: 'user:adam@acme.com', reason: 'left the team' });
    expect(revoked.revision).toBe(allowed.revision + 1);
    expect(revoked.changes[0]).toMatchObject({ kind: 'binding.deleted', before: { subject: 'user:sam@acme.com', role: 'env_writer' }, after: null });
    const denied = await authorizer.check(TRUSTED_LOCAL, input, { consistency: { kind: 'at_least_revision', revision: revoked.revision } });
    expect(denied).toMatchObject({ decision: 'DENY', revision: revoked.revision, reason: { code: 'NO_BINDING' } });
  });

  it('refuses a revision newer than any committed one', async () => {
    const authorizer = createAuthorizer({ source: new PgGrantStore(db.pool) });
    await expect(authorizer.check(TRUSTED_LOCAL, { subject: 'user:a', action: 'flags:read', resource: 'org:acme' }, { consistency: { kind: 'at_least_revision', revision: 10_000 } })).rejects.toThrow(
      /consistency.at_least_revision: revision 10000 is newer/,
    );
  });

  /** The tables a statement's plan scans, and how, with sequential scans forbidden (tiny tables make them cheapest). */
  async function scansOf(sql: string, params: unknown[]): Promise<Array<{ relation: string; node: string; index?: string }>> {
    const client = await db.pool.connect();
    try {
      // Tiny tables make a seq scan cheapest; forbid it to see which index paths exist for the query.
      await client.query('SET enable_seqscan = off');
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      const scans: Array<{ relation: string; node: string; index?: string }> = [];
      const walk = (node: Record<string, unknown>) => {
        if (typeof node['Relation Name'] === 'string') {
          scans.push({ relation: node['Relation Name'], node: node['Node Type'] as string, ...(node['Index Name'] ? { index: node['Index Name'] as string } : {}) });
        }
        for (const child of (node['Plans'] as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
      };
      walk(rows[0]['QUERY PLAN'][0]['Plan']);
      return scans;
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  }

  it('the Check read uses the indexes (no sequential scan of bindings or group_members)', async () => {
    const scans = await scansOf(VIEW_SQL, [
      ['user:sarah@acme.com'],
      ['org:acme', 'org:acme/project:checkout', 'org:acme/project:checkout/env:production'],
    ]);
    const tables = ['bindings', 'group_members', 'roles', 'resources', 'org_catalogues', 'directory'];
    expect(new Set(scans.map((s) => s.relation))).toEqual(new Set([...tables, 'warden_revision']));
    for (const scan of scans.filter((s) => tables.includes(s.relation))) {
      expect(scan.node, JSON.stringify(scan)).not.toBe('Seq Scan');
    }
  });

  it("the cache's unit fill (the same view statement, per unit) uses the indexes too", async () => {
    const scans = await scansOf(UNIT_FILL_SQL, [['user:sarah@acme.com'], ['org:acme', 'org:acme/project:checkout'], ['acme'], 0]);
    const tables = ['bindings', 'group_members', 'roles', 'resources', 'org_catalogues', 'directory', 'changelog'];
    expect(new Set(scans.map((s) => s.relation))).toEqual(new Set([...tables, 'warden_revision']));
    for (const scan of scans.filter((s) => tables.includes(s.relation))) {
      expect(scan.node, JSON.stringify(scan)).not.toBe('Seq Scan');
    }
  });
});
