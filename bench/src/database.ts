/** A fresh database on a real Postgres with the generated world written through Warden's own writer. */
import { applyWorld, migrate, type World } from '@warden/authz';
import { createDatabase } from '@warden/testkit';
import type pg from 'pg';

export interface BenchDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  readonly revision: number;
  readonly loadSeconds: number;
  drop(): Promise<void>;
}

export async function createBenchDatabase(serverUrl: string, world: World): Promise<BenchDatabase> {
  const db = await createDatabase({ adminUrl: serverUrl, prefix: 'warden_bench_', poolMax: 4 });
  try {
    const t = performance.now();
    await migrate(db.pool);
    const written = await applyWorld(db.pool, world, { actor: 'system:bench', reason: 'benchmark world' });
    return { url: db.url, pool: db.pool, revision: written.revision, loadSeconds: (performance.now() - t) / 1000, drop: () => db.drop().catch(() => undefined) };
  } catch (error) {
    await db.drop();
    throw error;
  }
}
