#!/usr/bin/env node
/**
 * Audit benchmark — one command, prints a markdown table:
 *
 *   npm run bench -w @warden/audit        (builds, then runs this file)
 *   node bench/audit/run.mjs [--events 60000] [--rows 10000000] [--quick] [--prof DIR] [--only latency|per-event|batch|timeline] [--in-flight 4]   (after a build)
 *
 * The service runs with the node options of its image's CMD (deploy/audit.Dockerfile), as
 * in production; --bare-node runs it without them. BENCH_AUDIT_<SETTING>=value passes
 * AUDIT_<SETTING> to the service and BENCH_SERVICE_NODE_ARGS more node flags (the table's
 * heading names them). The last row is the service's peak resident memory (VmHWM).
 * --memory-limit MiB starts the service inside a memory cgroup of that size, as a container
 * limit would (root and a cgroup v1 memory controller or cgroup v2 needed), and reports the
 * cgroup's peak usage (page cache included) and how often it hit the limit.
 * --quick: 20,000 events, 4 s per steady rate, no timeline; --prof DIR: the service runs
 * with `node --cpu-prof` and writes its profile into DIR on exit; --service FILE: run that
 * build of the service (another checkout's services/audit/dist/main.js, for before/after).
 *
 * Besides wall-clock rates, the ingest rows report the CPU time spent per event by the
 * service process (all its threads, from /proc; while it answered, and until it was idle
 * again, its engine's merges of those rows included; and its main thread's share) and by
 * this producer process: on a shared machine the rates follow the other load, the CPU per
 * event does not, and 2 cores ÷ (service until idle + producer CPU per event) is what this
 * box would do with nothing else. Each ingest row starts on an idle service (without that
 * the row after a fast one paid for the merges of its rows). The events of a row are made
 * beforehand, as an application has its events: a row "signing included" times building
 * and signing the requests, not inventing the events (UUIDv7 and timestamps, about 5 µs
 * an event). --in-flight N: Appends in flight at once (4).
 *
 * 1. Ingest throughput, end to end over gRPC, of signed events into the
 *    embedded engine (chdb): the service runs in its own process
 *    (services/audit/dist/main.js); this process is the producer. Reported with
 *    per-event signatures (one Ed25519 signature per event) and with batch
 *    signatures (one per Append, over the RFC 9162 root of its events), each with
 *    producer-side signing excluded (events signed before the clock starts) and
 *    included (each batch is built and signed inside the timed loop).
 * 2. Ack latency at steady rates (single-event Appends at 100/s and 300/s, and
 *    100-event batches at 1,000 events/s), batch-signed as the producers sign, measured
 *    first, on a quiet service.
 * 3. Timeline query over 10M events for one resource within one day, using the
 *    service's own SQL text (ClickHouseAuditStore.query) on chdb; the rows are
 *    generated inside chdb with INSERT … SELECT FROM numbers(), not through the API.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createChannel, createClient } from 'nice-grpc';
import { AppendStatus, AuditServiceDefinition } from '@warden/proto/audit/v1';
import { freePort, readDockerfile, startProcess } from '@warden/testkit';
import { benchEvent } from './bench-event.mjs';

const root = resolve(import.meta.dirname, '../..');
const audit = (p) => import(join(root, 'services/audit/dist', p));
const { batchSignedAppendRequest, generateSigningKey, rawPublicKey, signEvent } = await import('@warden/audit-events');

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const QUICK = args.includes('--quick');
/** --only batch: the batch-signature ingest rows alone (for profiling: --only batch --prof DIR). */
const onlyIndex = args.indexOf('--only');
const ONLY = onlyIndex >= 0 ? args[onlyIndex + 1] : undefined;
const runs = (part) => ONLY === undefined || ONLY === part;
const TOTAL = arg('events', QUICK ? 20_000 : 60_000);
const ROWS = arg('rows', QUICK ? 0 : 10_000_000);
const STEADY_S = QUICK ? 4 : 10;
const profIndex = args.indexOf('--prof');
const PROF_DIR = profIndex >= 0 ? resolve(args[profIndex + 1]) : undefined;
const serviceIndex = args.indexOf('--service');
const SERVICE_MAIN = serviceIndex >= 0 ? resolve(args[serviceIndex + 1]) : join(root, 'services/audit/dist/main.js');
const BATCH = 500;
const IN_FLIGHT = arg('in-flight', 4);
/** The node options the image starts the service with (deploy/audit.Dockerfile's CMD). */
function imageNodeArgs() {
  const command = readDockerfile(join(root, 'deploy/audit.Dockerfile')).cmd;
  if (command[0] !== 'node' || command.at(-1) !== 'services/audit/dist/main.js') {
    throw new Error('deploy/audit.Dockerfile: expected CMD ["node", <options…>, "services/audit/dist/main.js"]');
  }
  return command.slice(1, -1);
}
const NODE_ARGS = args.includes('--bare-node') ? [] : imageNodeArgs();

