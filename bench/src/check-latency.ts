/**
 * Issue 2's numbers, in one run:
 *   - time from starting the authz process (embedded Postgres) to its first answered
 *     Check: cold (a fresh data directory: initdb) and warm (the same directory again);
 *   - Check latency over gRPC on loopback, one call at a time, against the null
 *     gRPC server measured in the same run (ratios, not absolute times, compare runs).
 * The server runs in sidecar mode (AUTHZ_TRUST_LOOPBACK): the loop measures Check, not key checks.
 * Usage: npm run bench:latency [-- --seconds 10]
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { ClientError, createChannel, createClient, Status } from 'nice-grpc';
import { AuthzServiceDefinition, Decision, type CheckRequest } from '@warden/proto/authz/v1';
import { freePorts, startNode, type TestProcess } from '@warden/testkit';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);
const require = createRequire(import.meta.url);
const AUTHZ_MAIN = path.join(path.dirname(require.resolve('@warden/authz')), 'main.js');
const WORLD = fileURLToPath(new URL('../../examples/acme.yaml', import.meta.url));
const NULL_SERVER = fileURLToPath(new URL('./null-server.js', import.meta.url));

// An ALLOW through protected production (release_manager): enabling a flag there now requires approval (acme.yaml).
const REQUEST: CheckRequest = { subject: 'user:sarah@acme.com', action: 'secrets:reveal', resource: 'org:acme/project:checkout/env:production/secret:STRIPE_KEY' };

/** Spawns authz and returns the ms from spawn until a Check is answered. */
async function startAuthz(dataDir: string, pgPort: number, grpcPort: number): Promise<{ child: TestProcess; ms: number }> {
  const started = performance.now();
  const child = startNode(AUTHZ_MAIN, ['--world', WORLD], {
    name: 'authz',
    env: { DATABASE_URL: '', AUTHZ_DATA_DIR: dataDir, AUTHZ_EMBEDDED_PG_PORT: String(pgPort), AUTHZ_GRPC_PORT: String(grpcPort), AUTHZ_HTTP_PORT: '0', AUTHZ_METRICS_PORT: '0', AUTHZ_TRUST_LOOPBACK: 'true', AUTHZ_LOG_LEVEL: 'warn' },
    outputLimit: 4000,
  });
  const channel = createChannel(`127.0.0.1:${grpcPort}`);
  const client = createClient(AuthzServiceDefinition, channel);
  for (;;) {
    if (!child.running) throw new Error(`authz exited with ${(await child.exited).code}\n${child.tail()}`);
    try {
      const response = await client.check(REQUEST, { signal: AbortSignal.timeout(1000) });
      if (response.decision !== Decision.DECISION_ALLOW) throw new Error('wrong answer');
      break;
    } catch (error) {
      // Only "not up yet" is worth waiting for; a refusal would never end.
      if (error instanceof ClientError && error.code !== Status.UNAVAILABLE) throw error;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  channel.close();
  return { child, ms: performance.now() - started };
}

async function measure(address: string, expect: Decision): Promise<{ calls: number; p50: number; p99: number; p999: number }> {
  const channel = createChannel(address);
  const client = createClient(AuthzServiceDefinition, channel);
  const warmupEnd = performance.now() + 2000;
  while (performance.now() < warmupEnd) await client.check(REQUEST);
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
  const end = performance.now() + seconds * 1000;
  let calls = 0;
  while (performance.now() < end) {
    const t0 = process.hrtime.bigint();
    const response = await client.check(REQUEST);
    histogram.recordValue(Number(process.hrtime.bigint() - t0) / 1000);
    if (response.decision !== expect) throw new Error(`wrong decision ${response.decision}`);
    calls++;
  }
  channel.close();
  return { calls, p50: histogram.getValueAtPercentile(50), p99: histogram.getValueAtPercentile(99), p999: histogram.getValueAtPercentile(99.9) };
}

const work = await mkdtemp(path.join(tmpdir(), 'warden-bench-'));
await chmod(work, 0o755);
try {
  const [pgPort, grpcPort] = (await freePorts(2)) as [number, number];
  const cold = await startAuthz(path.join(work, 'data'), pgPort, grpcPort);
  await cold.child.stop();
  const warm = await startAuthz(path.join(work, 'data'), pgPort, grpcPort);

  const nullServer = startNode(NULL_SERVER, [], { stderr: 'inherit' });
  const nullAddress = (await nullServer.waitForOutput(/"address":"([^"]+)"/, { timeoutMs: 30_000 }))[1]!;

  const base = await measure(nullAddress, Decision.DECISION_ALLOW);
  const warden = await measure(`127.0.0.1:${grpcPort}`, Decision.DECISION_ALLOW);
  await nullServer.stop();
  await warm.child.stop();

  const us = (v: number) => `${v.toFixed(0)} µs`;
  const rows = [
    ['null gRPC server (floor)', base],
    ['Warden Check (default: in-process cache)', warden],
  ] as const;
  console.log(`\n| start to first answered Check | ms |\n|---|---:|\n| cold (initdb + migrate + world) | ${cold.ms.toFixed(0)} |\n| warm (existing data directory) | ${warm.ms.toFixed(0)} |`);
  console.log(`\n| server, in-flight 1, ${seconds}s | calls/s | p50 | p99 | p99.9 | p50 ÷ floor | p99 ÷ floor |\n|---|---:|---:|---:|---:|---:|---:|`);
  for (const [name, r] of rows) {
    console.log(`| ${name} | ${(r.calls / seconds).toFixed(0)} | ${us(r.p50)} | ${us(r.p99)} | ${us(r.p999)} | ${(r.p50 / base.p50).toFixed(2)} | ${(r.p99 / base.p99).toFixed(2)} |`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
