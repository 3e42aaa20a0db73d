/**
 * The audit client: records changes as signed audit events and ships them to the
 * audit service.
 *
 *  - Signs locally with the same code the authz relay uses (`@warden/audit-events`): one
 *    Ed25519 batch signature per Append over the RFC 9162 root of the events' RFC 8785
 *    canonical JSON — exactly what the service verifies; each stored event keeps its proof.
 *  - Batches (up to `batchSize`, or every `flushIntervalMs`), retries with backoff
 *    while the service is unreachable, never holds more than `maxQueue` events
 *    (`record` waits for room: backpressure, not loss).
 *  - With `spoolDir`, an event is appended and fsynced to a local spool before
 *    `record` resolves, and replayed at the next start: nothing acknowledged is lost
 *    across a crash. Answered batches are appended to the spool too; no file is ever
 *    rewritten: segments, deleted whole once answered (audit-spool.ts). Event ids are stable, so a replay of an
 *    event the service already has is answered DUPLICATE and stored once.
 *  - `close()` flushes everything (or leaves it in the spool) before it resolves.
 */
import type { KeyObject } from 'node:crypto';
import { ClientError, createChannel, createClient, Metadata, Status, type Channel } from 'nice-grpc';
import { v7 as uuidv7 } from 'uuid';
import { AppendStatus, AuditServiceDefinition } from '@warden/proto/audit/v1';
import { actorFromSubject, appendBatchSigned, parseEvent, type AuditEvent } from '@warden/audit-events';
import type { AuditRecorder, ChangeRecord } from './audit-recorder.js';
import { AuditSpool } from './audit-spool.js';
import { auditInstruments, observeAuditClient } from './audit-telemetry.js';
import { createBackoff } from '@warden/client-kit';

export interface AuditClientOptions {
  /** `host:port` of the audit service's gRPC API. */
  readonly address: string;
  /** The producer name registered with the audit service, e.g. `flags`. */
  readonly producer: string;
  /** The id of the producer key that signs. */
  readonly keyId: string;
  /** The Ed25519 private key (see `parsePrivateKey` in `@warden/audit-events`). */
  readonly signingKey: KeyObject;
  /**
   * An authz API key (or token) sent with every Append. Optional: producers' signatures
   * authenticate events; with one, the audit service authenticates it through authz and
   * an organization's key may append only to its organization.
   */
  readonly apiKey?: string | undefined;
  /**
   * Events per Append.
   * @defaultValue 100
   */
  readonly batchSize?: number | undefined;
  /**
   * How long an event may wait for a batch to fill.
   * @defaultValue 200
   */
  readonly flushIntervalMs?: number | undefined;
  /**
   * Most events held in memory; `record` waits while the queue is full.
   * @defaultValue 10000
   */
  readonly maxQueue?: number | undefined;
  /**
   * A folder for the local spool (fsynced before `record` resolves); off unless given.
   * @defaultValue undefined
   */
  readonly spoolDir?: string | undefined;
  /**
   * Lines (events and answer lines) per spool segment file; a segment is deleted once all its
   * events are answered.
   * @defaultValue 10000
   */
  readonly spoolSegmentLines?: number | undefined;
  /** Called for an event the service refuses for good (bad signature, unknown producer…). */
  readonly onRefused?: ((event: AuditEvent, message: string) => void) | undefined;
}

interface Pending {
  readonly event: AuditEvent;
}

/** `flags:enable` → `flags.enable`; a failure is `<action>.failed`. */
function auditActionOf(action: string, outcome: ChangeRecord['outcome']): string {
  const base = action.replace(':', '.');
  return outcome === 'failure' ? `${base}.failed` : base;
}

export function eventOf(change: ChangeRecord, producer: string, keyId: string): AuditEvent {
  const candidate = {
    id: change.correlationId,
    occurredAt: new Date().toISOString(),
    actor: actorFromSubject(change.actor),
    action: auditActionOf(change.action, change.outcome),
    resource: change.resource,
    before: change.before ?? null,
    after: change.outcome === 'failure' ? { error: change.error ?? 'failed' } : change.after ?? null,
    ...(change.reason ? { reason: change.reason } : {}),
    ...(change.traceId ? { request: { traceId: change.traceId } } : {}),
    producer,
    keyId,
  };
  const parsed = parseEvent(candidate);
  if (!parsed.ok) throw new TypeError(`cannot record this change: ${parsed.problem.field} ${parsed.problem.message}`);
  return parsed.event;
}

/** A new correlation id: a UUIDv7, so it can also be the audit event's id. */
export function newCorrelationId(): string {
  return uuidv7();
}

export interface AuditClient extends AuditRecorder {
  /** Sends everything queued now; resolves when the queue is empty. */
  flush(): Promise<void>;
  readonly stats: { readonly queued: number; readonly accepted: number; readonly duplicates: number; readonly refused: number; readonly failedAttempts: number };
}

