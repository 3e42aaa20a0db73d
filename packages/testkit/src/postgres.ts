/**
 * Databases of the tests' own on the machine's Postgres (WARDEN_TEST_PG_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres). A run migrates one template database
 * (`createTemplateDatabase`, with the service's own migrate function: testkit imports no
 * service); each test file then gets a copy (`CREATE DATABASE … TEMPLATE …`), or an empty
 * database for tests whose process migrates it itself. An unreachable server fails loudly
 * with the URL and how to set it: a test that needs Postgres never skips.
 *
 * Invariant: every name spliced into DDL is made here from a checked prefix and random
 * hex, never taken from input.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The admin URL of the tests' Postgres: WARDEN_TEST_PG_URL, else the local default. */
export function pgAdminUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const url = env['WARDEN_TEST_PG_URL'];
  return url === undefined || url === '' ? DEFAULT_PG_URL : url;
}

/** The URL of database `name` on the server of `serverUrl`. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Migrates the database behind `pool` (authz's `migrate`, passed in by the package that owns it). */
export type Migrate = (pool: pg.Pool) => Promise<unknown>;

const PREFIX = /^[a-z_][a-z0-9_]{0,39}$/;
const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function newName(prefix: string): string {
  if (!PREFIX.test(prefix)) throw new Error(`database name prefix ${JSON.stringify(prefix)}: lower-case letters, digits and _ only, at most 40`);
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

/** Runs `work` on a connection to the admin database; an unreachable server is a clear error. */
export async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `the tests need a real Postgres at ${adminUrl} (set WARDEN_TEST_PG_URL; .ci/run starts one): ${(error as Error).message}`,
      { cause: error },
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export interface TemplateDatabase {
  readonly name: string;
  readonly adminUrl: string;
  drop(): Promise<void>;
}

/** Creates a database and migrates it with `migrate`: the template each test file's database copies. */
export async function createTemplateDatabase(migrate: Migrate, options: { adminUrl?: string; prefix?: string } = {}): Promise<TemplateDatabase> {
  const adminUrl = options.adminUrl ?? pgAdminUrl();
  const name = newName(options.prefix ?? 'warden_tpl_');
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const pool = new pg.Pool({ connectionString: databaseUrl(adminUrl, name), max: 1 });
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end();
    await dropDatabase(adminUrl, name);
    throw error;
  } finally {
    if (!pool.ended) await pool.end();
  }
  return { name, adminUrl, drop: () => dropDatabase(adminUrl, name) };
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly pool: pg.Pool;
  /** Ends the pool and drops the database (connections still open are terminated). */
  drop(): Promise<void>;
}

export interface DatabaseOptions {
  /** Copy this (migrated) template; without it the database is empty, for a process that migrates it itself. */
  readonly template?: string | undefined;
  /** @defaultValue pgAdminUrl() */
  readonly adminUrl?: string | undefined;
  /** The database name's prefix (lower-case, digits, _). @defaultValue 'warden_test_' */
  readonly prefix?: string | undefined;
  /** The size of the returned pool. @defaultValue 5 */
  readonly poolMax?: number | undefined;
}

/** A fresh database of the caller's own, dropped by `drop()`. */
export async function createDatabase(options: DatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? pgAdminUrl();
  const name = newName(options.prefix ?? 'warden_test_');
  const template = options.template;
  if (template !== undefined && !NAME.test(template)) throw new Error(`template ${JSON.stringify(template)}: not a database name`);
  await withAdmin(adminUrl, (client) => client.query(template === undefined ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${template}`));
  const url = databaseUrl(adminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: options.poolMax ?? 5 });
  // An idle client the server drops (drop() terminates every connection, and a slow teardown
  // may still hold one) makes the pool emit 'error'; unhandled, that would crash the test
  // process. Failed queries still reject where they are awaited.
  pool.on('error', () => undefined);
  return {
    name,
    url,
    pool,
    async drop() {
      if (!pool.ended) await pool.end();
      await dropDatabase(adminUrl, name);
    },
  };
}