/** A memory cgroup of `mib` MiB for the service (v1 memory controller, else v2): where to put it, how to read it, how to remove it. */
function memoryCgroup(mib) {
  if (!Number.isSafeInteger(mib) || mib <= 0) throw new Error('--memory-limit takes a size in MiB');
  const bytes = String(mib * 1024 * 1024);
  const name = `warden-audit-bench-${process.pid}`;
  const v1 = '/sys/fs/cgroup/memory';
  const v2 = existsSync('/sys/fs/cgroup/unified/cgroup.controllers') && readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').includes('memory') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
  const base = existsSync(join(v1, 'memory.limit_in_bytes')) ? v1 : v2;
  const path = join(base, name);
  try {
    mkdirSync(path);
    if (base === v1) writeFileSync(join(path, 'memory.limit_in_bytes'), bytes);
    else writeFileSync(join(path, 'memory.max'), bytes);
  } catch (error) {
    throw new Error(`--memory-limit: cannot make a memory cgroup under ${base} (root and a memory controller are needed): ${error.message}`, { cause: error });
  }
  const read = (file) => readFileSync(join(path, file), 'utf8').trim();
  return {
    mib,
    procs: join(path, 'cgroup.procs'),
    note() {
      if (base === v1) return `peak ${Math.round(Number(read('memory.max_usage_in_bytes')) / 1048576)} MiB with page cache, limit hit ${read('memory.failcnt')} times, ${/oom_kill (\d+)/.exec(read('memory.oom_control'))?.[1] ?? '?'} OOM kills`;
      const events = read('memory.events');
      return `peak ${existsSync(join(path, 'memory.peak')) ? Math.round(Number(read('memory.peak')) / 1048576) : '?'} MiB with page cache, ${/^max (\d+)/m.exec(events)?.[1] ?? '?'} times at the limit, ${/^oom_kill (\d+)/m.exec(events)?.[1] ?? '?'} OOM kills`;
    },
    remove() {
      try {
        rmdirSync(path);
      } catch {
        // still has a process in it: the kernel removes nothing; say so
        process.stderr.write(`  could not remove ${path}\n`);
      }
    },
  };
}

const results = [];
const row = (metric, value, note = '') => {
  results.push({ metric, value, note });
  process.stderr.write(`  ${metric}: ${value} ${note}\n`);
};
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

