/**
 * Issue 6's SDK numbers, in one run: the cost of `check` through the Node SDK
 * (cache off, cache on) next to a raw nice-grpc call to the same authz process,
 * one call at a time (ratios to the raw call compare runs on a noisy machine); and
 * the audit client's `record` throughput with batching (signing included) against
 * a real audit process on the embedded ClickHouse engine, next to raw Append batches.
 *
 * Usage: npm run bench:sdk [-- --seconds 5]
 * Needs Postgres (WARDEN_BENCH_PG_URL, default WARDEN_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres):
 * it creates and drops a database of its own.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { AuthzServiceDefinition, Decision } from '@warden/proto/authz/v1';
import { AuditServiceDefinition } from '@warden/proto/audit/v1';
import { generateSigningKey, signedEventToProto } from '@warden/audit-events';
import { createAuditClient, createWarden, newCorrelationId } from '@warden/sdk';
import { createDatabase, eventually, freePort, pgAdminUrl, startNode, type TestProcess } from '@warden/testkit';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
const require = createRequire(import.meta.url);
const AUTHZ_MAIN = path.join(path.dirname(require.resolve('@warden/authz')), 'main.js');
const WORLD = fileURLToPath(new URL('../../examples/acme.yaml', import.meta.url));
const ADMIN_URL = process.env['WARDEN_BENCH_PG_URL'] ?? pgAdminUrl();
// An ALLOW through protected production (release_manager): enabling a flag there now requires approval (acme.yaml).
const CHECK = { subject: 'user:sarah@acme.com', action: 'secrets:reveal', resource: 'org:acme/project:checkout/env:production/secret:STRIPE_KEY' };

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

const database = await createDatabase({ adminUrl: ADMIN_URL, prefix: 'warden_bench_', poolMax: 1 });
const work = await mkdtemp(path.join(tmpdir(), 'warden-sdk-bench-'));
await chmod(work, 0o755);
let child: TestProcess | undefined;
let auditChild: TestProcess | undefined;
try {
  const keyFile = path.join(work, 'admin.key');
  child = startNode(AUTHZ_MAIN, ['--world', WORLD], {
    name: 'authz',
    stderr: 'inherit',
    env: {
      DATABASE_URL: database.url, AUTHZ_GRPC_PORT: '0', AUTHZ_HTTP_PORT: '0', AUTHZ_METRICS_PORT: '0', AUTHZ_LOG_LEVEL: 'info',
      AUTHZ_BOOTSTRAP_KEY_FILE: keyFile, AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin', AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
      AUTHZ_PLATFORM_ADMINS: 'service:acme-admin',
    },
  });
  const authz = child;
  const address = await authz.waitFor(
    '"ready" and the gRPC address',
    () => (authz.stdout.includes('"msg":"ready"') ? /"address":"([^"]+)","msg":"authz gRPC server listening"/.exec(authz.stdout)?.[1] : undefined),
    { timeoutMs: 60_000 },
  );
  const key = (await readFile(keyFile, 'utf8')).trim();

  const channel = createChannel(address);
  const raw = createClient(AuthzServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${key}` }) } });
  const plain = createWarden({ authz: { address }, credentials: { apiKey: key } });
  const cached = createWarden({ authz: { address }, credentials: { apiKey: key }, cache: { maxEntries: 10_000, ttlMs: 60_000 } });
  await eventually(() => cached.cache!.ready, { what: 'the SDK cache catches up with Watch', intervalMs: 25 });

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
  auditChild = startNode(path.join(path.dirname(require.resolve('@warden/audit')), 'main.js'), [], {
    name: 'audit',
    stdout: 'inherit',
    stderr: 'inherit',
    env: { AUDIT_GRPC_ADDRESS: auditAddress, AUDIT_DATA_DIR: path.join(work, 'audit'), AUDIT_AUTHZ_DISABLED: 'true', AUDIT_PRODUCER_KEYS_FILE: path.join(work, 'producers.json'), AUDIT_LOG_LEVEL: 'warn' },
  });
  const auditRaw = createClient(AuditServiceDefinition, createChannel(auditAddress));
  const event = (i: number) => ({
    id: newCorrelationId(), occurredAt: new Date().toISOString(), actor: { type: 'user' as const, id: 'sarah@acme.com' },
    action: 'flag.rollout_changed', resource: 'org:acme/project:checkout/env:production/flag:checkout-v2',
    before: { rollout: i }, after: { rollout: i + 1 }, producer: 'bench', keyId: 'bench-1',
  });
  await auditChild.waitFor(
    'an Append answered',
    async () => (await auditRaw.append({ events: [signedEventToProto(event(0), keys.privateKey)] }, { signal: AbortSignal.timeout(1000) }), true),
    { timeoutMs: 60_000, intervalMs: 200 },
  );
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
  await auditChild?.stop();
  await child?.stop();
  await database.drop();
  await rm(work, { recursive: true, force: true });
}
