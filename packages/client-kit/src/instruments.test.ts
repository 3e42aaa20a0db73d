import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { createInstruments } from './instruments.js';

function registered() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    async sum(name: string): Promise<number | undefined> {
      exporter.reset();
      await reader.forceFlush();
      const points = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints);
      return points.length === 0 ? undefined : points.reduce((total, p) => total + (p.value as number), 0);
    },
  };
}

afterEach(() => metrics.disable());

describe('createInstruments', () => {
  it('records on a MeterProvider registered after the instruments were declared', async () => {
    let made = 0;
    const instruments = createInstruments('test', '1.0.0', (meter) => {
      made++;
      return { calls: meter.createCounter('test.calls') };
    });
    instruments().calls.add(1); // no provider yet: the API's no-op
    const host = registered();
    metrics.setGlobalMeterProvider(host.provider);
    instruments().calls.add(2);
    instruments().calls.add(3);
    expect(await host.sum('test.calls')).toBe(5);
    expect(made).toBe(2); // once on the no-op provider, once on the host's: cached in between
    await host.provider.shutdown();
  });

  it('follows a provider that replaces the registered one', async () => {
    const instruments = createInstruments('test', '1.0.0', (meter) => ({ calls: meter.createCounter('test.calls') }));
    const first = registered();
    metrics.setGlobalMeterProvider(first.provider);
    instruments().calls.add(1);
    metrics.disable();
    const second = registered();
    metrics.setGlobalMeterProvider(second.provider);
    instruments().calls.add(4);
    expect(await first.sum('test.calls')).toBe(1);
    expect(await second.sum('test.calls')).toBe(4);
    await first.provider.shutdown();
    await second.provider.shutdown();
  });
});
