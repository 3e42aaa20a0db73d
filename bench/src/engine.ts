/**
 * `npm run bench:engine`: the in-process numbers of `npm run bench` without the servers
 * (about a minute): the engine's ns per decision over the cache's own views, a whole cached
 * Check without transport, and the heap the in-process cache takes for the whole world.
 * Every timed answer is checked against the brute-force oracle.
 *
 * Usage: npm run bench:engine [-- --quick] [--subjects N --projects N --bindings N]
 * Env: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { parseArgs } from 'node:util';
import { parseWorld } from '@warden/authz';
import { createBenchDatabase } from './database.js';
import { measureInProcess } from './in-process.js';
import { generateChecks, generateWorld, worldFromArgs } from './world.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    subjects: { type: 'string' },
    projects: { type: 'string' },
    bindings: { type: 'string' },
  },
});
const options = worldFromArgs(values);
const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (message: string) => process.stderr.write(`[bench:engine] ${message}\n`);

async function main(): Promise<void> {
  const world = generateWorld(options);
  const parsed = parseWorld(world.file);
  log(`world: ${world.users.length} users, ${world.groups.length} groups, ${options.projects} projects × 3 environments, ${world.bindingCount} bindings`);
  const db = await createBenchDatabase(PG_URL, parsed);
  try {
    log(`loaded into Postgres in ${db.loadSeconds.toFixed(1)} s (revision ${db.revision})`);
    const checks = generateChecks(world, 20_000, 7);
    const r = await measureInProcess({ pool: db.pool, databaseUrl: db.url, keyPrefix: 'warden-bench-engine:', world, parsed, checks, quick: values.quick, log });
    const f = (n: number | undefined, d: number) => (n === undefined ? 'not measured' : n.toFixed(d));
    process.stdout.write(
      [
        '',
        '| measure | goal | measured |',
        '|---|---|---|',
        `| engine: decide over the cached view (median of ${r.engineRoundsNs.length} rounds) | ≤ 5 µs | ${f(r.engineNs / 1000, 2)} µs |`,
        '| whole cached Check without transport (validate + assemble view + decide) | — | ' + `${f(r.checkNs / 1000, 2)} µs |`,
        `| heap of the in-process cache holding the whole world (${r.cacheUnits} units), after GC | — | ${f(r.cacheHeapMiB, 1)} MiB (estimate ${f(r.cacheEstimateMiB, 1)} MiB) |`,
        '',
      ].join('\n') + '\n',
    );
  } finally {
    await db.drop();
  }
}

main().catch((error: unknown) => {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
