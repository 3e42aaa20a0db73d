/**
 * startTelemetry in its own process, as a service's main.ts runs it (test/fixtures/
 * telemetry-process.mjs, against the built package): Prometheus `/metrics` on a free port
 * with instruments declared before the provider existed; with an OTLP endpoint, spans over
 * OTLP/HTTP (JSON) to a collector double here — the fixture's span with pg, ioredis and HTTP
 * client and server spans as its children (instrumentations loaded through the ESM hook),
 * nothing for calls outside a span or for probes; without one, no tracing at all (no
 * tracer provider, no context manager). Needs the machine's Postgres and Redis.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/telemetry-process.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const PG_URL = process.env['WARDEN_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env['WARDEN_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

type OtlpSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes: { key: string; value: Record<string, unknown> }[] };
type Report = { done: boolean; metricsUrl: string; tracing: boolean; tracingEnabled: boolean; contextPropagates: boolean };

const received: OtlpSpan[] = [];
let collector: Server;
let collectorUrl: string;

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build first (npx turbo run build)`);
  collector = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const r of body.resourceSpans) for (const s of r.scopeSpans) received.push(...s.spans);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  collectorUrl = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;
});
afterAll(async () => new Promise((resolve) => collector?.close(resolve)));

/** Runs the fixture until it reports, scrapes /metrics, then stops it with SIGTERM. */
async function runFixture(env: Record<string, string>): Promise<{ report: Report; metrics: string; code: number | null }> {
  const child = spawn(process.execPath, [FIXTURE], {
    env: { PATH: process.env['PATH'], FIXTURE_PG_URL: PG_URL, FIXTURE_REDIS_URL: REDIS_URL, OTEL_BSP_SCHEDULE_DELAY: '50', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const report = await new Promise<Report>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => resolve(JSON.parse(line) as Report));
    void exited.then((code) => reject(new Error(`the fixture exited with ${code} before reporting (Postgres at ${PG_URL} and Redis at ${REDIS_URL} are needed):\n${stderr}`)));
  });
  const metrics = await (await fetch(report.metricsUrl)).text();
  child.kill('SIGTERM');
  return { report, metrics, code: await exited };
}

async function eventually<T>(what: string, find: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}; spans: ${received.map((s) => s.name).join(', ')}`);
}

describe('startTelemetry', () => {
  it('with an OTLP endpoint: pg, ioredis and HTTP spans under the active span, exported over OTLP/HTTP; none outside a span or for probes', async () => {
    const { report, metrics, code } = await runFixture({ FIXTURE_OTLP: collectorUrl });
    expect(report).toMatchObject({ tracing: true, tracingEnabled: true, contextPropagates: true });
    expect(code).toBe(0);
    expect(report.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(metrics).toMatch(/^kit_fixture_calls_total\{[^}]*\} 3$/m);

    const work = await eventually('the fixture span', () => received.find((s) => s.name === 'fixture work'));
    const children = () => received.filter((s) => s.parentSpanId === work.spanId && s.traceId === work.traceId);
    const pgQuery = await eventually('a pg child span', () => children().find((s) => s.name.startsWith('pg.query')));
    expect(pgQuery.attributes.filter((a) => a.key.startsWith('db.system')).map((a) => a.value['stringValue']), JSON.stringify(pgQuery.attributes)).toContain('postgresql');
    await eventually('an ioredis child span', () => children().find((s) => s.name === 'get'));
    const client = await eventually('an HTTP client span', () => children().find((s) => s.name === 'GET' && s.kind === 3));
    // The server side of that request continues the trace (W3C trace context went over the wire).
    await eventually('the HTTP server span', () => received.find((s) => s.parentSpanId === client.spanId && s.kind === 2));
    expect(received.filter((s) => s.name.startsWith('pg.') && s.traceId !== work.traceId)).toEqual([]);
    expect(received.filter((s) => s.attributes.some((a) => a.key === 'url.path' && a.value['stringValue'] === '/healthz'))).toEqual([]);
  });

  it('without one: /metrics only; no tracer provider, context manager or spans', async () => {
    received.length = 0;
    const { report, metrics, code } = await runFixture({});
    expect(report).toMatchObject({ tracing: false, tracingEnabled: false, contextPropagates: false });
    expect(code).toBe(0);
    expect(metrics).toMatch(/^kit_fixture_calls_total\{[^}]*\} 3$/m);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual([]);
  });
});
