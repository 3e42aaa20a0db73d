/**
 * `npm run bench`: Warden against the transport floor and against Cerbos, in one run.
 *
 *  1. Generates the world (default 10,000 subjects, 1,000 projects × 3 environments,
 *     100,000 bindings) and loads it into a fresh database on a real Postgres.
 *  2. Starts each server as its own child process: Warden replica A (in-process cache +
 *     Redis), Warden replica B (Redis only: AUTHZ_CACHE_MAX_ENTRIES=0), a null gRPC
 *     server answering a constant, and Cerbos with equivalent policies.
 *  3. Checks correctness before timing: a sample of checks against the brute-force
 *     oracle (the in-memory view over the same world) on A, B, CheckBatch and Cerbos.
 *  4. Closed-loop load at in-flight 1/16/64 (warm-up, then a fixed duration per round, the
 *     scenarios interleaved over --rounds rounds), with hdr-histogram latencies and the
 *     server process's CPU (/proc/<pid>/stat).
 *  5. In-process engine ns/decision and replica A's memory with the whole world cached.
 *
 * Usage: npm run bench [-- --quick] [--seconds N] [--warmup N] [--rounds N] [--in-flight 1,16,64] [--subjects N --projects N --bindings N] (--help: this)
 * Env: BENCH_PG_URL (default WARDEN_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default
 * WARDEN_TEST_REDIS_URL, else redis://127.0.0.1:6379).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GRPC as Cerbos } from '@cerbos/grpc';
import * as hdr from 'hdr-histogram-js';
import { Redis } from 'ioredis';
import { createChannel, createClient, type Channel } from 'nice-grpc';
import { parseWorld, type Decision } from '@warden/authz';
import { deleteKeys, eventually, freePorts, pgAdminUrl, readDockerfile, redisUrl, startProcess, type TestProcess } from '@warden/testkit';
import { AuthzServiceDefinition, Decision as PbDecision, type AuthzServiceClient, type CheckRequest } from '@warden/proto/authz/v1';
import { createBenchDatabase } from './database.js';
import { measureInProcess } from './in-process.js';
import { cerbosConfig, cerbosRequest, principalBindings, writeCerbosPolicies } from './cerbos-policy.js';
import { generateChecks, generateWorld, worldFromArgs, type BenchCheck } from './world.js';
import { measureManagement, type ManagementRow } from './management.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    subjects: { type: 'string' },
    projects: { type: 'string' },
    bindings: { type: 'string' },
    'in-flight': { type: 'string', default: '1,16,64' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'Usage: npm run bench [-- --quick] [--seconds N] [--warmup N] [--rounds N] [--in-flight 1,16,64] [--subjects N --projects N --bindings N]\n' +
      'Env: BENCH_PG_URL (default WARDEN_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default WARDEN_TEST_REDIS_URL, else redis://127.0.0.1:6379)\n',
  );
  process.exit(0);
}
const quick = values.quick;
const SECONDS = Number(values.seconds ?? (quick ? 1 : 3));
const WARMUP = Number(values.warmup ?? (quick ? 0.5 : 1));
const ROUNDS = Number(values.rounds ?? 3);
const IN_FLIGHT = values['in-flight'].split(',').map(Number);
const WORLD = worldFromArgs(values);
const PG_URL = process.env['BENCH_PG_URL'] ?? pgAdminUrl();
const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? redisUrl();
const require = createRequire(import.meta.url);
const AUTHZ_MAIN = path.join(path.dirname(require.resolve('@warden/authz')), 'main.js');
const NULL_SERVER = fileURLToPath(new URL('./null-server.js', import.meta.url));
const CERBOS_BIN = path.join(path.dirname(require.resolve('@cerbos/cerbos-linux-x64/package.json')), 'cerbos-linux-x64');
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
const CLK_TCK = 100;
/** Warden runs with the node options its image's CMD gives (deploy/authz.Dockerfile), as in production. */
function imageNodeFlags(): string[] {
  const command = readDockerfile(fileURLToPath(new URL('../../deploy/authz.Dockerfile', import.meta.url))).cmd;
  if (command[0] !== 'node' || command.at(-1) !== 'services/authz/dist/main.js') {
    throw new Error('deploy/authz.Dockerfile: expected CMD ["node", <options…>, "services/authz/dist/main.js"]');
  }
  return command.slice(1, -1);
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function cpuMicros(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat; after the command they are at 11 and 12.
  return ((Number(fields[11]) + Number(fields[12])) / CLK_TCK) * 1e6;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

const children: TestProcess[] = [];
let stopping = false;
function start(command: string, args: string[], env: Record<string, string> = {}): TestProcess {
  const proc = startProcess(command, args, { name: path.basename(args.find((a) => a.endsWith('.js')) ?? command), env, outputLimit: 4000 });
  void proc.exited.then(({ code, signal }) => {
    if (!stopping) log(`${proc.name} exited (${code ?? signal}): ${proc.log}`);
  });
  children.push(proc);
  return proc;
}
async function stopAll(): Promise<void> {
  stopping = true;
  await Promise.all(children.map((proc) => proc.stop({ graceMs: 5000 })));
}

/** Polls `attempt` until it answers; the answer. */
function until<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  return eventually(async () => ({ value: await attempt() }), { what: `${what} ready`, timeoutMs: 60_000, intervalMs: 100 }).then((r) => r.value);
}

const DECISION_OF: Record<number, Decision['decision']> = {
  [PbDecision.DECISION_ALLOW]: 'ALLOW',
  [PbDecision.DECISION_DENY]: 'DENY',
  [PbDecision.DECISION_REQUIRES_APPROVAL]: 'REQUIRES_APPROVAL',
};

interface Row {
  name: string;
  inFlight: number;
  requests: number;
  decisions: number;
  seconds: number;
  reqPerSec: number;
  decisionsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  serverCpuMicrosPerCheck: number;
  errors: number;
}

interface Scenario {
  readonly name: string;
  readonly pid: number;
  readonly decisionsPerCall: number;
  readonly call: (i: number) => Promise<unknown>;
}

interface Sample {
  readonly histogram: hdr.Histogram;
  requests: number;
  errors: number;
  elapsed: number;
  cpu: number;
}

/** Closed loop: `inFlight` workers, each sending the next request as soon as its last one is answered. */
async function closedLoop(scenario: Scenario, inFlight: number, seconds: number, into: Sample | undefined): Promise<void> {
  let next = 0;
  const end = performance.now() + seconds * 1000;
  const cpu0 = await cpuMicros(scenario.pid);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const i = next++;
        const started = performance.now();
        try {
          await scenario.call(i);
        } catch {
          if (into !== undefined) into.errors++;
        }
        if (into !== undefined) {
          into.histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
          into.requests++;
        }
      }
    }),
  );
  if (into !== undefined) {
    into.elapsed += (performance.now() - t0) / 1000;
    into.cpu += (await cpuMicros(scenario.pid)) - cpu0;
  }
}

