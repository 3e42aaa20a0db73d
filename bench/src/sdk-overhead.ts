/**
 * Issue 6's SDK numbers, in one run: the cost of `check` through the Node SDK
 * (cache off, cache on) next to a raw nice-grpc call to the same authz process,
 * one call at a time (ratios to the raw call compare runs on a noisy machine); and
 * the audit client's `record` throughput with batching (signing included) against
 * a real audit process on the embedded ClickHouse engine, next to raw Append batches.
 *
 * Usage: npm run bench:sdk [-- --seconds 5]
 * Needs Postgres (WARDEN_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres):
 * it creates and drops a database of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { freePort } from './ports.js';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import pg from 'pg';
import { AuthzServiceDefinition, Decision } from '@warden/proto/authz/v1';
import { AuditServiceDefinition } from '@warden/proto/audit/v1';
import { generateSigningKey, signedEventToProto } from '@warden/audit-events';
import { createAuditClient, createWarden, newCorrelationId } from '@warden/sdk';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
const require = createRequire(import.meta.url);
const AUTHZ_MAIN = path.join(path.dirname(require.resolve('@warden/authz')), 'main.js');
const WORLD = fileURLToPath(new URL('../../examples/acme.yaml', import.meta.url));
const ADMIN_URL = process.env['WARDEN_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CHECK = { subject: 'user:sarah@acme.com', action: 'flags:enable', resource: 'org:acme/project:checkout/env:production/flag:checkout-v2' };

async function measure(name: string, call: () => Promise<boolean>) {
  const warmupEnd = performance.now() + 1500;
  while (performance.now() < warmupEnd) if (!(await call())) throw new Error(`${name}: wrong answer`);
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
  const end = performance.now() + seconds * 1000;
  let calls = 0;
  while (performance.now() < end) {
    const t0 = process.hrtime.bigint();
    const ok = await call();
    histogram.recordValue(Number(process.hrtime.bigint() - t0) / 1000);
    if (!ok) throw new Error(`${name}: wrong answer`);
    calls++;
  }
  return { name, rate: calls / seconds, p50: histogram.getValueAtPercentile(50), p99: histogram.getValueAtPercentile(99) };
}

const database = `warden_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${database}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${database}`;
const work = await mkdtemp(path.join(tmpdir(), 'warden-sdk-bench-'));
await chmod(work, 0o755);
let child: ChildProcess | undefined;
let auditChild: ChildProcess | undefined;
try {
  const keyFile = path.join(work, 'admin.key');
  child = spawn(process.execPath, [AUTHZ_MAIN, '--world', WORLD], {
    env: {
      ...process.env, DATABASE_URL: url.toString(), AUTHZ_GRPC_PORT: '0', AUTHZ_HTTP_PORT: '0', AUTHZ_METRICS_PORT: '0', AUTHZ_LOG_LEVEL: 'info',
      AUTHZ_BOOTSTRAP_KEY_FILE: keyFile, AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin', AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
      AUTHZ_PLATFORM_ADMINS: 'service:acme-admin',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"address":"([^"]+)","msg":"authz gRPC server listening"/.exec(out);
      if (match && out.includes('"msg":"ready"')) resolve(match[1]!);
    });
    child!.once('exit', (code) => reject(new Error(`authz exited with ${code}`)));
  });
  const key = (await readFile(keyFile, 'utf8')).trim();

  const channel = createChannel(address);
  const raw = createClient(AuthzServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${key}` }) } });
  const plain = createWarden({ authz: { address }, credentials: { apiKey: key } });
  const cached = createWarden({ authz: { address }, credentials: { apiKey: key }, cache: { maxEntries: 10_000, ttlMs: 60_000 } });
  for (let i = 0; i < 200 && !cached.cache!.ready; i++) await new Promise((r) => setTimeout(r, 25));
  if (!cached.cache!.ready) throw new Error('the SDK cache never caught up with Watch');

  const rows = [
    await measure('raw nice-grpc Check (baseline)', async () => (await raw.check(CHECK)).decision === Decision.DECISION_ALLOW),
    await measure('SDK check, cache off', async () => (await plain.check(CHECK)).allowed),
    await measure('SDK check, cache on (hit)', async () => (await cached.check(CHECK)).allowed),
  ];
  const base = rows[0]!;
  console.log(`\n| in-flight 1, ${seconds}s | calls/s | p50 | p99 | p50 ÷ raw | calls/s ÷ raw |\n|---|---:|---:|---:|---:|---:|`);
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.rate.toFixed(0)} | ${r.p50.toFixed(0)} µs | ${r.p99.toFixed(0)} µs | ${(r.p50 / base.p50).toFixed(2)} | ${(r.rate / base.rate).toFixed(2)} |`);
  }
  console.log(`\ncache: ${cached.cache!.hits} hits, ${cached.cache!.misses} misses`);
  channel.close();
  await plain.close();
  await cached.close();

  // Audit: a real audit process (embedded ClickHouse) and a producer key.
  const keys = generateSigningKey();
  await writeFile(path.join(work, 'producers.json'), JSON.stringify([{ producer: 'bench', keyId: 'bench-1', publicKey: keys.publicKey.export({ format: 'pem', type: 'spki' }).toString() }]));
  const auditPort = await freePort();
  const auditAddress = `127.0.0.1:${auditPort}`;
  auditChild = spawn(process.execPath, [path.join(path.dirname(require.resolve('@warden/audit')), 'main.js')], {
    env: { ...process.env, AUDIT_GRPC_ADDRESS: auditAddress, AUDIT_DATA_DIR: path.join(work, 'audit'), AUDIT_AUTHZ_DISABLED: 'true', AUDIT_PRODUCER_KEYS_FILE: path.join(work, 'producers.json'), AUDIT_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const auditRaw = createClient(AuditServiceDefinition, createChannel(auditAddress));
  const event = (i: number) => ({
    id: newCorrelationId(), occurredAt: new Date().toISOString(), actor: { type: 'user' as const, id: 'sarah@acme.com' },
    action: 'flag.rollout_changed', resource: 'org:acme/project:checkout/env:production/flag:checkout-v2',
    before: { rollout: i }, after: { rollout: i + 1 }, producer: 'bench', keyId: 'bench-1',
  });
  for (let i = 0; ; i++) {
    try {
      await auditRaw.append({ events: [signedEventToProto(event(0), keys.privateKey)] }, { signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      if (i > 300) throw new Error('the audit service did not come up');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const EVENTS = 5000;
  const rawStart = performance.now();
  for (let i = 0; i < EVENTS; i += 100) {
    await auditRaw.append({ events: Array.from({ length: 100 }, (_, j) => signedEventToProto(event(i + j), keys.privateKey)) });
  }
  const rawRate = EVENTS / ((performance.now() - rawStart) / 1000);
  const client = createAuditClient({ address: auditAddress, producer: 'bench', keyId: 'bench-1', signingKey: keys.privateKey, batchSize: 100, flushIntervalMs: 20 });
  const sdkStart = performance.now();
  const change = (i: number) => ({
    correlationId: newCorrelationId(), traceId: undefined, actor: 'user:sarah@acme.com', action: 'flag.rollout_changed',
    resource: 'org:acme/project:checkout/env:production/flag:checkout-v2', before: { rollout: i }, after: { rollout: i + 1 },
    reason: undefined, outcome: 'success' as const, error: undefined,
    decision: { allowed: true, decision: 'ALLOW' as const, reason: { code: 'ALLOWED', message: '' }, revision: 1 },
  });
  for (let i = 0; i < EVENTS; i++) await client.record(change(i));
  await client.flush();
  const sdkRate = EVENTS / ((performance.now() - sdkStart) / 1000);
  await client.close();
  console.log(`\n| audit, ${EVENTS} events, signing included | events/s | ÷ raw |\n|---|---:|---:|`);
  console.log(`| raw Append, batches of 100 (baseline) | ${rawRate.toFixed(0)} | 1.00 |`);
  console.log(`| SDK record() + flush, batches of 100 | ${sdkRate.toFixed(0)} | ${(sdkRate / rawRate).toFixed(2)} |`);
} finally {
  if (auditChild && auditChild.exitCode === null) {
    const exited = new Promise((resolve) => auditChild!.once('exit', resolve));
    auditChild.kill('SIGTERM');
    await exited;
  }
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  await rm(work, { recursive: true, force: true });
}
