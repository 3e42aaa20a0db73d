/**
 * Delivery of the log to outside sinks (SIEMs): what a sink takes, where each sink is in
 * each organization log, and which events a sink wants. Pure: no I/O.
 *
 * Invariants (kept by usecases/delivery.ts):
 *  - at least once: a cursor moves past an event only after the sink acknowledged a batch
 *    holding it (or its filter dropped it), and the cursor is on disk before it is used;
 *  - in order per organization: a sink sees an organization's events in log (seq) order,
 *    one batch in flight per (sink, organization);
 *  - a failing or slow sink delays only itself: every sink has its own loop, cursor and
 *    backoff, and every send has a deadline.
 */
import type { StoredRecord } from '@warden/audit-events';
import type { StoreCallOptions } from './ports.js';

/**
 * What delivery reads. `heads` gives each organization log's size (max seq + 1); it may
 * run ahead of what `scan` can read yet (an event being written): delivery then waits at
 * the gap. `scan` yields the rows of [from, to) in seq order, duplicates possible.
 * An AuditStore fits; the service composes the running log's sizes with a range reader.
 */
export interface DeliverySource {
  heads(options?: StoreCallOptions): Promise<readonly { readonly org: string; readonly size: number }[]>;
  scan(org: string, from: number, to: number, options?: StoreCallOptions): AsyncIterable<StoredRecord>;
}

/** One request to a sink: consecutive events of one organization log, in seq order. */
export type DeliveryBatch = {
  readonly org: string;
  /** Seq of the first record scanned for this batch (its cursor before the batch). */
  readonly from: number;
  /** One past the last seq scanned (the cursor after the batch is acknowledged). */
  readonly to: number;
  /** The records in [from, to) the sink's filter keeps (may be empty: nothing is sent). */
  readonly records: readonly StoredRecord[];
};

/** A destination (webhook, OTLP logs). `send` resolves only once the sink acknowledged the batch. */
export interface Sink {
  /** Metric label and cursor file name: `webhook`, `otlp-logs`. */
  readonly name: string;
  /** Throws on any failure (unreachable, deadline, non-2xx); the caller retries the same batch. */
  send(batch: DeliveryBatch, options: StoreCallOptions): Promise<void>;
}

/** Next seq to deliver, per organization, for one sink. Durable before `save` resolves. */
export interface CursorStore {
  load(): Promise<Map<string, number>>;
  save(cursors: ReadonlyMap<string, number>): Promise<void>;
}

/** Which events a sink wants: organizations (empty: all) and actions (empty: all; `area.*` is a prefix). */
export type SinkFilter = { readonly orgs: readonly string[]; readonly actions: readonly string[] };

export const ALL_EVENTS: SinkFilter = { orgs: [], actions: [] };

export function wantsOrg(filter: SinkFilter, org: string): boolean {
  return filter.orgs.length === 0 || filter.orgs.includes(org);
}

export function wantsAction(filter: SinkFilter, action: string): boolean {
  if (filter.actions.length === 0) return true;
  return filter.actions.some((pattern) => (pattern.endsWith('.*') ? action.startsWith(pattern.slice(0, -1)) : action === pattern));
}

/**
 * A send that failed. `retryable: false` means the protocol forbids resending the same
 * request (OTLP: a status other than 429/502/503/504): the organization's delivery to that
 * sink stops until the service restarts, rather than skipping an audit event.
 */
export class SinkError extends Error {
  override readonly name = 'SinkError';
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The sink's own hint (Retry-After), in milliseconds. */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
