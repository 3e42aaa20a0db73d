/** A fresh database on a real Postgres with the generated world written through Warden's own writer. */
import { applyWorld, migrate, type World } from '@warden/authz';
import pg from 'pg';

export interface BenchDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  readonly revision: number;
  readonly loadSeconds: number;
  drop(): Promise<void>;
}

export async function createBenchDatabase(serverUrl: string, world: World): Promise<BenchDatabase> {
  const name = `warden_bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  // The name is ours (pid and time in base 36), never input: safe to splice into DDL.
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  const drop = async () => {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  };
  try {
    const t = performance.now();
    await migrate(pool);
    const written = await applyWorld(pool, world, { actor: 'system:bench', reason: 'benchmark world' });
    return { url: url.toString(), pool, revision: written.revision, loadSeconds: (performance.now() - t) / 1000, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}