/**
 * Every scenario at one in-flight level, interleaved: ROUNDS rounds, each running every
 * scenario for SECONDS (after a warm-up), in alternating order. A burst of noise from the
 * shared machine then lands on all of them alike, so the ratios between rows hold better than
 * back-to-back runs would. Each row merges its rounds (latencies, requests, CPU).
 */
async function loadLevel(scenarios: readonly Scenario[], inFlight: number): Promise<Row[]> {
  const samples = scenarios.map((): Sample => ({
    histogram: hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 }),
    requests: 0,
    errors: 0,
    elapsed: 0,
    cpu: 0,
  }));
  for (const scenario of scenarios) await closedLoop(scenario, inFlight, WARMUP, undefined);
  for (let round = 0; round < ROUNDS; round++) {
    const order = scenarios.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) await closedLoop(scenarios[i]!, inFlight, SECONDS, samples[i]);
  }
  return scenarios.map(({ name, decisionsPerCall }, i) => {
    const { histogram, requests, errors, elapsed, cpu } = samples[i]!;
    const row: Row = {
      name,
      inFlight,
      requests,
      decisions: requests * decisionsPerCall,
      seconds: elapsed,
      reqPerSec: requests / elapsed,
      decisionsPerSec: (requests * decisionsPerCall) / elapsed,
      p50Ms: histogram.getValueAtPercentile(50) / 1000,
      p99Ms: histogram.getValueAtPercentile(99) / 1000,
      p999Ms: histogram.getValueAtPercentile(99.9) / 1000,
      serverCpuMicrosPerCheck: cpu / (requests * decisionsPerCall),
      errors,
    };
    histogram.destroy();
    log(`${name} @${inFlight}: ${row.reqPerSec.toFixed(0)} req/s, p50 ${row.p50Ms.toFixed(3)} ms, p99 ${row.p99Ms.toFixed(3)} ms, CPU ${row.serverCpuMicrosPerCheck.toFixed(1)} µs/check${errors > 0 ? `, ${errors} ERRORS` : ''}`);
    return row;
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const tag = new Date().toISOString().replace(/[:.]/g, '-');
  const work = await mkdtemp(path.join(tmpdir(), 'warden-bench-'));

  // 1. World.
  const t = performance.now();
  const world = generateWorld(WORLD);
  const parsed = parseWorld(world.file);
  log(`world: ${world.users.length} users, ${world.groups.length} groups, ${WORLD.projects} projects × 3 environments, ${world.bindingCount} bindings (${(performance.now() - t).toFixed(0)} ms)`);
  const redisPrefix = `warden-bench:${tag}:`;
  const results: Record<string, unknown> = { startedAt: new Date(started).toISOString(), world: { ...WORLD, users: world.users.length, groups: world.groups.length, bindings: world.bindingCount }, seconds: SECONDS, rounds: ROUNDS, warmup: WARMUP };
  const db = await createBenchDatabase(PG_URL, parsed);
  const dbUrl = new URL(db.url);
  const pool = db.pool;
  try {
    log(`loaded into Postgres in ${db.loadSeconds.toFixed(1)} s (revision ${db.revision})`);
    results['loadSeconds'] = db.loadSeconds;

    // Requests: Zipf-skewed, fixed, shared by every row.
    const checks = generateChecks(world, 20_000, 7);

    // 5a. In-process cost, over the cached grant graph a replica uses (no Redis here: in-process layer only).
    const inProcess = await measureInProcess({ pool, databaseUrl: dbUrl.toString(), keyPrefix: `${redisPrefix}inproc:`, world, parsed, checks, quick, log });
    const { engineNs, checkNs, expected } = inProcess;
    const allowShare = expected.filter((d) => d.decision === 'ALLOW').length / expected.length;
    log(`${checks.length} requests, ${(allowShare * 100).toFixed(1)}% allowed by the oracle`);
    results['engineNsPerDecision'] = engineNs;
    results['engineRoundsNs'] = inProcess.engineRoundsNs;
    results['inProcessCheckNs'] = checkNs;
    results['cacheHeapMiB'] = inProcess.cacheHeapMiB;
    results['cacheEstimateMiB'] = inProcess.cacheEstimateMiB;
    results['cacheUnits'] = inProcess.cacheUnits;
    // 5b. Management changes judged by their effect (previews: nothing is written).
    const management = await measureManagement({ pool, world, samples: quick ? 100 : 300 });
    for (const row of management) {
      log(`management: ${row.change}: p50 ${row.p50Ms.toFixed(1)} ms, p95 ${row.p95Ms.toFixed(1)} ms, max ${row.maxMs.toFixed(1)} ms over ${row.samples} (allowed ${(row.allowedShare * 100).toFixed(0)}%, ${row.meanGains.toFixed(0)} gains on average)`);
    }
    results['management'] = management;

    // How fast this machine is right now (shared boxes vary by several times): compare runs with it.
    const calibration = calibrate();
    log(`machine calibration: ${calibration.toFixed(0)} ns per string concat + Map.get (load average ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')})`);
    results['calibrationNs'] = calibration;

    // 2. Servers.
    const [portA, portB, cerbosHttp, cerbosGrpc] = (await freePorts(4)) as [number, number, number, number];
    const nodeFlags = imageNodeFlags();
    results['wardenNodeFlags'] = nodeFlags;
    log(`Warden runs as its image does: node ${[...nodeFlags, 'main.js'].join(' ')} (deploy/authz.Dockerfile)`);
    const wardenEnv = (port: number, extra: Record<string, string>) => ({
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL,
      AUTHZ_REDIS_KEY_PREFIX: redisPrefix,
      AUTHZ_GRPC_PORT: String(port),
      AUTHZ_HTTP_PORT: '0',
      AUTHZ_METRICS_PORT: '0',
      AUTHZ_TRUST_LOOPBACK: 'true',
      AUTHZ_LOG_LEVEL: 'warn',
      ...extra,
    });
    const a = start(process.execPath, [...nodeFlags, AUTHZ_MAIN], wardenEnv(portA, {}));
    const b = start(process.execPath, [...nodeFlags, AUTHZ_MAIN], wardenEnv(portB, { AUTHZ_CACHE_MAX_ENTRIES: '0' }));
    const nul = start(process.execPath, [NULL_SERVER]);
    const nullAddress = (await nul.waitForOutput(/"address":"([^"]+)"/, { timeoutMs: 30_000 }))[1]!;
    const policyDir = path.join(work, 'cerbos-policies');
    await writeCerbosPolicies(policyDir);
    const cerbosConf = path.join(work, 'cerbos.yaml');
    await writeFile(cerbosConf, cerbosConfig(policyDir, cerbosHttp, cerbosGrpc));
    const cerbosProc = start(CERBOS_BIN, ['server', `--config=${cerbosConf}`, '--log-level=error']);

    const channels: Channel[] = [];
    const client = (address: string): AuthzServiceClient => {
      const channel = createChannel(address);
      channels.push(channel);
      return createClient(AuthzServiceDefinition, channel);
    };
    const clientA = client(`127.0.0.1:${portA}`);
    const clientB = client(`127.0.0.1:${portB}`);
    const clientNull = client(nullAddress);
    const cerbos = new Cerbos(`127.0.0.1:${cerbosGrpc}`, { tls: false });
    const bindings = principalBindings(world);
    const request = (c: BenchCheck): CheckRequest => ({ subject: c.subject, action: c.action, resource: c.resource });
    await until('Warden A', () => clientA.check(request(checks[0]!)));
    await until('Warden B', () => clientB.check(request(checks[0]!)));
    await until('Cerbos', () => cerbos.checkResource(cerbosRequest(checks[0]!, bindings)));
    log(`servers up (A pid ${a.pid}, B pid ${b.pid}, null pid ${nul.pid}, Cerbos pid ${cerbosProc.pid})`);

    // 3. Correctness before timing: a sample against the oracle, on every server.
    const sample = Array.from({ length: quick ? 500 : 2000 }, (_, i) => (i * 7919) % checks.length);
    let wrong = 0;
    let cerbosWrong = 0;
    const mismatch = (who: string, i: number, got: string) => {
      if (wrong + cerbosWrong < 10) log(`WRONG (${who}): ${JSON.stringify(checks[i])} → ${got}, oracle ${expected[i]!.decision} (${expected[i]!.reason.code})`);
    };
    for (const i of sample) {
      const [ra, rb, rc] = await Promise.all([clientA.check(request(checks[i]!)), clientB.check(request(checks[i]!)), cerbos.checkResource(cerbosRequest(checks[i]!, bindings))]);
      if (DECISION_OF[ra.decision] !== expected[i]!.decision) {
        wrong++;
        mismatch('Warden A', i, DECISION_OF[ra.decision]!);
      }
      if (DECISION_OF[rb.decision] !== expected[i]!.decision) {
        wrong++;
        mismatch('Warden B', i, DECISION_OF[rb.decision]!);
      }
      if (rc.isAllowed(checks[i]!.action) !== (expected[i]!.decision === 'ALLOW')) {
        cerbosWrong++;
        mismatch('Cerbos', i, String(rc.isAllowed(checks[i]!.action)));
      }
    }
    for (let s = 0; s < sample.length; s += 100) {
      const idx = sample.slice(s, s + 100);
      const batch = await clientA.checkBatch({ checks: idx.map((i) => request(checks[i]!)) });
      batch.results.forEach((r, k) => {
        if (DECISION_OF[r.decision] !== expected[idx[k]!]!.decision) {
          wrong++;
          mismatch('Warden batch', idx[k]!, DECISION_OF[r.decision]!);
        }
      });
    }
    log(`correctness: ${sample.length} sampled checks × (A, B, batch): ${wrong} wrong; Cerbos vs oracle: ${cerbosWrong} different`);
    results['correctness'] = { sampled: sample.length, wardenWrong: wrong, cerbosDifferent: cerbosWrong };
    if (wrong > 0) throw new Error(`${wrong} wrong Warden answers: refusing to time a wrong system`);

    // Warm A with every request (fills A's in-process layer and Redis), then B reads Redis.
    for (let s = 0; s < checks.length; s += 500) await clientA.checkBatch({ checks: checks.slice(s, s + 500).map(request) });
    for (let s = 0; s < checks.length; s += 500) await clientB.checkBatch({ checks: checks.slice(s, s + 500).map(request) });

    // 4. Load.
    const rows: Row[] = [];
    const pbRequests = checks.map(request);
    const cerbosRequests = checks.map((c) => cerbosRequest(c, bindings));
    const batches = Array.from({ length: 200 }, (_, k) => ({ checks: pbRequests.slice((k * 100) % checks.length, ((k * 100) % checks.length) + 100) }));
    const scenarios: Scenario[] = [
      { name: 'null gRPC server (floor)', pid: nul.pid!, decisionsPerCall: 1, call: (i) => clientNull.check(pbRequests[i % checks.length]!) },
      { name: 'Warden Check (in-process hit)', pid: a.pid!, decisionsPerCall: 1, call: (i) => clientA.check(pbRequests[i % checks.length]!) },
      { name: 'Warden Check (Redis hit)', pid: b.pid!, decisionsPerCall: 1, call: (i) => clientB.check(pbRequests[i % checks.length]!) },
      { name: 'Warden CheckBatch(100)', pid: a.pid!, decisionsPerCall: 100, call: (i) => clientA.checkBatch(batches[i % batches.length]!) },
      { name: 'Cerbos CheckResources', pid: cerbosProc.pid!, decisionsPerCall: 1, call: (i) => cerbos.checkResource(cerbosRequests[i % checks.length]!) },
    ];
    for (const inFlight of IN_FLIGHT) rows.push(...(await loadLevel(scenarios, inFlight)));
    results['rows'] = rows;

    // Verify again after the load: a second sample, answered from warm caches.
    let after = 0;
    for (const i of sample.slice(0, 500)) {
      const r = await clientA.check(request(checks[(i * 3) % checks.length]!));
      if (DECISION_OF[r.decision] !== expected[(i * 3) % checks.length]!.decision) after++;
    }
    results['correctness'] = { ...(results['correctness'] as object), afterLoadWrong: after };
    if (after > 0) throw new Error(`${after} wrong Warden answers after the load`);

    // 5b. Replica memory with the whole world cached: every user, on one resource of each of its projects.
    const everyone: CheckRequest[] = [];
    for (const user of world.users) {
      const h = world.home.get(user)!;
      for (const p of h.projects.length > 0 ? h.projects : ['p0']) everyone.push({ subject: user, action: 'flags:read', resource: `org:${h.org}/project:${p}/env:production/flag:f0` });
    }
    for (let s = 0; s < everyone.length; s += 1000) await clientA.checkBatch({ checks: everyone.slice(s, s + 1000) });
    await new Promise((r) => setTimeout(r, 2000));
    const memory = await rssMiB(a.pid!);
    const rss = { wardenA: memory, wardenB: await rssMiB(b.pid!), nullServer: await rssMiB(nul.pid!), cerbos: await rssMiB(cerbosProc.pid!) };
    log(`replica A with the world cached (${everyone.length} checks over every user): RSS ${memory.toFixed(0)} MiB; B ${rss.wardenB.toFixed(0)}, null ${rss.nullServer.toFixed(0)}, Cerbos ${rss.cerbos.toFixed(0)} MiB`);
    results['replicaRssMiB'] = memory;
    results['rssMiB'] = rss;

    for (const channel of channels) channel.close();
    cerbos.close();
    printTable(rows, engineNs, checkNs, memory, results['correctness'] as { wardenWrong: number; cerbosDifferent: number }, results['cacheHeapMiB'] as number | undefined, management);
    await mkdir(RESULTS, { recursive: true });
    const file = path.join(RESULTS, `bench-${tag}.json`);
    results['finishedAt'] = new Date().toISOString();
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${path.relative(process.cwd(), file)} (${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
  } finally {
    await stopAll();
    await db.drop();
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await deleteKeys(redis, redisPrefix);
    } catch {
      // Redis cleanup is best effort.
    }
    redis.disconnect();
    await rm(work, { recursive: true, force: true });
  }
}

function calibrate(): number {
  const map = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) map.set(`s:user:u${i}@o1.example`, i);
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 1_000_000; i++) sink += map.get(`s:user:u${i % 10_000}@o1.example`) ?? 0;
  const ns = Number(process.hrtime.bigint() - t0) / 1_000_000;
  return sink >= 0 ? ns : ns;
}

