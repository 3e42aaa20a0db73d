/**
 * Observability, for real: after a short load, Prometheus `/metrics` shows the check
 * latency histogram and decisions by result, and every RPC has a span whose children
 * are its store calls (the Postgres read), exported through the OpenTelemetry SDK.
 */
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '../src/telemetry.js';
import type { TestApp } from './support/app.js';

const spans = new InMemorySpanExporter();
let telemetry: Telemetry;
let t: TestApp;

beforeAll(async () => {
  telemetry = await startTelemetry({ serviceName: 'warden-authz', metrics: { host: '127.0.0.1', port: 0 }, spanProcessors: [new SimpleSpanProcessor(spans)] });
  // As main.ts does: the app (and the libraries that take their tracer when loaded) after the providers.
  const { startTestApp } = await import('./support/app.js');
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
  await telemetry?.shutdown();
});

describe('telemetry', () => {
  it('/metrics shows check latency and decisions by result after a short load', async () => {
    const { authz } = t.grpc(t.adminKey);
    for (let i = 0; i < 20; i++) {
      await authz.check({ subject: 'user:sarah@acme.com', action: 'flags:enable', resource: 'org:acme/project:checkout/env:production/flag:f' });
      await authz.check({ subject: 'user:sam@acme.com', action: 'flags:enable', resource: 'org:acme/project:checkout/env:production/flag:f' });
    }
    const text = await (await fetch(telemetry.metricsUrl!)).text();
    expect(text).toMatch(/^warden_authz_check_duration_count\{.*\} \d+/m);
    expect(text).toMatch(/^warden_authz_check_duration_bucket\{.*le="0\.001".*\} \d+/m);
    const allowed = /^warden_authz_decisions_total\{[^}]*warden_decision="ALLOW"[^}]*\} (\d+)/m.exec(text);
    const denied = /^warden_authz_decisions_total\{[^}]*warden_decision="DENY"[^}]*warden_reason="PROTECTED_RESOURCE"[^}]*\} (\d+)/m.exec(text);
    expect(Number(allowed?.[1])).toBeGreaterThanOrEqual(20);
    expect(Number(denied?.[1])).toBeGreaterThanOrEqual(20);
  });

  it('each RPC is a span with its store calls as children', async () => {
    spans.reset();
    await t.grpc(t.adminKey).authz.check({ subject: 'user:mia@acme.com', action: 'flags:read', resource: 'org:acme/project:checkout/env:staging' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const finished = spans.getFinishedSpans();
    const rpc = finished.find((s) => s.name === 'warden.authz.v1.AuthzService/Check');
    expect(rpc, finished.map((s) => s.name).join(', ')).toBeDefined();
    expect(rpc!.attributes['rpc.system']).toBe('grpc');
    const children = finished.filter((s) => s.parentSpanContext?.spanId === rpc!.spanContext().spanId);
    expect(children.map((s) => s.name)).toContain('postgres grant view');
    expect(children.find((s) => s.name === 'postgres grant view')!.spanContext().traceId).toBe(rpc!.spanContext().traceId);
  });
});