// ---------------------------------------------------------------- service
const dir = mkdtempSync(join(tmpdir(), 'warden-audit-bench-'));
const producer = generateSigningKey();
writeFileSync(join(dir, 'producers.json'), JSON.stringify([{ producer: 'bench', keyId: 'b1', publicKey: rawPublicKey(producer.publicKey).toString('base64') }]));
const port = await freePort();
const memoryLimit = args.includes('--memory-limit') ? memoryCgroup(arg('memory-limit', 0)) : undefined;
const serviceArgs = [...NODE_ARGS, ...(process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean), ...(PROF_DIR === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', PROF_DIR])];
const service = startProcess(memoryLimit === undefined ? process.execPath : '/bin/sh', memoryLimit === undefined ? [...serviceArgs, SERVICE_MAIN] : ['-c', 'echo $$ > "$0" && exec "$@"', memoryLimit.procs, process.execPath, ...serviceArgs, SERVICE_MAIN], {
  name: 'audit',
  cwd: dir,
  inheritEnv: false,
  stdout: 'inherit',
  stderr: 'inherit',
  env: {
    AUDIT_DATA_DIR: join(dir, 'data'),
    AUDIT_GRPC_ADDRESS: `127.0.0.1:${port}`,
    AUDIT_AUTHZ_DISABLED: 'true',
    AUDIT_PRODUCER_KEYS_FILE: join(dir, 'producers.json'),
    AUDIT_LOG_LEVEL: 'warn',
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_AUDIT_')).map(([k, v]) => [k.slice('BENCH_'.length), v])),
  },
});
const channel = createChannel(`127.0.0.1:${port}`);
const client = createClient(AuditServiceDefinition, channel);
await service.waitFor(
  'a checkpoint read answered',
  async () => {
    try {
      await client.checkpoint({ org: 'bench' });
    } catch (error) {
      if (!error?.details?.includes?.('caller')) throw error; // else up: the read needs a caller
    }
    return true;
  },
  { timeoutMs: 10_000, intervalMs: 100 },
);

/** A /proc stat file: the name in parentheses, and utime + stime (fields 14 and 15) in CPU seconds. */
function procStat(path) {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), seconds: (Number(fields[11]) + Number(fields[12])) / 100 };
}
/** CPU seconds used so far by the service process (every thread), its main thread, and this process. */
function cpuNow() {
  const pid = service.child.pid;
  const own = process.cpuUsage();
  return { service: procStat(`/proc/${pid}/stat`).seconds, main: procStat(`/proc/${pid}/task/${pid}/stat`).seconds, producer: (own.user + own.system) / 1e6 };
}
/**
 * Waits until the service is idle (under 5 % of a core for 500 ms, at most 60 s): the
 * engine merges the parts of a run after its last answer, and that work belongs to the
 * run, not to the next row.
 */
async function settle() {
  // Under --prof the profiler's own thread never lets the service idle: wait a fixed 3 s.
  if (PROF_DIR !== undefined) return void (await sleep(3000));
  const deadline = performance.now() + 60_000;
  let last = cpuNow().service;
  while (performance.now() < deadline) {
    await sleep(500);
    const now = cpuNow().service;
    if (now - last < 0.025) return;
    last = now;
  }
  process.stderr.write('  the service did not settle within 60 s\n');
}
/**
 * CPU per event: the producer's while it sent; the service's while it answered, and until
 * it settled (its merges of those rows included), which is what each event costs.
 */
async function cpuNote(before, events) {
  const after = cpuNow();
  await settle();
  const settled = cpuNow();
  const s = ((after.service - before.service) / events) * 1e6;
  const all = ((settled.service - before.service) / events) * 1e6;
  const p = ((after.producer - before.producer) / events) * 1e6;
  const main = ((settled.main - before.main) / events) * 1e6;
  return `CPU per event: service ${s.toFixed(0)} µs while answering, ${all.toFixed(0)} µs until idle (its main thread ${main.toFixed(0)} µs); producer ${p.toFixed(0)} µs (2 cores ÷ service until idle + producer ≈ ${Math.round(2e6 / (all + p)).toLocaleString('en-US')}/s)`;
}

