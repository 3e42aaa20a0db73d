/**
 * The webhook sink: each batch is one HTTPS POST of JSON, signed per Standard Webhooks
 * 1.0.0 (standard-webhooks.ts). The body:
 *
 *   { "type": "audit.events", "timestamp": <loggedAt of the batch's last event>,
 *     "data": { "org", "from", "to", "events": [<export record>…] } }
 *
 * where each event is the line `warden export` writes (org, seq, loggedAt, the producer's
 * signed event and signature, leaf and chain hashes), so a receiver can check producer
 * signatures and the hash chain with the same tools. `webhook-id` is
 * `<org>:<from>-<to>`: the same on every retry of a batch (the receiver's idempotency
 * key); events also carry their own stable ids. Any 2xx acknowledges; anything else,
 * a network error or the deadline is retried with backoff. The secret is never logged.
 */
import { toExportedRecord } from '@warden/audit-events';
import type { DeliveryBatch, Sink } from '../../domain/delivery.js';
import { SinkError } from '../../domain/delivery.js';
import type { StoreCallOptions } from '../../domain/ports.js';
import { post } from './http-post.js';
import { signWebhook } from './standard-webhooks.js';

export type WebhookSinkOptions = {
  readonly url: URL;
  /** The decoded HMAC key (parseWebhookSecret). */
  readonly key: Buffer;
  /** Extra trusted CA certificates (PEM). */
  readonly ca?: string | undefined;
  readonly clock?: () => Date;
};

export class WebhookSink implements Sink {
  readonly name = 'webhook';
  private readonly clock: () => Date;

  constructor(private readonly options: WebhookSinkOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  async send(batch: DeliveryBatch, options: StoreCallOptions): Promise<void> {
    const last = batch.records.at(-1);
    const body = Buffer.from(
      JSON.stringify({
        type: 'audit.events',
        timestamp: last?.loggedAt ?? this.clock().toISOString(),
        data: { org: batch.org, from: batch.from, to: batch.to, events: batch.records.map(toExportedRecord) },
      }),
    );
    const id = `${batch.org}:${batch.from}-${batch.to}`;
    const timestamp = Math.floor(this.clock().getTime() / 1000);
    const response = await post(this.options.url, body, {
      headers: {
        'content-type': 'application/json',
        'user-agent': 'warden-audit',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(this.options.key, id, timestamp, body),
      },
      signal: options.signal ?? AbortSignal.timeout(10_000),
      ca: this.options.ca,
    }).catch((error: unknown) => {
      throw new SinkError(`webhook ${this.options.url.origin} unreachable: ${error instanceof Error ? error.message : String(error)}`, true, undefined, { cause: error });
    });
    if (response.status < 200 || response.status > 299) {
      throw new SinkError(`webhook ${this.options.url.origin} answered ${response.status}`, true, response.retryAfterMs);
    }
  }
}