export function createAuditClient(options: AuditClientOptions): AuditClient {
  const batchSize = options.batchSize ?? 100;
  const flushIntervalMs = options.flushIntervalMs ?? 200;
  const maxQueue = options.maxQueue ?? 10_000;
  const channel: Channel = createChannel(options.address);
  const metadata = options.apiKey ? Metadata({ authorization: `Bearer ${options.apiKey}` }) : Metadata();
  const audit = createClient(AuditServiceDefinition, channel, { '*': { metadata } });
  const spool = options.spoolDir !== undefined ? new AuditSpool(options.spoolDir, options.spoolSegmentLines) : undefined;
  const queue: Pending[] = (spool?.load() ?? []).map((event) => ({ event }));
  auditInstruments().queueDepth.add(queue.length);
  // Observable gauges (queue length, spool depth) read this client until close().
  const stopGauges = observeAuditClient({ producer: options.producer, queueLength: () => queue.length, spoolDepth: () => spool?.depth });
  const stats = { queued: queue.length, accepted: 0, duplicates: 0, refused: 0, failedAttempts: 0 };
  const waitingForRoom: Array<() => void> = [];
  const idle: Array<() => void> = [];
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> | undefined;
  const backoff = createBackoff({ initialMs: 100, maxMs: 5000 });
  let backoffMs = 0;
  let spooling = 0;

  const schedule = (delay: number) => {
    if (timer !== undefined || closed && queue.length === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void pump();
    }, delay);
  };

  async function sendOnce(): Promise<boolean> {
    const batch = queue.slice(0, batchSize);
    if (batch.length === 0) return true;
    const { clientEvents, queueDepth, shipped } = auditInstruments();
    try {
      // One Ed25519 signature for the batch (its events all name this client's producer key).
      const results = await appendBatchSigned(
        batch.map(({ event }) => event),
        options.signingKey,
        (request) => audit.append(request, { signal: AbortSignal.timeout(10_000) }),
      );
      results.forEach((result, i) => {
        const { event } = batch[i]!;
        if (result.status === AppendStatus.APPEND_STATUS_ACCEPTED) stats.accepted++;
        else if (result.status === AppendStatus.APPEND_STATUS_DUPLICATE) stats.duplicates++;
        else {
          stats.refused++;
          options.onRefused?.(event, result.error?.message ?? 'refused');
        }
        shipped.add(1, { outcome: result.status === AppendStatus.APPEND_STATUS_ACCEPTED ? 'accepted' : result.status === AppendStatus.APPEND_STATUS_DUPLICATE ? 'duplicate' : 'refused' });
      });
      clientEvents.add(batch.length, { 'warden.result': 'sent' });
      // Remove exactly what was sent (a flush may have sent the same batch meanwhile).
      const sent = new Set(batch);
      const answered = queue.filter((p) => sent.has(p));
      const remaining = queue.filter((p) => !sent.has(p));
      queue.splice(0, queue.length, ...remaining);
      queueDepth.add(-answered.length);
      stats.queued = queue.length;
      while (waitingForRoom.length > 0 && queue.length + spooling < maxQueue) waitingForRoom.shift()!();
      // Losing this line only means the events are sent again after a restart (answered DUPLICATE).
      if (answered.length > 0) await spool?.answer(answered.map((p) => p.event.id)).catch(() => undefined);
      backoff.reset();
      backoffMs = 0;
      return true;
    } catch (error) {
      stats.failedAttempts++;
      clientEvents.add(batch.length, { 'warden.result': 'failed' });
      const retryable = !(error instanceof ClientError) || [Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.RESOURCE_EXHAUSTED, Status.INTERNAL, Status.UNKNOWN].includes(error.code);
      backoffMs = retryable ? backoff.next() : 5000;
      return false;
    }
  }

  async function pump(): Promise<void> {
    if (sending !== undefined) return sending;
    sending = (async () => {
      while (queue.length > 0) {
        const ok = await sendOnce();
        if (!ok) {
          if (closed) return;
          schedule(backoffMs);
          return;
        }
        if (queue.length < batchSize && !closed) break;
      }
    })().finally(() => {
      sending = undefined;
      if (queue.length === 0) while (idle.length > 0) idle.shift()!();
      else if (!closed) schedule(queue.length >= batchSize ? 0 : flushIntervalMs);
    });
    return sending;
  }

  return {
    stats,
    validate(change) {
      eventOf(change, options.producer, options.keyId);
    },
    async record(change) {
      if (closed) throw new Error('the audit client is closed');
      const event = eventOf(change, options.producer, options.keyId);
      // Events on their way into the spool count against maxQueue too.
      while (queue.length + spooling >= maxQueue) await new Promise<void>((resolve) => waitingForRoom.push(resolve));
      spooling += 1;
      try {
        await spool?.append(event);
      } finally {
        spooling -= 1;
      }
      queue.push({ event });
      auditInstruments().queueDepth.add(1);
      stats.queued = queue.length;
      if (queue.length >= batchSize) void pump();
      else schedule(flushIntervalMs);
    },
    async flush() {
      while (queue.length > 0) {
        const ok = await sendOnce();
        if (!ok) await new Promise((resolve) => setTimeout(resolve, backoffMs));
      }
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await sending;
      // Try to deliver what is left; with a spool, whatever cannot be delivered stays on disk for the next start.
      const deadline = Date.now() + 10_000;
      while (queue.length > 0 && Date.now() < deadline) {
        if (!(await sendOnce())) await new Promise((resolve) => setTimeout(resolve, Math.min(backoffMs, Math.max(0, deadline - Date.now()))));
      }
      stopGauges();
      await spool?.close();
      channel.close();
    },
  };
}