let clock = Date.now() - 3_600_000;
/** Occurred an hour ago (never future-dated), ids minted now (inside the service's in-memory duplicate window). */
function makeEvent(i) {
  clock += 1;
  return benchEvent(i, clock, Date.now());
}
function toProto(event, signature) {
  return {
    event: { ...event, occurredAt: new Date(event.occurredAt) },
    signature,
  };
}
/** Sends per-event-signed events, or a whole AppendRequest (a batch-signed one). */
async function append(eventsOrRequest) {
  const response = await client.append(Array.isArray(eventsOrRequest) ? { events: eventsOrRequest } : eventsOrRequest);
  for (const r of response.results) if (r.status !== AppendStatus.APPEND_STATUS_ACCEPTED) throw new Error(`not accepted: ${JSON.stringify(r)}`);
}
async function pump(batches) {
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const b = batches[next++];
      await append(typeof b === 'function' ? b() : b);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

// Warm-up.
await pump(Array.from({ length: 4 }, (_, b) => Array.from({ length: BATCH }, (_, i) => { const e = makeEvent(b * BATCH + i); return toProto(e, signEvent(e, producer.privateKey)); })));

// 2. Ack latency at a steady rate.
async function steady(ratePerSecond, batchSize, seconds) {
  const latencies = [];
  const interval = 1000 / ratePerSecond;
  const start = performance.now();
  const pending = [];
  for (let k = 0; k < ratePerSecond * seconds; k += 1) {
    const due = start + k * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    // Signed as producers sign (the Node SDK and authz's outbox): one batch signature per Append.
    const request = batchSignedAppendRequest(Array.from({ length: batchSize }, (_, i) => makeEvent(k * batchSize + i)), producer.privateKey);
    const t = performance.now();
    pending.push(append(request).then(() => latencies.push(performance.now() - t)));
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  return { p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies[latencies.length - 1], n: latencies.length };
}
/**
 * The disk's own fsync latency while a row runs (bench/audit/disk-probe.mjs, its own
 * process, writing on the file system of the service's data): the baseline of the row.
 */
function diskProbe() {
  const child = spawn(process.execPath, [join(root, 'bench/audit/disk-probe.mjs'), join(dir, 'disk-probe.bin')], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`disk probe exited with ${code}`))));
  });
  return {
    stop() {
      child.stdin.end();
      return exited;
    },
  };
}
for (const [rate, size] of runs('latency') ? [[100, 1], [300, 1], [10, 100]] : []) {
  const disk = diskProbe();
  const r = await steady(rate, size, STEADY_S);
  const d = await disk.stop();
  const label = size === 1 ? `1-event Appends at ${rate}/s` : `${size}-event batches at ${(rate * size).toLocaleString('en-US')} events/s`;
  row(
    `Ack latency, ${label} (${STEADY_S} s)`,
    `p99 ${r.p99.toFixed(1)} ms`,
    `p50 ${r.p50.toFixed(1)} ms, max ${r.max.toFixed(1)} ms, ${r.n} calls; the disk meanwhile (700 B O_DSYNC writes every 20 ms, another process): p99 ${d.p99.toFixed(1)} ms, max ${d.max.toFixed(1)} ms, ${d.over50} of ${d.n} over 50 ms`,
  );
  await sleep(2000);
}


