/**
 * Starts one Delivery per configured sink (webhook, OTLP logs) over the store, with its
 * cursor file in `<data dir>/delivery/<sink>.cursor.json`. Called by app.ts after the log
 * started; `close()` stops the loops (a send in flight is cancelled: sent again later).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Sink, SinkFilter } from './domain/delivery.js';
import type { AuditStore } from './domain/ports.js';
import { FileCursorStore } from './adapters/sinks/file-cursor-store.js';
import { OtlpLogsSink } from './adapters/sinks/otlp-logs-sink.js';
import { parseWebhookSecret } from './adapters/sinks/standard-webhooks.js';
import { WebhookSink } from './adapters/sinks/webhook-sink.js';
import { observeDelivery } from './delivery-instruments.js';
import { Delivery } from './usecases/delivery.js';

export type RunningDeliveries = { readonly deliveries: readonly Delivery[]; close(): Promise<void> };

export async function startDeliveries(config: Config, store: AuditStore, logger: Logger): Promise<RunningDeliveries> {
  const d = config.delivery;
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
