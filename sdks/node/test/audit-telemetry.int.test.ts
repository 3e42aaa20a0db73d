/**
 * The audit client's metrics through @opentelemetry/api, read by a MeterProvider the
 * test registers (as a host application would, here after the SDK was imported): the
 * queue-length and spool-depth gauges follow events recorded while the audit service
 * is down and drained once it is up (the real service, dist/main.js on chdb), and
 * the sent/failed counter counts both.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '@warden/audit-events';
import { eventually, freePort, startNode, type TestProcess } from '@warden/testkit';
import { createAuditClient } from '../src/index.js';
import { rolloutChange } from './support/changes.js';

const AUDIT_MAIN = fileURLToPath(new URL('../../../services/audit/dist/main.js', import.meta.url));
const keys = generateSigningKey();
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
const provider = new MeterProvider({ readers: [reader] });
let dir: string;
let address: string;
let audit: TestProcess | undefined;

/** The data points of one metric, collected now: attributes and value. */
async function points(name: string): Promise<{ attributes: Record<string, unknown>; value: number }[]> {
  exporter.reset();
  await reader.forceFlush();
  const all: MetricData[] = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
  return all
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints.map((p) => ({ attributes: { ...p.attributes }, value: p.value as number })));
}

async function value(name: string, attributes: Record<string, string>): Promise<number | undefined> {
  const found = (await points(name)).filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  expect(found.length, `${name} ${JSON.stringify(attributes)}`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

const change = rolloutChange;

beforeAll(async () => {
  metrics.setGlobalMeterProvider(provider);
  dir = await mkdtemp(path.join(tmpdir(), 'warden-sdk-audit-telemetry-'));
  address = `127.0.0.1:${await freePort()}`;
  const publicKey = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  await writeFile(path.join(dir, 'producers.json'), JSON.stringify([{ producer: 'flags', keyId: 'flags-1', publicKey }]));
});

afterAll(async () => {
  await audit?.stop();
  await provider.shutdown();
  metrics.disable();
  await rm(dir, { recursive: true, force: true });
});

describe('audit client metrics', () => {
  it('queue and spool gauges follow the backlog; the counter tells sent from failed', async () => {
    const client = createAuditClient({ address, producer: 'flags', keyId: 'flags-1', signingKey: keys.privateKey, spoolDir: path.join(dir, 'spool'), batchSize: 7, flushIntervalMs: 3_600_000 });
    const memoryOnly = createAuditClient({ address, producer: 'billing', keyId: 'billing-1', signingKey: keys.privateKey, flushIntervalMs: 3_600_000 });
    for (let i = 0; i < 7; i++) await client.record(change(i));
    await memoryOnly.record(change(100));
    // Nothing listens yet: the client's attempts (each carrying the 7 events, batchSize 7) fail; they stay queued and spooled.
    await eventually(() => client.stats.failedAttempts > 0, { what: 'a failed attempt', timeoutMs: 2_000 });
    expect(client.stats.failedAttempts).toBeGreaterThan(0);
    expect(await value('warden.audit.client.queue.length', { 'warden.producer': 'flags' })).toBe(7);
    expect(await value('warden.audit.client.spool.depth', { 'warden.producer': 'flags' })).toBe(7);
    expect(await value('warden.audit.client.queue.length', { 'warden.producer': 'billing' })).toBe(1);
    // No spool, no spool depth.
    expect(await value('warden.audit.client.spool.depth', { 'warden.producer': 'billing' })).toBeUndefined();
    const failed = await value('warden.audit.client.events', { 'warden.result': 'failed' });
    expect(failed).toBe(7 * client.stats.failedAttempts);
    expect(await value('warden.audit.client.events', { 'warden.result': 'sent' })).toBeUndefined();

    audit = startNode(AUDIT_MAIN, [], {
      name: 'audit',
      inheritEnv: false,
      env: {
        AUDIT_GRPC_ADDRESS: address,
        AUDIT_DATA_DIR: path.join(dir, 'audit'),
        AUDIT_METRICS_PORT: '0',
        AUDIT_AUTHZ_DISABLED: 'true',
        AUDIT_PRODUCER_KEYS_FILE: path.join(dir, 'producers.json'),
        AUDIT_LOG_LEVEL: 'warn',
      },
      stdout: 'inherit',
      stderr: 'inherit',
    });
    await client.flush();
    expect(client.stats.accepted).toBe(7);
    expect(await value('warden.audit.client.queue.length', { 'warden.producer': 'flags' })).toBe(0);
    expect(await value('warden.audit.client.spool.depth', { 'warden.producer': 'flags' })).toBe(0);
    // Each answered event counts once per Append that carried it (a retry may overlap: then as a duplicate too).
    expect(await value('warden.audit.client.events', { 'warden.result': 'sent' })).toBe(client.stats.accepted + client.stats.duplicates + client.stats.refused);
    expect(await value('warden.audit.events', { outcome: 'accepted' })).toBe(7);
    expect(await value('warden.audit.client.events', { 'warden.result': 'failed' })).toBe(7 * client.stats.failedAttempts);

    await client.close();
    // The other client is still observed, on its own.
    expect(await value('warden.audit.client.queue.length', { 'warden.producer': 'billing' })).toBe(1);
    await memoryOnly.close();
  }, 60_000);
});