// Each ingest row starts on an idle service (after the warm-up, the latency rows or the row before).
await settle();
// 1a. Per-event signatures, signing excluded.
if (runs('per-event')) {
  const batches = [];
  for (let b = 0; b < TOTAL / BATCH; b += 1) {
    batches.push(Array.from({ length: BATCH }, (_, i) => { const e = makeEvent(b * BATCH + i); return toProto(e, signEvent(e, producer.privateKey)); }));
  }
  const cpu0 = cpuNow();
  const t0 = performance.now();
  await pump(batches);
  const s = (performance.now() - t0) / 1000;
  row('Ingest, per-event signatures, producer signing excluded', `${Math.round(TOTAL / s).toLocaleString('en-US')} events/s`, `${TOTAL} events, batches of ${BATCH}, ${IN_FLIGHT} in flight, ${s.toFixed(1)} s; ${await cpuNote(cpu0, TOTAL)}`);
}
// 1b. Per-event signatures, signing included.
if (runs('per-event')) {
  // The events are the application's (made beforehand, as in 1a); signing each one is timed.
  const events = Array.from({ length: TOTAL / BATCH }, (_, b) => Array.from({ length: BATCH }, (_, i) => makeEvent(b * BATCH + i)));
  const batches = events.map((batch) => () => batch.map((e) => toProto(e, signEvent(e, producer.privateKey))));
  const cpu0 = cpuNow();
  const t0 = performance.now();
  await pump(batches);
  const s = (performance.now() - t0) / 1000;
  row('Ingest, per-event signatures, producer signing included', `${Math.round(TOTAL / s).toLocaleString('en-US')} events/s`, `same, each batch built and signed in the timed loop, ${s.toFixed(1)} s; ${await cpuNote(cpu0, TOTAL)}`);
}
// 1c. Batch signatures (one Ed25519 signature per Append over the RFC 9162 root of its events), signing excluded.
if (runs('batch')) {
  const batches = [];
  for (let b = 0; b < TOTAL / BATCH; b += 1) batches.push(batchSignedAppendRequest(Array.from({ length: BATCH }, (_, i) => makeEvent(b * BATCH + i)), producer.privateKey));
  const cpu0 = cpuNow();
  const t0 = performance.now();
  await pump(batches);
  const s = (performance.now() - t0) / 1000;
  row('Ingest, batch signatures, producer signing excluded', `${Math.round(TOTAL / s).toLocaleString('en-US')} events/s`, `${TOTAL} events, batches of ${BATCH}, ${IN_FLIGHT} in flight, ${s.toFixed(1)} s; ${await cpuNote(cpu0, TOTAL)}`);
}
// 1d. Batch signatures, signing included.
if (runs('batch')) {
  // The events are the application's (made beforehand, as in 1c); building and signing each request is timed.
  const events = Array.from({ length: TOTAL / BATCH }, (_, b) => Array.from({ length: BATCH }, (_, i) => makeEvent(b * BATCH + i)));
  const batches = events.map((batch) => () => batchSignedAppendRequest(batch, producer.privateKey));
  const cpu0 = cpuNow();
  const t0 = performance.now();
  await pump(batches);
  const s = (performance.now() - t0) / 1000;
  row('Ingest, batch signatures, producer signing included', `${Math.round(TOTAL / s).toLocaleString('en-US')} events/s`, `same, each batch built and batch-signed in the timed loop, ${s.toFixed(1)} s; ${await cpuNote(cpu0, TOTAL)}`);
}
// Where the service's CPU went, by thread name (stderr only: a diagnostic).
try {
  const { readdirSync } = await import('node:fs');
  const byName = new Map();
  for (const task of readdirSync(`/proc/${service.child.pid}/task`)) {
    const stat = procStat(`/proc/${service.child.pid}/task/${task}/stat`);
    // The main thread apart from the other threads named after the executable (V8's, libuv's).
    const name = task === String(service.child.pid) ? 'main' : stat.name;
    byName.set(name, (byName.get(name) ?? 0) + stat.seconds);
  }
  process.stderr.write(`  service CPU by thread (s): ${[...byName].sort((a, b) => b[1] - a[1]).map(([n, t]) => `${n} ${t.toFixed(1)}`).join(', ')}\n`);
} catch {
  // not Linux
}
channel.close();
// Peak resident memory of the service (VmHWM in /proc/<pid>/status), while it still runs.
const peak = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${service.child.pid}/status`, 'utf8'));
if (peak !== null) row('Service peak memory (VmHWM)', `${Math.round(Number(peak[1]) / 1024)} MiB`, 'resident, over the whole run');
if (memoryLimit !== undefined) row(`Service under a ${memoryLimit.mib} MiB memory cgroup`, memoryLimit.note());

await service.stop();
memoryLimit?.remove();

// 3. Timeline query over 10M rows (chdb in this process, its own data directory).
if (ROWS > 0 && runs('timeline')) {
  const { ChdbDriver } = await audit('adapters/stores/chdb/chdb-driver.js');
  const { ClickHouseAuditStore } = await audit('adapters/stores/clickhouse-audit-store.js');
  const { parseFilter } = await audit('domain/query.js');
  const driver = ChdbDriver.open(join(dir, 'timeline-chdb'));
  const store = new ClickHouseAuditStore({ driver, database: 'bench_timeline' });
  await store.migrate();
  const RESOURCES = 10_000;
  const DAYS = 90;
  const t0 = performance.now();
  // Synthetic rows, generated inside the engine; hashes are placeholders (this measures reads, not verification).
  await driver.unsafeRaw(
    `INSERT INTO {db:Identifier}.events
     SELECT 'acme' AS org, number AS seq, generateUUIDv7() AS id,
       toDateTime64('2026-08-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(intDiv(number * ${DAYS * 86_400_000}, {rows:UInt64})) AS occurred_at,
       occurred_at AS logged_at,
       concat('org:acme/project:p', toString(number % 20), '/env:', if(number % {resources:UInt64} % 3 = 0, 'production', 'staging'), '/flag:f', toString(number % {resources:UInt64})) AS resource,
       concat('p', toString(number % 20)) AS project, if(number % {resources:UInt64} % 3 = 0, 'production', 'staging') AS environment,
       'user' AS actor_type, concat('user', toString(number % 500), '@acme.com') AS actor_id, '' AS actor_on_behalf_of,
       'flag.rollout_changed' AS action, concat('{"rollout":', toString(number % 100), '}') AS before, concat('{"rollout":', toString((number + 1) % 100), '}') AS after,
       'synthetic' AS reason, '' AS ip, '' AS user_agent, '' AS trace_id, 'bench' AS producer, 'b1' AS key_id,
       base64Encode(toString(number)) AS signature, lower(hex(SHA256(toString(number)))) AS content_hash,
       lower(hex(SHA256(concat('l', toString(number))))) AS leaf_hash, lower(hex(SHA256(concat('c', toString(number))))) AS chain_hash
     FROM numbers({rows:UInt64})`,
    { db: 'bench_timeline', rows: ROWS, resources: RESOURCES },
  );
  const loadS = (performance.now() - t0) / 1000;
  // Let background merges of the freshly generated parts finish (steady state), at most 3 minutes.
  const t1 = performance.now();
  while (performance.now() - t1 < 180_000) {
    const [m] = await driver.query('SELECT count() AS n FROM system.merges WHERE database = {db:String}', { db: 'bench_timeline' });
    if (Number(m.n) === 0) break;
    await sleep(1000);
  }
  const settleS = (performance.now() - t1) / 1000;
  const stats = (await driver.query('SELECT count() AS n, uniqExact(resource) AS r FROM {db:Identifier}.events', { db: 'bench_timeline' }))[0];
  row('Timeline data', `${Number(stats.n).toLocaleString('en-US')} events`, `${Number(stats.r).toLocaleString('en-US')} resources over ${DAYS} days, generated in chdb (INSERT … SELECT FROM numbers()) in ${loadS.toFixed(1)} s, merges settled after ${settleS.toFixed(0)} s more`);
  const filter = (k) =>
    parseFilter({
      org: 'acme',
      resource: `org:acme/project:p${k % 20}/env:${k % 3 === 0 ? 'production' : 'staging'}/flag:f${k}`,
      since: new Date(Date.UTC(2026, 8, 1 + (k % 60))),
      until: new Date(Date.UTC(2026, 8, 2 + (k % 60))),
    });
  // Resource k (flag fk) has the rows number ≡ k (mod RESOURCES): project k % 20 (RESOURCES is a multiple of 20), environment by k % 3.
  const times = [];
  let rowsSeen = 0;
  for (let i = 0; i < 3; i += 1) await store.query(filter(60 * i + 7), undefined, 1000);
  for (let i = 0; i < 50; i += 1) {
    const k = (i * 197 + 11) % RESOURCES;
    const t = performance.now();
    const rows = await store.query(filter(k), undefined, 1000);
    times.push(performance.now() - t);
    rowsSeen += rows.length;
  }
  times.sort((a, b) => a - b);
  row(
    `Timeline: one resource, one day, ${(ROWS / 1e6).toLocaleString('en-US')}M events`,
    `p99 ${pct(times, 99).toFixed(1)} ms`,
    `p50 ${pct(times, 50).toFixed(1)} ms, max ${times[times.length - 1].toFixed(1)} ms over 50 queries (different resources/days), ${(rowsSeen / 50).toFixed(1)} rows each on average`,
  );
  const prodTimes = [];
  for (let i = 0; i < 10; i += 1) {
    const t = performance.now();
    await store.query(parseFilter({ org: 'acme', project: 'p0', environment: 'production', since: new Date(Date.UTC(2026, 8, 10 + i, 14)), until: new Date(Date.UTC(2026, 8, 10 + i, 14, 30)) }), undefined, 1000);
    prodTimes.push(performance.now() - t);
  }
  prodTimes.sort((a, b) => a - b);
  row(`Timeline: one environment, 30 minutes, ${(ROWS / 1e6).toLocaleString('en-US')}M events`, `p50 ${pct(prodTimes, 50).toFixed(1)} ms`, `max ${prodTimes[prodTimes.length - 1].toFixed(1)} ms over 10 queries`);
  await driver.close();
}

const cpu = (await import('node:os')).cpus();
const load = (await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ');
const tried = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_AUDIT_') || k === 'BENCH_SERVICE_NODE_ARGS').map(([k, v]) => `${k.replace(/^BENCH_(AUDIT_)?/, (m) => (m === 'BENCH_AUDIT_' ? 'AUDIT_' : ''))}=${v}`);
const image = NODE_ARGS.length === 0 ? 'node without options' : `node ${NODE_ARGS.join(' ')} (deploy/audit.Dockerfile)`;
const settings = `${image}, ${tried.length === 0 ? 'default settings' : `not the defaults: ${tried.join(' ')}`}`;
process.stdout.write(`\n## Audit benchmark (${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}, chdb embedded, ${settings}; load average at the end ${load})\n\n| Metric | Result | Notes |\n|---|---|---|\n`);
for (const r of results) process.stdout.write(`| ${r.metric} | ${r.value} | ${r.note} |\n`);
rmSync(dir, { recursive: true, force: true });
