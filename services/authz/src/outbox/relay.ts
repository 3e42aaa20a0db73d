/**
 * The outbox relay: ships the audit events that every write put in the outbox (in
 * the write's own transaction) to the audit service, signed, at least once.
 *
 *  - Batches are claimed with FOR UPDATE SKIP LOCKED, so several replicas relay side
 *    by side without shipping the same event twice at once; a crash between Append
 *    and the commit only means the batch is sent again, and the audit service answers
 *    DUPLICATE for events it has (event ids are the outbox ids, UUIDv7, stable).
 *  - Events go in revision order. An event the audit service refuses stays in the
 *    outbox with its attempts and last error (and is logged): nothing is dropped.
 *  - While the audit service is unreachable the relay backs off (up to 10 s) and
 *    retries; writes to the grant graph carry on meanwhile.
 */
import type { KeyObject } from 'node:crypto';
import { ClientError, createChannel, createClient, Status, type Channel } from 'nice-grpc';
import type pg from 'pg';
import type { Logger } from 'pino';
import { AppendStatus, AuditServiceDefinition } from '@warden/proto/audit/v1';
import { actorFromSubject, signedEventToProto, type AuditEvent } from '@warden/audit-events';
import { createBackoff, delay } from '@warden/service-kit';

export interface OutboxRelayOptions {
  readonly pool: pg.Pool;
  /** `host:port` of the audit service's gRPC API. */
  readonly address: string;
  /** The producer name registered with the audit service. */
  readonly producer: string;
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly batchSize: number;
  /** How often to look for new events when the outbox is empty. */
  readonly intervalMs: number;
  readonly logger: Logger;
}

export interface OutboxRelay {
  /** Ships until the outbox is empty (or the audit service refuses or is unreachable); resolves with how many were shipped. */
  drain(): Promise<number>;
  readonly stats: { shipped: number; refused: number; failedAttempts: number };
  stop(): Promise<void>;
}

interface OutboxRow {
  id: string;
  event: {
    id: string;
    occurred_at: string;
    actor: { type: string; id: string };
    action: string;
    resource: string;
    before: unknown;
    after: unknown;
    reason: string | null;
  };
}

export function toAuditEvent(row: OutboxRow, producer: string, keyId: string): AuditEvent {
  const e = row.event;
  return {
    id: row.id,
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
  const { pool, logger } = options;
  const channel: Channel = createChannel(options.address);
  const audit = createClient(AuditServiceDefinition, channel);
  const stats = { shipped: 0, refused: 0, failedAttempts: 0 };
  const stopping = new AbortController();
  let running: Promise<number> | undefined;

  /** Ships one batch; returns how many rows it handled (0: the outbox is empty). */
  async function shipBatch(): Promise<number> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxRow>(
        `SELECT id, event FROM outbox WHERE shipped_at IS NULL ORDER BY revision, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [options.batchSize],
      );
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const response = await audit.append(
        { events: rows.map((row) => signedEventToProto(toAuditEvent(row, options.producer, options.keyId), options.privateKey)) },
        { signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(10_000)]) },
      );
      const shipped: string[] = [];
      const refused: Array<{ id: string; error: string }> = [];
      response.results.forEach((result, i) => {
        const id = rows[i]!.id;
        if (result.status === AppendStatus.APPEND_STATUS_ACCEPTED || result.status === AppendStatus.APPEND_STATUS_DUPLICATE) shipped.push(id);
        else refused.push({ id, error: result.error?.message ?? 'refused without a reason' });
      });
      if (shipped.length > 0) await client.query('UPDATE outbox SET shipped_at = now() WHERE id = ANY($1::uuid[])', [shipped]);
      for (const { id, error } of refused) {
        await client.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [id, error]);
        logger.error({ eventId: id, error }, 'the audit service refused an outbox event; it stays in the outbox');
      }
      await client.query('COMMIT');
      stats.shipped += shipped.length;
      stats.refused += refused.length;
      // A refused event blocks nothing behind it, but do not spin on it: report it as handled only if something shipped.
      return shipped.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
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
    // The one backoff (@warden/service-kit): 250 ms doubling to 10 s while the audit service fails.
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
        const unavailable = error instanceof ClientError && [Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED].includes(error.code);
        logger.warn({ err: unavailable ? undefined : error, retryInMs: wait }, unavailable ? 'the audit service is unreachable; outbox events wait' : 'shipping outbox events failed');
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
      channel.close();
    },
  };
}
