/**
 * Delivery throughput, one organization, batches of 500, both sinks against local
 * receivers in this process (which verify each webhook signature and decode each OTLP
 * request, so their cost is in the figure). Prints events/s; fails below a floor far
 * under what this 2-core machine does, so a regression to per-batch full-table reads
 * (a GROUP BY per poll) shows.
 *   npx vitest run services/audit/test/delivery-throughput.int.test.ts
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { eventually } from '@warden/testkit';
import { pino } from 'pino';
import { ClickHouseAuditStore } from '../src/adapters/stores/clickhouse-audit-store.js';
import { FileCursorStore } from '../src/adapters/sinks/file-cursor-store.js';
import { OtlpLogsSink } from '../src/adapters/sinks/otlp-logs-sink.js';
import { parseWebhookSecret } from '../src/adapters/sinks/standard-webhooks.js';
import { WebhookSink } from '../src/adapters/sinks/webhook-sink.js';
import { ALL_EVENTS, type Sink } from '../src/domain/delivery.js';
import { createDeliverySource } from '../src/delivery-wiring.js';
import { Delivery } from '../src/usecases/delivery.js';
import { chdbDriver, sharedDriver } from './support/chdb.js';
import { createHarness } from './support/harness.js';
import { createProducer } from './support/producer.js';
import { startOtlpReceiver, startWebhookReceiver } from './support/sink-receivers.js';
import { tempDir } from './support/temp.js';

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const N = 10_000;
const logger = pino({ level: 'silent' });

it(`delivers ${N} events to each sink at more than 1,000 events/s`, async () => {
  const database = `throughput_${process.pid}`;
  const store = new ClickHouseAuditStore({ driver: sharedDriver(chdbDriver()), database });
  await store.migrate({});
  const flags = createProducer('flags', 'k1');
  const h = await createHarness(store, [flags.keyRow], { minCommitIntervalMs: 0, checkpointEvery: 1_000_000 });
  for (let i = 0; i < N / 1000; i++) await h.log.append(Array.from({ length: 1000 }, () => flags.signed()));
  const webhook = await startWebhookReceiver(SECRET);
  const otlp = await startOtlpReceiver();
  const source = createDeliverySource({ log: h.log, driver: sharedDriver(chdbDriver()) }, database);
  const sinks: [Sink, () => number][] = [
    [new WebhookSink({ url: new URL(webhook.url), key: parseWebhookSecret(SECRET) }), () => webhook.deliveries.reduce((n, d) => n + d.body.data.events.length, 0)],
    [new OtlpLogsSink({ url: new URL(otlp.url), headers: {}, logger }), () => otlp.records.length],
  ];
  for (const [sink, count] of sinks) {
    const delivery = new Delivery({ store: source, sink, cursors: new FileCursorStore(join(tempDir('throughput'), 'cursor.json'), sink.name), filter: ALL_EVENTS, batchSize: 500, timeoutMs: 10_000, pollMs: 500, retry: { initialMs: 100, maxMs: 1000 }, logger });
    const started = performance.now();
    await delivery.start();
    await eventually(() => count() >= N, { timeoutMs: 60_000, intervalMs: 10 });
    const seconds = (performance.now() - started) / 1000;
    await delivery.close();
    console.log(`delivery to ${sink.name}: ${N} events in ${seconds.toFixed(2)} s = ${Math.round(N / seconds)} events/s`);
    expect(count()).toBe(N);
    expect(N / seconds).toBeGreaterThan(1000);
  }
  await webhook.close();
  await otlp.close();
}, 180_000);
