/**
 * Starts one Delivery per configured sink (webhook, OTLP logs) over the event log, with its
 * cursor file in `<data dir>/delivery/<sink>.cursor.json`. Called by app.ts after the log
 * started; `close()` stops the loops (a send in flight is cancelled: sent again later).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { DeliverySource, Sink, SinkFilter } from './domain/delivery.js';
import type { ClickHouseDriver } from './adapters/stores/driver.js';
import { ClickHouseRangeReader } from './adapters/stores/range-reader.js';
import type { LogStatus } from './usecases/audit-log.js';
import { FileCursorStore } from './adapters/sinks/file-cursor-store.js';
import { OtlpLogsSink } from './adapters/sinks/otlp-logs-sink.js';
import { parseWebhookSecret } from './adapters/sinks/standard-webhooks.js';
import { WebhookSink } from './adapters/sinks/webhook-sink.js';
import { observeDelivery } from './delivery-instruments.js';
import { Delivery } from './usecases/delivery.js';

export type RunningDeliveries = { readonly deliveries: readonly Delivery[]; close(): Promise<void> };

export type DeliveryInputs = {
  /** The running log: its per-organization sizes (kept in memory; no GROUP BY over the table per poll). */
  readonly log: { logStatus(): Iterable<LogStatus> };
  readonly driver: ClickHouseDriver;
};

/** What delivery reads in the service: sizes from the running log, ranges straight from ClickHouse. */
export function createDeliverySource(inputs: DeliveryInputs, database: string): DeliverySource {
  const reader = new ClickHouseRangeReader(inputs.driver, database);
  return {
    heads: () => Promise.resolve([...inputs.log.logStatus()].map((s) => ({ org: s.org, size: s.size }))),
    scan: (org, from, to, options) => reader.scan(org, from, to, options),
  };
}

export async function startDeliveries(config: Config, inputs: DeliveryInputs, logger: Logger): Promise<RunningDeliveries> {
  const d = config.delivery;
  const store = createDeliverySource(inputs, config.database);
  const sinks: { sink: Sink; filter: SinkFilter }[] = [];
  const ca = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file, 'utf8'));
  if (d.webhook !== undefined) {
    sinks.push({ sink: new WebhookSink({ url: d.webhook.url, key: parseWebhookSecret(d.webhook.secret), ca: ca(d.webhook.caFile) }), filter: d.webhook.filter });
  }
  if (d.otlpLogs !== undefined) {
    sinks.push({ sink: new OtlpLogsSink({ url: d.otlpLogs.url, headers: d.otlpLogs.headers, ca: ca(d.otlpLogs.caFile), logger }), filter: d.otlpLogs.filter });
  }
  const deliveries: Delivery[] = [];
  const undo: (() => void)[] = [];
  for (const { sink, filter } of sinks) {
    const delivery = new Delivery({
      store,
      sink,
      cursors: new FileCursorStore(join(config.dataDir, 'delivery', `${sink.name}.cursor.json`), sink.name),
      filter,
      batchSize: d.batch,
      timeoutMs: d.timeoutMs,
      pollMs: d.pollMs,
      retry: { initialMs: d.retryMs, maxMs: d.maxRetryMs },
      logger,
    });
    await delivery.start();
    deliveries.push(delivery);
    undo.push(observeDelivery(delivery));
    logger.info({ sink: sink.name, orgs: filter.orgs.length === 0 ? 'all' : filter.orgs, actions: filter.actions.length === 0 ? 'all' : filter.actions }, 'delivering the audit log to a sink');
  }
  return {
    deliveries,
    async close() {
      await Promise.all(deliveries.map((x) => x.close()));
      for (const u of undo) u();
    },
  };
}
