/**
 * Observability, for real: after a short load, Prometheus `/metrics` shows the check
 * latency histogram and decisions by result, and every RPC has a span whose children
 * are its store calls (the Postgres read), exported through the OpenTelemetry SDK.
 */
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Effect } from '@warden/proto/authz/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '@warden/service-kit';
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
      // secrets:reveal: production checkout requires approval for flag changes (acme.yaml), not for this.
      await authz.check({ subject: 'user:sarah@acme.com', action: 'secrets:reveal', resource: 'org:acme/project:checkout/env:production/secret:s' });
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

  it('/metrics shows the cache per layer, its hit ratio and the revision lag', async () => {
    const { authz, admin } = t.grpc(t.adminKey);
    const check = { subject: 'user:victor@acme.com', action: 'flags:read', resource: 'org:acme/project:checkout/env:production' };
    for (let i = 0; i < 10; i++) await authz.check(check);
    const stats = t.app.grantCache.stats();
    const text = await (await fetch(telemetry.metricsUrl!)).text();
    const value = (pattern: RegExp) => {
      const match = pattern.exec(text);
      expect(match, `${pattern} in\n${text.split('\n').filter((l) => l.includes('cache') || l.includes('revision')).join('\n')}`).not.toBeNull();
      return Number(match![1]);
    };
    // The exporter reads the cache's own counters: they agree (scraped after the checks).
    expect(value(/^warden_authz_cache_lookups_total\{[^}]*warden_cache_layer="local"[^}]*warden_cache_result="hit"[^}]*\} (\d+)/m)).toBeGreaterThanOrEqual(stats.localHits);
    expect(value(/^warden_authz_cache_lookups_total\{[^}]*warden_cache_layer="local"[^}]*warden_cache_result="miss"[^}]*\} (\d+)/m)).toBeGreaterThanOrEqual(stats.localMisses);
    const ratio = value(/^warden_authz_cache_hit_ratio\{[^}]*warden_cache_layer="local"[^}]*\} ([\d.e-]+)/m);
    expect(ratio).toBeGreaterThan(0.5); // nine of ten repeated checks are local hits
    expect(ratio).toBeLessThanOrEqual(1);
    expect(value(/^warden_authz_cache_postgres_reads_total\{[^}]*warden_cache_read="fill"[^}]*\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^warden_authz_revision_applied\{[^}]*\} (\d+)/m)).toBe(t.app.grantCache.appliedRevision);
    expect(value(/^warden_authz_revision_lag\{[^}]*\} (\d+)/m)).toBe(0);
    expect(value(/^warden_authz_cache_staleness\{[^}]*\} ([\d.e-]+)/m)).toBeLessThan(5);
    expect(value(/^warden_authz_cache_entries\{[^}]*\} (\d+)/m)).toBeGreaterThan(0);

    // A write advances the applied revision seen on /metrics.
    const before = t.app.grantCache.appliedRevision;
    await admin.grantBinding({ subject: 'user:victor@acme.com', role: 'env_reader', actions: [], scope: 'org:acme/project:checkout', effect: Effect.EFFECT_ALLOW, condition: '', reason: 'telemetry test' });
    const after = await (await fetch(telemetry.metricsUrl!)).text();
    expect(Number(/^warden_authz_revision_applied\{[^}]*\} (\d+)/m.exec(after)?.[1])).toBeGreaterThan(before);
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
