/**
 * The in-process half of the benchmark: the engine over the cache's own views, a whole
 * cached Check without transport, and the heap the cache takes for the whole world.
 * Shared by `npm run bench` and `npm run bench:engine` (the same numbers, without servers).
 */
import {
  CachedGrantSource,
  createAuthorizer,
  createMemoryGrantView,
  decide,
  parseAction,
  parseResource,
  type Decision,
  type World,
  TRUSTED_LOCAL,
} from '@warden/authz';
import type pg from 'pg';
import type { BenchCheck, GeneratedWorld } from './world.js';

export interface InProcessResult {
  /** Median over rounds of ns per `decide` over a cache view (the engine alone). */
  readonly engineNs: number;
  readonly engineRoundsNs: readonly number[];
  /** ns per `authorizer.check` answered from the in-process layer (validate + assemble view + decide). */
  readonly checkNs: number;
  /** The oracle's answers for every check, in order. */
  readonly expected: readonly Decision[];
  /** Heap (after full GC) the in-process layer takes holding the whole world. */
  readonly cacheHeapMiB: number | undefined;
  readonly cacheUnits: number;
  /** The cache's own estimate of its size, in MiB. */
  readonly cacheEstimateMiB: number;
}

interface Options {
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly keyPrefix: string;
  readonly world: GeneratedWorld;
  readonly parsed: World;
  readonly checks: readonly BenchCheck[];
  readonly quick: boolean;
  readonly log: (message: string) => void;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function measureInProcess({ pool, databaseUrl, keyPrefix, world, parsed, checks, quick, log }: Options): Promise<InProcessResult> {
  const now = Date.now();
  const gc = (globalThis as { gc?: () => void }).gc;
  const inProcess = new CachedGrantSource({ pool, databaseUrl, keyPrefix });
  await inProcess.start();
  try {
    const parsedChecks = checks.map((c) => ({ subject: c.subject, action: parseAction(c.action), resource: parseResource(c.resource) }));
    // Warm the in-process layer in batches (one fill each), then one view per check, as a
    // replica builds it for a Check (small arrays, like production).
    const viewed = Math.min(5000, parsedChecks.length);
    for (let s = 0; s < viewed; s += 1000) await inProcess.view(parsedChecks.slice(s, s + 1000).map((c) => ({ subject: c.subject, resource: c.resource })));
    const perCheck: Array<{ view: Awaited<ReturnType<CachedGrantSource['view']>>; check: (typeof parsedChecks)[number] }> = [];
    for (const c of parsedChecks.slice(0, viewed)) perCheck.push({ view: await inProcess.view([{ subject: c.subject, resource: c.resource }]), check: c });

    // Timed before the oracle runs in this process: a replica's `decide` only ever sees the
    // cache's views, and the oracle's (another view shape) would make the engine's call sites
    // polymorphic here and not in a replica (≈ 1.5-2× slower when measured).
    const engineN = quick ? 100_000 : 300_000;
    const timeEngine = () => {
      const e0 = process.hrtime.bigint();
      for (let i = 0; i < engineN; i++) {
        const { view, check } = perCheck[i % perCheck.length]!;
        decide(view, check, now);
      }
      return Number(process.hrtime.bigint() - e0) / engineN;
    };
    timeEngine();
    const engineRoundsNs = Array.from({ length: 5 }, timeEngine);
    const engineNs = median(engineRoundsNs);

    // The brute-force oracle: every answer is checked against it, the timed views first.
    const oracle = createMemoryGrantView(parsed);
    const expected = parsedChecks.map((c) => decide(oracle, c, now));
    const engineWrong = perCheck.filter(({ view, check }, i) => decide(view, check, now).decision !== expected[i]!.decision).length;
    if (engineWrong > 0) throw new Error(`${engineWrong} wrong answers from the in-process cached view`);

    const authorizer = createAuthorizer({ source: inProcess });
    const timeCheck = async (n: number) => {
      const c0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        // Let timers run (the cache's heartbeat), as a server's I/O would.
        if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
        const got = await authorizer.check(TRUSTED_LOCAL, checks[i % checks.length]!);
        if (i < checks.length && got.decision !== expected[i]!.decision) throw new Error(`wrong answer from the cached Check for ${JSON.stringify(checks[i])}`);
      }
      return Number(process.hrtime.bigint() - c0) / n;
    };
    await timeCheck(Math.max(20_000, checks.length));
    const checkNs = await timeCheck(quick ? 50_000 : 150_000);
    perCheck.length = 0;

    // The heap the cached grant graph takes for the whole world (every user on each of its
    // projects): heap after a full GC with the world cached, less the heap after a full GC
    // with the in-process layer emptied, everything else alive in both.
    let cacheHeapMiB: number | undefined;
    const all = world.users.flatMap((user) => {
      const h = world.home.get(user)!;
      return (h.projects.length > 0 ? h.projects : ['p0']).map((p) => ({ subject: user, resource: parseResource(`org:${h.org}/project:${p}/env:production/flag:f0`) }));
    });
    for (let s = 0; s < all.length; s += 2000) await inProcess.view(all.slice(s, s + 2000));
    const stats = inProcess.stats();
    if (gc !== undefined) {
      gc();
      const full = process.memoryUsage().heapUsed;
      inProcess.clearLocal();
      gc();
      cacheHeapMiB = (full - process.memoryUsage().heapUsed) / 1024 / 1024;
    }
    log(
      `in-process cache for the whole world: ${stats.localEntries} units, ` +
        (cacheHeapMiB === undefined ? 'heap not measured (run node with --expose-gc)' : `heap ${cacheHeapMiB.toFixed(1)} MiB after GC`) +
        ` (its own estimate: ${(stats.localBytes / 1024 / 1024).toFixed(1)} MiB)`,
    );
    log(`in-process: engine ${engineNs.toFixed(0)} ns per decision (rounds ${engineRoundsNs.map((n) => n.toFixed(0)).join(', ')}); whole cached Check ${checkNs.toFixed(0)} ns`);
    return { engineNs, engineRoundsNs, checkNs, expected, cacheHeapMiB, cacheUnits: stats.localEntries, cacheEstimateMiB: stats.localBytes / 1024 / 1024 };
  } finally {
    await inProcess.close();
  }
}
