/**
 * The OTLP logs sink: each batch is one ExportLogsServiceRequest POSTed as JSON to the
 * configured logs endpoint (e.g. `http://collector:4318/v1/logs`; the URL is used as given,
 * as OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is). Response handling follows the OTLP/HTTP spec:
 * 2xx is success, a `partialSuccess` with rejected records is logged and not retried;
 * 429, 502, 503 and 504 are retried (honouring Retry-After); every other status MUST NOT
 * be retried, so the organization's stream to this sink stops (visible on /metrics as
 * stalled, lag growing) until the service restarts — an audit event is never skipped.
 * Header values (credentials) are never logged.
 */
import type { DeliveryBatch, Sink } from '../../domain/delivery.js';
import { SinkError } from '../../domain/delivery.js';
import type { StoreCallOptions } from '../../domain/ports.js';
import { post } from './http-post.js';
import { toOtlpLogsRequest } from './otlp-logs.js';

const RETRYABLE = new Set([429, 502, 503, 504]);

export type OtlpLogsSinkOptions = {
  readonly url: URL;
  /** Extra request headers (e.g. authorization), from a secret file. */
  readonly headers: Readonly<Record<string, string>>;
  readonly ca?: string | undefined;
  readonly logger: { warn(obj: object, msg: string): void };
};

export class OtlpLogsSink implements Sink {
  readonly name = 'otlp-logs';

  constructor(private readonly options: OtlpLogsSinkOptions) {}

  async send(batch: DeliveryBatch, options: StoreCallOptions): Promise<void> {
    const body = Buffer.from(JSON.stringify(toOtlpLogsRequest(batch.records)));
    const origin = this.options.url.origin;
    const response = await post(this.options.url, body, {
      headers: { ...this.options.headers, 'content-type': 'application/json', 'user-agent': 'warden-audit' },
      signal: options.signal ?? AbortSignal.timeout(10_000),
      ca: this.options.ca,
    }).catch((error: unknown) => {
      throw new SinkError(`OTLP logs endpoint ${origin} unreachable: ${error instanceof Error ? error.message : String(error)}`, true, undefined, { cause: error });
    });
    if (response.status >= 200 && response.status <= 299) {
      const rejected = partialRejections(response.body);
      if (rejected !== undefined) {
        this.options.logger.warn({ sink: this.name, org: batch.org, from: batch.from, rejected: rejected.count, message: rejected.message }, 'OTLP receiver rejected some log records (partial success; not retried, per OTLP)');
      }
      return;
    }
    throw new SinkError(`OTLP logs endpoint ${origin} answered ${response.status}`, RETRYABLE.has(response.status), response.retryAfterMs);
  }
}

function partialRejections(body: string): { count: number; message: string } | undefined {
  if (body.trim() === '') return undefined;
  try {
    const parsed = JSON.parse(body) as { partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string } };
    const count = Number(parsed.partialSuccess?.rejectedLogRecords ?? 0);
    return count > 0 ? { count, message: parsed.partialSuccess?.errorMessage ?? '' } : undefined;
  } catch {
    return undefined; // a protobuf or empty answer: nothing to read
  }
}
