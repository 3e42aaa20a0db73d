/**
 * Delivery: streams every organization log to one sink (a SIEM's webhook, an OTLP logs
 * collector), at least once and in order per organization. One Delivery per sink; each
 * runs its own loop, so a dead or slow sink delays nothing but itself.
 *
 * The loop, per round: read the log heads; for each organization the sink wants whose
 * cursor is behind its head and that is not backing off, take the batch held from a failed
 * attempt (retried as it was) or read the next one from the store (contiguous seqs from the
 * cursor; a gap ends the batch, a duplicate row is skipped), send it with a deadline, and
 * only after the sink acknowledged it move the cursor and persist it (CursorStore, fsynced).
 * A crash between the acknowledgement and the save resends that batch once: at least once,
 * never a skipped event. Failures back off per organization with the one backoff
 * (@warden/service-kit); the store is read with a deadline too.
 */
import type { StoredRecord } from '@warden/audit-events';
import { type Backoff, createBackoff, deadline, delay } from '@warden/service-kit';
import { SinkError, wantsAction, wantsOrg, type CursorStore, type DeliveryBatch, type DeliverySource, type Sink, type SinkFilter } from '../domain/delivery.js';
import type { Clock } from '../domain/ports.js';
import type { AuditLogLogger } from './logger.js';

export type DeliveryOptions = {
  /** Reads only: log sizes and ordered scans. */
  readonly store: DeliverySource;
  readonly sink: Sink;
  readonly cursors: CursorStore;
  readonly filter: SinkFilter;
  /** Most events scanned per batch. */
  readonly batchSize: number;
  /** Deadline of one send and of one store read, in ms. */
  readonly timeoutMs: number;
  /** Wait between rounds when there was nothing to send, in ms. */
  readonly pollMs: number;
  /** First and longest retry delay after a failure, in ms. */
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
  readonly logger: AuditLogLogger;
  readonly clock?: Clock;
};

/** One sink's state, for `/metrics`. */
export type DeliveryStatus = {
  readonly sink: string;
  /** Events logged and not yet delivered (or passed by the filter), over the organizations the sink wants. */
  readonly pendingEvents: number;
  /** Seconds since the oldest undelivered event was logged (0 when caught up). */
  readonly lagSeconds: number;
  /** Organizations stopped by a response the protocol forbids retrying (until restart). */
  readonly stalled: number;
};

/** A batch read from the store, kept until the sink acknowledges it (a retry resends it as it was). */
type HeldBatch = DeliveryBatch & { readonly firstLoggedAt: string };

type OrgState = {
  cursor: number;
  head: number;
  held: HeldBatch | undefined;
  /** loggedAt (ms) of the first undelivered event, once read. */
  oldestMs: number | undefined;
  backoff: Backoff | undefined;
  notBefore: number;
  stalled: boolean;
  /** Since when (ms) the next event has not been readable, and whether that was logged. */
  gapSince: number | undefined;
  gapLogged: boolean;
};

/** A gap (an event counted in the log's size but not readable yet) is normal for an instant while it is written; this long, it is logged. */
const GAP_WARN_MS = 30_000;

export class Delivery {
  private readonly orgs = new Map<string, OrgState>();
  private readonly stop = new AbortController();
  private readonly clock: Clock;
  private readonly storeBackoff: Backoff;
  private running: Promise<void> | undefined;
  private readonly warnedBeyond = new Set<string>();
  /** Counters since start (the metrics read them). */
  delivered = 0;
  failures = 0;
  /** Rounds completed (the first one reads the heads: before it, pending counts are unknown). */
  rounds = 0;

  constructor(private readonly options: DeliveryOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.storeBackoff = createBackoff(options.retry);
  }

  get name(): string {
    return this.options.sink.name;
  }

  /** Loads the cursors (fails if they cannot be read: delivering from 0 again would be silent duplication) and starts the loop. */
  async start(): Promise<void> {
    const saved = await this.options.cursors.load();
    for (const [org, cursor] of saved) this.orgs.set(org, this.fresh(cursor));
    this.running = this.loop();
  }

