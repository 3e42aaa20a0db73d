/** Template databases on the machine's real Postgres (WARDEN_TEST_PG_URL). */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, createTemplateDatabase, databaseUrl, pgAdminUrl, withAdmin, type TemplateDatabase } from './postgres.js';

const exists = (name: string) =>
  withAdmin(pgAdminUrl(), async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);

let template: TemplateDatabase | undefined;
afterAll(async () => {
  await template?.drop();
});

describe('template databases', () => {
  it('migrates a template once; each copy starts from it and is its own', async () => {
    let migrations = 0;
    template = await createTemplateDatabase(async (pool) => {
      migrations++;
      await pool.query('CREATE TABLE seen (id int PRIMARY KEY)');
      await pool.query('INSERT INTO seen VALUES (1)');
    });
    expect(template.name).toMatch(/^warden_tpl_[0-9a-f]{12}$/);
    const a = await createDatabase({ template: template.name });
    const b = await createDatabase({ template: template.name, prefix: 'warden_other_' });
    expect(b.name).toMatch(/^warden_other_[0-9a-f]{12}$/);
    expect(b.url).toBe(databaseUrl(pgAdminUrl(), b.name));
    await a.pool.query('INSERT INTO seen VALUES (2)');
    expect((await a.pool.query('SELECT id FROM seen ORDER BY id')).rows).toEqual([{ id: 1 }, { id: 2 }]);
    expect((await b.pool.query('SELECT id FROM seen ORDER BY id')).rows).toEqual([{ id: 1 }]);
    expect(migrations).toBe(1);
    await a.drop();
    await b.drop();
    expect(await exists(a.name)).toBe(false);
    expect(await exists(template.name)).toBe(true);
  });

  it('makes an empty database without a template', async () => {
    const db = await createDatabase();
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    expect(rows[0].n).toBe(0);
    // drop() terminates connections still open.
    const other = new pg.Client({ connectionString: db.url });
    other.on('error', () => undefined);
    await other.connect();
    await db.drop();
    expect(await exists(db.name)).toBe(false);
    await other.end().catch(() => undefined);
  });

  it('drops the template again when its migration fails', async () => {
    let name = '';
    await expect(
      createTemplateDatabase(async (pool) => {
        name = ((await pool.query('SELECT current_database() AS name')).rows[0] as { name: string }).name;
        throw new Error('migration 3 failed');
      }),
    ).rejects.toThrow('migration 3 failed');
    expect(name).toMatch(/^warden_tpl_/);
    expect(await exists(name)).toBe(false);
  });

  it('fails loudly, naming the URL and WARDEN_TEST_PG_URL, when no Postgres answers', async () => {
    await expect(createDatabase({ adminUrl: 'postgres://postgres@127.0.0.1:1/postgres' })).rejects.toThrow(
      /^the tests need a real Postgres at postgres:\/\/postgres@127\.0\.0\.1:1\/postgres \(set WARDEN_TEST_PG_URL; \.ci\/run starts one\): /,
    );
  });

  it('takes WARDEN_TEST_PG_URL when set, and refuses names it would not make', async () => {
    expect(pgAdminUrl({ WARDEN_TEST_PG_URL: 'postgres://u@db:6432/x' })).toBe('postgres://u@db:6432/x');
    expect(pgAdminUrl({})).toBe('postgres://postgres@127.0.0.1:5432/postgres');
    await expect(createDatabase({ prefix: 'Robert"; DROP' })).rejects.toThrow(/lower-case letters, digits and _ only/);
    await expect(createDatabase({ template: 'x; DROP DATABASE postgres' })).rejects.toThrow(/not a database name/);
  });
});
