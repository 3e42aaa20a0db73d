/**
 * The outbox relay: ships the audit events that every write put in the outbox (in the
 * write's own transaction) to the audit service, at least once.
 *
 *  - Batches are claimed from the `Outbox` port (several replicas may relay side by side;
 *    a crash between the append and the claim's commit only means the batch is sent again,
 *    and the audit service answers DUPLICATE for events it has: event ids are the outbox
 *    ids, UUIDv7, stable).
 *  - Events go in revision order. An event the audit service refuses stays in the outbox
 *    with its attempts and last error (and is logged): nothing is dropped.
 *  - While the audit service is unreachable the relay backs off (250 ms doubling to 10 s)
 *    and retries; writes to the grant graph carry on meanwhile.
 */
import { actorFromSubject, type AuditEvent } from '@warden/audit-events';
import { createBackoff, delay } from '@warden/service-kit';
import type { AuditSink, Outbox, OutboxEntry } from '../ports.js';

/** The two log levels the relay uses (a pino logger fits). */
export interface RelayLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface OutboxRelayOptions {
  readonly outbox: Outbox;
  readonly sink: AuditSink;
  /** The producer name registered with the audit service, and its key id. */
  readonly producer: string;
  readonly keyId: string;
  readonly batchSize: number;
  /** How often to look for new events when the outbox is empty. */
  readonly intervalMs: number;
  readonly log: RelayLog;
}

export interface OutboxRelay {
  /** Ships until the outbox is empty (or the audit service refuses or is unreachable); resolves with how many were shipped. */
  drain(): Promise<number>;
  readonly stats: { shipped: number; refused: number; failedAttempts: number };
  stop(): Promise<void>;
}

/** The audit event of an outbox entry, as authz (the producer) signs it. */
export function toAuditEvent(entry: OutboxEntry, producer: string, keyId: string): AuditEvent {
  const e = entry.event;
  return {
    id: entry.id,
    occurredAt: new Date(e.occurred_at).toISOString(),
    // Authz's own components (`system:world-file`, in rows written before the writer mapped them) act as `service:warden.<component>`.
    actor: actorFromSubject(`${e.actor.type}:${e.actor.id}`, { wardenComponents: true }),
    action: e.action,
    resource: e.resource,
    before: (e.before ?? null) as AuditEvent['before'],
    after: (e.after ?? null) as AuditEvent['after'],
    ...(e.reason ? { reason: e.reason } : {}),
    producer,
    keyId,
  };
}

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { outbox, sink, log } = options;
  const stats = { shipped: 0, refused: 0, failedAttempts: 0 };
  const stopping = new AbortController();
  let running: Promise<number> | undefined;

  /** Ships one batch; resolves with how many entries shipped (fewer than a batch: the outbox is drained). */
  async function shipBatch(): Promise<number> {
    let shippedCount = 0;
    const claimed = await outbox.claim(options.batchSize, async (entries) => {
      const answers = await sink.append(entries.map((entry) => toAuditEvent(entry, options.producer, options.keyId)), stopping.signal);
      const shipped: string[] = [];
      const refused: Array<{ id: string; error: string }> = [];
      entries.forEach((entry, i) => {
        const answer = answers[i];
        if (answer?.accepted === true) shipped.push(entry.id);
        else refused.push({ id: entry.id, error: answer?.error ?? 'no answer for this event' });
      });
      for (const { id, error } of refused) log.error({ eventId: id, error }, 'the audit service refused an outbox event; it stays in the outbox');
      shippedCount = shipped.length;
      return { shipped, refused };
    });
    stats.shipped += shippedCount;
    stats.refused += claimed - shippedCount;
    // A refused event blocks nothing behind it, but do not spin on it: count as handled only what shipped.
    return shippedCount;
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const handled = await shipBatch();
      total += handled;
      if (handled < options.batchSize) return total;
    }
  }

  const loop = async () => {
    const backoff = createBackoff({ initialMs: 250, maxMs: 10_000 });
    let wait = options.intervalMs;
    while (!stopping.signal.aborted) {
      try {
        running = drain();
        await running;
        backoff.reset();
        wait = options.intervalMs;
      } catch (error) {
        if (stopping.signal.aborted) break;
        stats.failedAttempts++;
        wait = backoff.next();
        const unreachable = sink.isUnreachable(error);
        log.warn({ err: unreachable ? undefined : error, retryInMs: wait }, unreachable ? 'the audit service is unreachable; outbox events wait' : 'shipping outbox events failed');
      } finally {
        running = undefined;
      }
      await delay(wait, stopping.signal);
    }
  };
  const looping = loop();

  return {
    drain,
    stats,
    async stop() {
      stopping.abort();
      await running?.catch(() => undefined);
      await looping;
      sink.close();
    },
  };
}