  /** Stops the loop; a send in flight is cancelled and will be sent again after a restart. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  status(): DeliveryStatus {
    const now = this.clock().getTime();
    let pendingEvents = 0;
    let lagSeconds = 0;
    let stalled = 0;
    for (const [org, state] of this.orgs) {
      if (!wantsOrg(this.options.filter, org)) continue;
      const pending = Math.max(0, state.head - state.cursor);
      pendingEvents += pending;
      if (pending > 0 && state.oldestMs !== undefined) lagSeconds = Math.max(lagSeconds, (now - state.oldestMs) / 1000);
      if (state.stalled) stalled += 1;
    }
    return { sink: this.name, pendingEvents, lagSeconds, stalled };
  }

  private fresh(cursor: number): OrgState {
    return { cursor, head: cursor, held: undefined, oldestMs: undefined, backoff: undefined, notBefore: 0, stalled: false, gapSince: undefined, gapLogged: false };
  }

  private async loop(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      let wait = this.options.pollMs;
      try {
        if (await this.round(signal)) wait = 0;
        this.rounds += 1;
        this.storeBackoff.reset();
      } catch (error) {
        if (signal.aborted) return;
        // The store (heads, scan) or the cursor file failed: back off the whole sink.
        wait = this.storeBackoff.next();
        this.options.logger.warn({ err: error, sink: this.name, retryInMs: wait }, 'delivery round failed');
      }
      if (wait > 0) await delay(wait, signal);
    }
  }

  /** One pass over the organizations; true when a batch was acknowledged (go again at once). */
  private async round(signal: AbortSignal): Promise<boolean> {
    const { filter } = this.options;
    const heads = await this.options.store.heads({ signal: this.deadline(signal) });
    let progressed = false;
    for (const head of heads) {
      if (signal.aborted) return false;
      if (!wantsOrg(filter, head.org)) continue;
      let state = this.orgs.get(head.org);
      if (state === undefined) this.orgs.set(head.org, (state = this.fresh(0)));
      if (state.cursor > head.size && !this.warnedBeyond.has(head.org)) {
        this.warnedBeyond.add(head.org);
        this.options.logger.warn({ sink: this.name, org: head.org, cursor: state.cursor, size: head.size }, 'delivery cursor is beyond the log: is this the store the cursor was saved for?');
      }
      state.head = Math.max(state.head, head.size);
      if (state.cursor >= state.head) {
        state.oldestMs = undefined;
        continue;
      }
      if (state.stalled || this.clock().getTime() < state.notBefore) continue;
      const batch = state.held ?? (await this.read(state, head.org, Math.min(state.head, state.cursor + this.options.batchSize), signal));
      if (batch === undefined) continue;
      state.held = batch;
      if (await this.send(state, batch, signal)) progressed = true;
    }
    return progressed;
  }

  /** Contiguous records from `from` (a duplicate row is skipped, a gap ends the batch); undefined when `from` itself is not readable yet. */
  private async read(state: OrgState, org: string, to: number, signal: AbortSignal): Promise<HeldBatch | undefined> {
    const from = state.cursor;
    const scanned: StoredRecord[] = [];
    let next = from;
    for await (const record of this.options.store.scan(org, from, to, { signal: this.deadline(signal) })) {
      if (record.seq < next) continue;
      if (record.seq > next) break;
      scanned.push(record);
      next += 1;
    }
    const first = scanned[0];
    const now = this.clock().getTime();
    if (first === undefined) {
      state.gapSince ??= now;
      if (!state.gapLogged && now - state.gapSince >= GAP_WARN_MS) {
        state.gapLogged = true;
        this.options.logger.warn({ sink: this.name, org, seq: from, forMs: now - state.gapSince }, 'delivery waits: the next event of this organization is counted but not readable');
      }
      return undefined;
    }
    state.gapSince = undefined;
    state.gapLogged = false;
    const records = scanned.filter((r) => wantsAction(this.options.filter, r.event.action));
    return { org, from, to: next, records, firstLoggedAt: first.loggedAt };
  }

  private async send(state: OrgState, batch: HeldBatch, signal: AbortSignal): Promise<boolean> {
    const { logger } = this.options;
    state.oldestMs ??= Date.parse(batch.firstLoggedAt);
    if (batch.records.length > 0) {
      try {
        await this.options.sink.send(batch, { signal: this.deadline(signal) });
      } catch (error) {
        if (signal.aborted) return false;
        this.failures += 1;
        state.backoff ??= createBackoff(this.options.retry);
        const retryable = !(error instanceof SinkError) || error.retryable;
        if (!retryable) {
          state.stalled = true;
          logger.error({ err: error, sink: this.name, org: batch.org, from: batch.from }, 'delivery stopped for this organization: the sink refused the batch and its protocol forbids resending it (restart to retry)');
          return false;
        }
        const hint = error instanceof SinkError ? error.retryAfterMs : undefined;
        const wait = Math.min(this.options.retry.maxMs, Math.max(hint ?? 0, state.backoff.next()));
        state.notBefore = this.clock().getTime() + wait;
        logger.warn({ err: error, sink: this.name, org: batch.org, from: batch.from, attempt: state.backoff.attempts, retryInMs: wait }, 'delivery failed; will retry');
        return false;
      }
    }
    state.cursor = batch.to;
    state.held = undefined;
    state.oldestMs = undefined;
    state.backoff?.reset();
    state.notBefore = 0;
    this.delivered += batch.records.length;
    await this.options.cursors.save(this.cursorMap());
    return true;
  }

  private cursorMap(): Map<string, number> {
    return new Map([...this.orgs].map(([org, state]) => [org, state.cursor]));
  }

  private deadline(signal: AbortSignal): AbortSignal {
    return deadline(this.options.timeoutMs, signal);
  }
}
