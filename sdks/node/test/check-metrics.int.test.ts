/**
 * The client's check metrics through @opentelemetry/api, read by a MeterProvider the host
 * registers AFTER importing the SDK (a host's usual order: import its libraries, then start
 * its OpenTelemetry SDK): `warden.check.duration` and `warden.check.decisions` count every
 * check, against the real authz service.
 */
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarden, type Warden } from '../src/index.js';
import { startAuthz, type RunningAuthz } from './support/authz.js';

const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
const provider = new MeterProvider({ readers: [reader] });
const FLAG = 'org:acme/project:checkout/env:production/flag:checkout-v2';
let authz: RunningAuthz;
let warden: Warden;

beforeAll(async () => {
  authz = await startAuthz();
  // Registered only now: the SDK was imported above, before any provider existed.
  metrics.setGlobalMeterProvider(provider);
  warden = createWarden({ authz: { address: authz.app.grpcAddress }, credentials: { apiKey: authz.adminKey } });
});
afterAll(async () => {
  await warden?.close();
  await authz?.close();
  await provider.shutdown();
  metrics.disable();
});

async function collected(name: string): Promise<MetricData | undefined> {
  exporter.reset();
  await reader.forceFlush();
  return exporter
    .getMetrics()
    .flatMap((r) => r.scopeMetrics.filter((s) => s.scope.name === '@warden/sdk').flatMap((s) => s.metrics))
    .find((m) => m.descriptor.name === name);
}

describe('check metrics on a MeterProvider registered after import', () => {
  it('warden.check.duration and warden.check.decisions count every check', async () => {
    for (let i = 0; i < 3; i++) await warden.check({ subject: 'user:sarah@acme.com', action: 'flags:enable', resource: FLAG });
    await warden.check({ subject: 'user:sam@acme.com', action: 'flags:enable', resource: FLAG });
    await warden.checkBatch([
      { subject: 'user:sarah@acme.com', action: 'flags:enable', resource: FLAG },
      { subject: 'user:sam@acme.com', action: 'flags:enable', resource: FLAG },
    ]);

    const duration = await collected('warden.check.duration');
    expect(duration, 'warden.check.duration was recorded').toBeDefined();
    const counts = duration!.dataPoints.map((p) => ({ decision: p.attributes['warden.decision'], count: (p.value as { count: number }).count }));
    // Production checkout requires approval (acme.yaml): sarah's enable there is REQUIRES_APPROVAL.
    expect(counts).toContainEqual({ decision: 'REQUIRES_APPROVAL', count: 3 });
    expect(counts).toContainEqual({ decision: 'DENY', count: 1 });

    const decisions = await collected('warden.check.decisions');
    expect(decisions, 'warden.check.decisions was recorded').toBeDefined();
    const byDecision = Object.fromEntries(decisions!.dataPoints.map((p) => [p.attributes['warden.decision'], p.value]));
    expect(byDecision).toEqual({ REQUIRES_APPROVAL: 4, DENY: 2 });
  });
});
