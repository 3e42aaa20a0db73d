/** createStoreSpan, traceFields and tracingEnabled under the SDK startTelemetry registers (a test's span processor). */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreSpan, startTelemetry, traceFields, tracingEnabled, type Telemetry } from './telemetry.js';

const spans = new tracing.InMemorySpanExporter();
const tracer = trace.getTracer('kit-test');
const storeSpan = createStoreSpan(tracer);
let telemetry: Telemetry;

beforeAll(async () => {
  expect(tracingEnabled()).toBe(false);
  telemetry = await startTelemetry({ serviceName: 'kit-test', spanProcessors: [new tracing.SimpleSpanProcessor(spans)] });
});
afterAll(async () => {
  await telemetry?.shutdown();
  expect(tracingEnabled()).toBe(false);
});

describe('telemetry helpers', () => {
  it('tracingEnabled once spans are exported; no /metrics server unless asked', () => {
    expect(telemetry.tracing).toBe(true);
    expect(tracingEnabled()).toBe(true);
    expect(telemetry.metricsUrl).toBeUndefined();
  });

  it('storeSpan: a client span, child of the active span, with the attributes given', async () => {
    spans.reset();
    const answer = await tracer.startActiveSpan('rpc', async (rpc) => {
      const value = await storeSpan('SELECT events', { 'db.system.name': 'clickhouse', 'db.operation.name': 'SELECT' }, async () => 42);
      rpc.end();
      return value;
    });
    expect(answer).toBe(42);
    const [store, rpc] = spans.getFinishedSpans();
    expect(store!.name).toBe('SELECT events');
    expect(store!.kind).toBe(SpanKind.CLIENT);
    expect(store!.parentSpanContext?.spanId).toBe(rpc!.spanContext().spanId);
    expect(store!.attributes).toEqual({ 'db.system.name': 'clickhouse', 'db.operation.name': 'SELECT' });
  });

  it('storeSpan: a failure sets error.type (the driver code or the error name), a numeric server code, the exception', async () => {
    spans.reset();
    const clickhouse = Object.assign(new Error('Table warden.events does not exist'), { code: '60' });
    await expect(storeSpan('SELECT events', {}, async () => Promise.reject(clickhouse))).rejects.toBe(clickhouse);
    const postgres = Object.assign(new Error('terminating connection'), { code: '57P01' });
    await expect(storeSpan('postgres grant view', {}, async () => Promise.reject(postgres))).rejects.toBe(postgres);
    await expect(storeSpan('redis grant units', {}, async () => Promise.reject(new TypeError('boom')))).rejects.toThrow('boom');
    const [first, second, third] = spans.getFinishedSpans();
    expect(first!.attributes).toMatchObject({ 'error.type': '60', 'db.response.status_code': '60' });
    expect(first!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Table warden.events does not exist' });
    expect(first!.events.map((e) => e.name)).toEqual(['exception']);
    expect(second!.attributes['error.type']).toBe('57P01');
    expect(second!.attributes).not.toHaveProperty('db.response.status_code');
    expect(third!.attributes['error.type']).toBe('TypeError');
  });

  it('traceFields: the active span ids, for pino; nothing outside a span', () => {
    expect(traceFields()).toEqual({});
    tracer.startActiveSpan('work', (span) => {
      const { traceId, spanId } = span.spanContext();
      expect(traceFields()).toEqual({ trace_id: traceId, span_id: spanId, trace_flags: '01' });
      span.end();
    });
  });
});
