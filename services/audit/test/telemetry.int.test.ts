/**
 * Observability, for real (as services/authz/test/telemetry.int.test.ts): the app on
 * chdb with the OpenTelemetry SDK registered as main.ts does it. After a short load,
 * Prometheus `/metrics` (AUDIT_METRICS_PORT=0) shows the Append counters and
 * histograms and the spool, degraded, tree size and checkpoint gauges with the values
 * the load implies; each RPC is a server span whose store calls are child spans
 * (database semantic conventions); log lines carry the active span's ids.
 */
import { Writable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { trace } from '@opentelemetry/api';
import { createChannel, createClient, Metadata, type Channel } from 'nice-grpc';
import { AppendStatus, AuditServiceDefinition, Order, type AuditServiceClient, type SignedEvent } from '@warden/proto/audit/v1';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { type AuditEvent, signEvent } from '@warden/audit-events';
import { startTelemetry, traceFields, type Telemetry } from '@warden/service-kit';
import type { FaultyStore } from './support/faulty-store.js';
import { createProducer } from './support/producer.js';
import { parsePrometheus, sampleValue, type Sample } from './support/prometheus.js';
import { tempDir } from './support/temp.js';

const flags = createProducer('flags', 'k1');
const spans = new InMemorySpanExporter();
const reader = { metadata: Metadata({ 'x-warden-subject': 'user:sre@acme.com' }) };
let telemetry: Telemetry;
let app: AuditApp;
let store: FaultyStore;
let database: string;
let channel: Channel;
let client: AuditServiceClient;

function signed(overrides: Partial<AuditEvent> = {}): SignedEvent {
  const event = flags.event(overrides);
  return {
    event: { ...event, occurredAt: new Date(event.occurredAt), request: {} },
    signature: Buffer.from(signEvent(event, flags.privateKey)),
  };
}
const acme = (n: number) => Array.from({ length: n }, () => signed());
const globex = (n: number) => Array.from({ length: n }, () => signed({ resource: 'org:globex/project:web/env:prod/flag:dark-mode' }));

async function scrape(): Promise<Sample[]> {
  const response = await fetch(telemetry.metricsUrl!);
  expect(response.status).toBe(200);
  return parsePrometheus(await response.text());
}

beforeAll(async () => {
  const dir = tempDir('warden-audit-telemetry');
  writeFileSync(join(dir, 'producers.json'), JSON.stringify([{ producer: flags.name, keyId: flags.keyId, publicKey: flags.publicKeyB64 }]));
  database = `tel_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const config = loadConfig(
    {
      AUDIT_DATA_DIR: dir,
      AUDIT_GRPC_ADDRESS: '127.0.0.1:0',
      AUDIT_CLICKHOUSE_DATABASE: database,
      AUDIT_AUTHZ_DISABLED: 'true',
      AUDIT_TRUST_SUBJECT_HEADER: 'true',
      AUDIT_PRODUCER_KEYS_FILE: 'producers.json',
      // Checkpoints only when the test asks (checkpointAll), so the gauges' values are known.
      AUDIT_CHECKPOINT_EVERY: '1000000',
      AUDIT_CHECKPOINT_INTERVAL_MS: '86400000',
      AUDIT_METRICS_PORT: '0',
      AUDIT_LOG_LEVEL: 'silent',
    },
    dir,
  );
  expect(config.telemetry.metricsPort).toBe(0);
  telemetry = await startTelemetry({
    serviceName: 'warden-audit',
    metrics: { host: config.telemetry.metricsHost, port: config.telemetry.metricsPort },
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  // As main.ts does: the app (and the libraries that take their tracer when loaded) after the providers.
  const { startAuditApp } = await import('../src/app.js');
  const { chdbDriver, sharedDriver } = await import('./support/chdb.js');
  const { faulty } = await import('./support/faulty-store.js');
  app = await startAuditApp(config, pino({ level: 'silent' }), {
    driver: sharedDriver(chdbDriver()),
    wrapStore: (inner) => (store = faulty(inner)),
  });
  channel = createChannel(app.address);
  client = createClient(AuditServiceDefinition, channel);
});

afterAll(async () => {
  channel?.close();
  await app?.close();
  await telemetry?.shutdown();
});

describe('telemetry', () => {
  it('serves /metrics on a free port (AUDIT_METRICS_PORT=0) and 404 elsewhere', async () => {
    expect(telemetry.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(telemetry.metricsUrl).not.toMatch(/:9465\//);
    expect((await fetch(telemetry.metricsUrl!.replace(/\/metrics$/, '/other'))).status).toBe(404);
  });

  it('/metrics shows Append results, latency, batch sizes, tree sizes and checkpoint gauges after a short load', async () => {
    const first = acme(6);
    const statuses = async (events: SignedEvent[]) => (await client.append({ events })).results.map((r) => r.status);
    expect(await statuses(first)).toEqual(Array(6).fill(AppendStatus.APPEND_STATUS_ACCEPTED));
    expect(await statuses(globex(4))).toEqual(Array(4).fill(AppendStatus.APPEND_STATUS_ACCEPTED));
    const badSignature = { ...signed(), signature: Buffer.alloc(64, 7) };
    expect(await statuses([...first.slice(0, 3), badSignature, ...acme(1)])).toEqual([
      AppendStatus.APPEND_STATUS_DUPLICATE,
      AppendStatus.APPEND_STATUS_DUPLICATE,
      AppendStatus.APPEND_STATUS_DUPLICATE,
      AppendStatus.APPEND_STATUS_REFUSED,
      AppendStatus.APPEND_STATUS_ACCEPTED,
    ]);

    let m = await scrape();
    expect(sampleValue(m, 'warden_audit_append_events_total', { warden_result: 'accepted' })).toBe(11);
    expect(sampleValue(m, 'warden_audit_append_events_total', { warden_result: 'duplicate' })).toBe(3);
    expect(sampleValue(m, 'warden_audit_append_events_total', { warden_result: 'refused', warden_reason: 'bad_signature' })).toBe(1);
    expect(sampleValue(m, 'warden_audit_append_duration_count')).toBe(3);
    expect(sampleValue(m, 'warden_audit_append_duration_bucket', { le: '+Inf' })).toBe(3);
    const seconds = sampleValue(m, 'warden_audit_append_duration_sum');
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(30);
    expect(sampleValue(m, 'warden_audit_append_batch_size_count')).toBe(3);
    expect(sampleValue(m, 'warden_audit_append_batch_size_sum')).toBe(6 + 4 + 5);
    expect(sampleValue(m, 'warden_audit_append_batch_size_bucket', { le: '5' })).toBe(2);
    expect(sampleValue(m, 'warden_audit_tree_size', { warden_org: 'acme' })).toBe(7);
    expect(sampleValue(m, 'warden_audit_tree_size', { warden_org: 'globex' })).toBe(4);
    expect(sampleValue(m, 'warden_audit_checkpoint_unsigned', { warden_org: 'acme' })).toBe(7);
    // No checkpoint signed yet: no age to report.
    expect(m.filter((s) => s.name === 'warden_audit_checkpoint_age')).toEqual([]);
    // Acknowledged from the write-ahead spool, stored behind the acknowledgement.
    expect(sampleValue(m, 'warden_audit_spool_depth')).toBe(11);
    await app.log.stored();
    m = await scrape();
    expect(sampleValue(m, 'warden_audit_spool_depth')).toBe(0);
    expect(sampleValue(m, 'warden_audit_degraded')).toBe(0);

    await app.log.checkpointAll();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await client.append({ events: acme(2) });
    m = await scrape();
    expect(sampleValue(m, 'warden_audit_append_events_total', { warden_result: 'accepted' })).toBe(13);
    expect(sampleValue(m, 'warden_audit_tree_size', { warden_org: 'acme' })).toBe(9);
    expect(sampleValue(m, 'warden_audit_checkpoint_unsigned', { warden_org: 'acme' })).toBe(2);
    expect(sampleValue(m, 'warden_audit_checkpoint_unsigned', { warden_org: 'globex' })).toBe(0);
    for (const org of ['acme', 'globex']) {
      const age = sampleValue(m, 'warden_audit_checkpoint_age', { warden_org: org });
      expect(Number.isFinite(age)).toBe(true);
      // Signed before the 1.1 s pause, and within this test.
      expect(age).toBeGreaterThanOrEqual(1);
      expect(age).toBeLessThan(60);
    }
  });

  it('spool depth and degraded mode follow the store going away and coming back', async () => {
    await app.log.stored();
    store.down = true;
    const results = (await client.append({ events: [...acme(2), ...globex(1)] })).results;
    expect(results.map((r) => r.status)).toEqual(Array(3).fill(AppendStatus.APPEND_STATUS_ACCEPTED));
    expect(await app.log.replaySpool()).toBe(false);
    let m = await scrape();
    expect(sampleValue(m, 'warden_audit_spool_depth')).toBe(3);
    expect(sampleValue(m, 'warden_audit_degraded')).toBe(1);
    expect(sampleValue(m, 'warden_audit_tree_size', { warden_org: 'acme' })).toBe(11);

    store.down = false;
    expect(await app.log.replaySpool()).toBe(true);
    m = await scrape();
    expect(sampleValue(m, 'warden_audit_spool_depth')).toBe(0);
    expect(sampleValue(m, 'warden_audit_degraded')).toBe(0);
    // The replay signs checkpoints for every log.
    expect(sampleValue(m, 'warden_audit_checkpoint_unsigned', { warden_org: 'acme' })).toBe(0);
    expect(sampleValue(m, 'warden_audit_checkpoint_age', { warden_org: 'acme' })).toBeLessThan(1);
  });

  it('each RPC is a server span with its ClickHouse calls as child spans (database conventions)', async () => {
    spans.reset();
    await client.append({ events: acme(2) });
    const events: unknown[] = [];
    for await (const page of client.query({ filter: { org: 'acme' }, order: Order.ORDER_NEWEST_FIRST, pageSize: 5, limit: 5 }, reader)) events.push(...page.events);
    expect(events).toHaveLength(5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const finished = spans.getFinishedSpans();
    const names = finished.map((s) => s.name).join(', ');
    const childrenOf = (name: string) => {
      const rpc = finished.find((s) => s.name === name);
      expect(rpc, names).toBeDefined();
      expect(rpc!.attributes['rpc.system']).toBe('grpc');
      return finished.filter((s) => s.parentSpanContext?.spanId === rpc!.spanContext().spanId && s.spanContext().traceId === rpc!.spanContext().traceId);
    };

    // The Append is acknowledged from the write-ahead spool: no store call inside it. The store
    // write that follows carries many Appends, so it is its own trace (the Query waited for it).
    expect(childrenOf('warden.audit.v1.AuditService/Append').filter((s) => s.name.startsWith('INSERT')), names).toEqual([]);
    const insert = finished.find((s) => s.name === 'INSERT events');
    expect(insert, names).toBeDefined();
    expect(insert!.parentSpanContext?.spanId).toBeUndefined();
    expect(insert!.attributes).toMatchObject({
      'db.system.name': 'clickhouse',
      'db.operation.name': 'INSERT',
      'db.collection.name': 'events',
      'db.namespace': database,
      'db.operation.batch.size': 2,
      'warden.store.method': 'insertRows',
    });

    const select = childrenOf('warden.audit.v1.AuditService/Query').find((s) => s.name === 'SELECT events');
    expect(select, names).toBeDefined();
    expect(select!.attributes).toMatchObject({ 'db.system.name': 'clickhouse', 'db.operation.name': 'SELECT', 'db.collection.name': 'events', 'warden.store.method': 'query' });
  });

  it('log lines carry the active span ids (the pino mixin main.ts installs)', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = pino({ level: 'info', mixin: traceFields }, sink);
    let ids: { traceId: string; spanId: string } | undefined;
    trace.getTracer('test').startActiveSpan('work', (span) => {
      ids = span.spanContext();
      logger.info('inside');
      span.end();
    });
    logger.info('outside');
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({ msg: 'inside', trace_id: ids!.traceId, span_id: ids!.spanId });
    expect(ids!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(outside).not.toHaveProperty('trace_id');
  });
});