function printTable(
  rows: Row[],
  engineNs: number,
  checkNs: number,
  memoryMiB: number,
  correctness: { wardenWrong: number; cerbosDifferent: number },
  cacheHeapMiB: number | undefined,
  management: readonly ManagementRow[],
): void {
  const f = (n: number, d = 0) => n.toFixed(d);
  const lines = [
    '| scenario | in-flight | req/s | decisions/s | p50 ms | p99 ms | p99.9 ms | server CPU µs/check |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.inFlight} | ${f(r.reqPerSec)} | ${f(r.decisionsPerSec)} | ${f(r.p50Ms, 3)} | ${f(r.p99Ms, 3)} | ${f(r.p999Ms, 3)} | ${f(r.serverCpuMicrosPerCheck, 1)}${r.errors > 0 ? ` (${r.errors} errors)` : ''} |`),
  ];
  const get = (name: string, inFlight: number) => rows.find((r) => r.name.startsWith(name) && r.inFlight === inFlight);
  const targets: string[] = [];
  const hi = Math.max(...IN_FLIGHT);
  const lo = Math.min(...IN_FLIGHT);
  const nullHi = get('null', hi);
  const hitHi = get('Warden Check (in-process', hi);
  const cerbosHi = get('Cerbos', hi);
  const nullLo = get('null', lo);
  const hitLo = get('Warden Check (in-process', lo);
  const batchHi = get('Warden CheckBatch', hi);
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  if (nullHi && hitHi) {
    const r = hitHi.serverCpuMicrosPerCheck / nullHi.serverCpuMicrosPerCheck;
    targets.push(`| server CPU per cached Check / null server (in-flight ${hi}) | ≤ 1.5× | ${f(r, 2)}× | ${verdict(r <= 1.5)} |`);
  }
  if (cerbosHi && hitHi) {
    const r = hitHi.serverCpuMicrosPerCheck / cerbosHi.serverCpuMicrosPerCheck;
    targets.push(`| server CPU per cached Check / Cerbos (in-flight ${hi}) | ≤ 0.5× | ${f(r, 2)}× | ${verdict(r <= 0.5)} |`);
  }
  if (nullLo && hitLo) {
    const r = hitLo.p50Ms / nullLo.p50Ms;
    targets.push(`| p50 at in-flight ${lo} / null server | ≤ 1.3× | ${f(r, 2)}× | ${verdict(r <= 1.3)} |`);
  }
  if (nullHi && hitHi) {
    const r = hitHi.p99Ms / nullHi.p99Ms;
    targets.push(`| p99 at in-flight ${hi} / null server | ≤ 1.5× | ${f(r, 2)}× | ${verdict(r <= 1.5)} |`);
  }
  if (batchHi && hitHi) {
    const r = batchHi.decisionsPerSec / hitHi.decisionsPerSec;
    targets.push(`| CheckBatch(100) decisions/s / single Checks (in-flight ${hi}) | ≥ 10× | ${f(r, 1)}× | ${verdict(r >= 10)} |`);
  }
  targets.push(`| in-process engine (decide over the cached view) | ≤ 5 µs/decision | ${f(engineNs / 1000, 2)} µs | ${verdict(engineNs <= 5000)} |`);
  targets.push(`| (for information) whole in-process cached Check: validate + assemble + decide | — | ${f(checkNs / 1000, 2)} µs | |`);
  targets.push(`| replica memory, default world cached | ≤ 300 MB | ${f(memoryMiB)} MiB | ${verdict(memoryMiB * 1.048576 <= 300)} |`);
  if (cacheHeapMiB !== undefined) targets.push(`| (for information) heap of the in-process cache holding the whole world, after GC | — | ${f(cacheHeapMiB)} MiB | |`);
  targets.push(`| wrong answers (sampled vs brute-force oracle) | 0 | ${correctness.wardenWrong} | ${verdict(correctness.wardenWrong === 0)} |`);
  for (const row of management) {
    targets.push(`| management: ${row.change}, effect + rule (p95; p50 ${f(row.p50Ms, 1)} ms) | < 100 ms | ${f(row.p95Ms, 1)} ms | ${verdict(row.p95Ms < 100)} |`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n\n| target | goal | measured | |\n|---|---|---|---|\n${targets.join('\n')}\n\nCerbos answers differing from the oracle on the sample: ${correctness.cerbosDifferent}\n\n`);
}

process.on('SIGINT', () => {
  void stopAll().then(() => process.exit(130));
});
main().catch(async (error: unknown) => {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  await stopAll();
  process.exit(1);
});
