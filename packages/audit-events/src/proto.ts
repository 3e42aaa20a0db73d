/**
 * Audit events ⇄ protobuf (warden.audit.v1), both directions in one place: what a
 * producer (the authz outbox relay, the Node SDK) signs and sends is exactly what the
 * service rebuilds and verifies. `eventFromProto` does not validate: its result goes
 * through parseEvent. Optional fields are omitted, never set to undefined, so the
 * RFC 8785 form of an event is the same on both sides of the wire.
 */
import type { KeyObject } from 'node:crypto';
import {
  ProblemKind as ProtoProblemKind,
  type AppendRequest,
  type AppendResponse,
  type AppendResult,
  type Event,
  type Problem as ProtoProblem,
  type SignedEvent,
  type StoredEvent,
  type VerifyResponse,
} from '@warden/proto/audit/v1';
import { isBatchSignature, signBatch } from './batch-signature.js';
import type { AuditEvent } from './event.js';
import { signEvent } from './keys.js';
import type { StoredRecord } from './log-record.js';
import type { Problem, ProblemKind, VerifyReport } from './verify.js';

/** A signed event as received, not yet validated: `event` is for parseEvent. */
export type ReceivedEvent = { readonly event: unknown; readonly signature: Uint8Array | undefined };

export function eventToProto(event: AuditEvent): Event {
  return {
    id: event.id,
    occurredAt: new Date(event.occurredAt),
    actor: { type: event.actor.type, id: event.actor.id, ...(event.actor.onBehalfOf !== undefined ? { onBehalfOf: event.actor.onBehalfOf } : {}) },
    action: event.action,
    resource: event.resource,
    ...(event.before !== undefined ? { before: event.before } : {}),
    ...(event.after !== undefined ? { after: event.after } : {}),
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    ...(event.request !== undefined ? { request: { ...event.request } } : {}),
    producer: event.producer,
    keyId: event.keyId,
  };
}

/** The event as a plain object in the shape parseEvent expects (camelCase, absent fields omitted). */
export function eventFromProto(event: Event | undefined): unknown {
  if (event === undefined) return undefined;
  const out: Record<string, unknown> = {
    id: event.id,
    action: event.action,
    resource: event.resource,
    producer: event.producer,
    keyId: event.keyId,
  };
  if (event.occurredAt !== undefined && !Number.isNaN(event.occurredAt.getTime())) out.occurredAt = event.occurredAt.toISOString();
  if (event.actor !== undefined) {
    const actor: Record<string, unknown> = { type: event.actor.type, id: event.actor.id };
    if (event.actor.onBehalfOf !== undefined) actor.onBehalfOf = event.actor.onBehalfOf;
    out.actor = actor;
  }
  if (event.before !== undefined) out.before = event.before as unknown;
  if (event.after !== undefined) out.after = event.after as unknown;
  if (event.reason !== undefined) out.reason = event.reason;
  const r = event.request;
  if (r !== undefined && (r.ip !== undefined || r.userAgent !== undefined || r.traceId !== undefined)) {
    const request: Record<string, unknown> = {};
    if (r.ip !== undefined) request.ip = r.ip;
    if (r.userAgent !== undefined) request.userAgent = r.userAgent;
    if (r.traceId !== undefined) request.traceId = r.traceId;
    out.request = request;
  }
  return out;
}

/** Signs the event's canonical JSON (RFC 8785) with Ed25519 and wraps it for Append. */
export function signedEventToProto(event: AuditEvent, privateKey: KeyObject): SignedEvent {
  return { event: eventToProto(event), signature: signEvent(event, privateKey) };
}

/**
 * A batch-signed Append (batch-signature.ts): one Ed25519 signature over the RFC 9162
 * root of the events' canonical JSON, in this order; every per-event signature empty.
 * All events must name the same producer and key id (the key that signs).
 */
export function batchSignedAppendRequest(events: readonly AuditEvent[], privateKey: KeyObject): AppendRequest {
  const first = events[0];
  if (first === undefined) throw new RangeError('a batch has at least one event');
  events.forEach((e, i) => {
    if (e.producer !== first.producer || e.keyId !== first.keyId) throw new TypeError(`events[${i}] names ${e.producer}/${e.keyId}, not ${first.producer}/${first.keyId}: a batch is signed by one key`);
  });
  return { events: events.map((event) => ({ event: eventToProto(event), signature: Buffer.alloc(0) })), batchSignature: signBatch(events, privateKey) };
}

const BLOCKED_BY_BATCH = /^events\[\d+\]\.batch_signature$/;

/**
 * Sends `events` as one batch-signed Append through `send`, one answer per event. When
 * some events were refused for their own reason (e.g. malformed) and so kept the batch
 * signature from being checked, the events refused only for that are signed again
 * without them and sent once more: one bad event does not hold back its batch. Events
 * naming more than one producer key (e.g. replayed from before a key change) cannot
 * share a batch signature: then each is signed on its own.
 */
export async function appendBatchSigned(
  events: readonly AuditEvent[],
  privateKey: KeyObject,
  send: (request: AppendRequest) => Promise<AppendResponse>,
): Promise<AppendResult[]> {
  const first = events[0];
  if (first === undefined) return [];
  if (events.some((e) => e.producer !== first.producer || e.keyId !== first.keyId)) {
    return (await send({ events: events.map((event) => signedEventToProto(event, privateKey)), batchSignature: Buffer.alloc(0) })).results;
  }
  const results = (await send(batchSignedAppendRequest(events, privateKey))).results.slice();
  const blocked = (result: AppendResult | undefined) => result?.error !== undefined && BLOCKED_BY_BATCH.test(result.error.field);
  const held = events.flatMap((_, i) => (blocked(results[i]) ? [i] : []));
  const ownReasons = results.some((r) => r.error !== undefined && !blocked(r));
  if (held.length === 0 || !ownReasons) return results;
  const again = (await send(batchSignedAppendRequest(held.map((i) => events[i] as AuditEvent), privateKey))).results;
  held.forEach((at, j) => {
    const answer = again[j];
    if (answer === undefined) return;
    // Name the event by its place in the caller's batch, not in the second request.
    const rename = (text: string) => text.replace(`events[${j}]`, `events[${at}]`);
    results[at] = answer.error === undefined ? answer : { ...answer, error: { ...answer.error, field: rename(answer.error.field), message: rename(answer.error.message) } };
  });
  return results;
}

/**
 * A stored event's signature as Query and Export send it (`StoredEvent.signed.signature`)
 * back to its stored text: a batch-signed event's form is its UTF-8 text (it starts with
 * the batch version), a per-event signature its 64 bytes (stored as base64). The text
 * {@link verifyRecordSignature} takes.
 */
export function storedSignatureFromProto(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes);
  const text = buffer.toString('utf8');
  return isBatchSignature(text) ? text : buffer.toString('base64');
}

/** An empty signature is no signature. */
export function signedEventFromProto(signed: SignedEvent): ReceivedEvent {
  return { event: eventFromProto(signed.event), signature: signed.signature.length === 0 ? undefined : signed.signature };
}

/** A logged record as Query returns it. */
export function storedRecordToProto(record: StoredRecord): StoredEvent {
  const e = record.event;
  const event: Event = {
    id: e.id,
    occurredAt: new Date(e.occurredAt),
    actor: { type: e.actor.type, id: e.actor.id, ...(e.actor.onBehalfOf !== undefined ? { onBehalfOf: e.actor.onBehalfOf } : {}) },
    action: e.action,
    resource: e.resource,
    producer: e.producer,
    keyId: e.keyId,
    request: { ...(e.request?.ip !== undefined ? { ip: e.request.ip } : {}), ...(e.request?.userAgent !== undefined ? { userAgent: e.request.userAgent } : {}), ...(e.request?.traceId !== undefined ? { traceId: e.request.traceId } : {}) },
  };
  if (e.before !== undefined) event.before = e.before;
  if (e.after !== undefined) event.after = e.after;
  if (e.reason !== undefined) event.reason = e.reason;
  return {
    // A per-event signature as its 64 bytes; a batch-signed event's stored form as its UTF-8 text.
    signed: { event, signature: Buffer.from(record.signature, isBatchSignature(record.signature) ? 'utf8' : 'base64') },
    org: record.org,
    seq: record.seq,
    loggedAt: new Date(record.loggedAt),
    project: record.project,
    environment: record.environment,
    leafHash: record.leafHash,
    chainHash: record.chainHash,
    payloadExpired: record.payloadExpired,
  };
}

const KINDS: Record<ProblemKind, ProtoProblemKind> = {
  edited: ProtoProblemKind.PROBLEM_KIND_EDITED,
  missing: ProtoProblemKind.PROBLEM_KIND_MISSING,
  extra: ProtoProblemKind.PROBLEM_KIND_EXTRA,
  'bad-event-signature': ProtoProblemKind.PROBLEM_KIND_BAD_EVENT_SIGNATURE,
  chain: ProtoProblemKind.PROBLEM_KIND_CHAIN,
  'root-mismatch': ProtoProblemKind.PROBLEM_KIND_ROOT_MISMATCH,
  'forged-checkpoint': ProtoProblemKind.PROBLEM_KIND_FORGED_CHECKPOINT,
  rollback: ProtoProblemKind.PROBLEM_KIND_ROLLBACK,
};

const KIND_NAMES = new Map<ProtoProblemKind, ProblemKind>(Object.entries(KINDS).map(([name, kind]) => [kind, name as ProblemKind]));

export function problemKindToProto(kind: ProblemKind): ProtoProblemKind {
  return KINDS[kind];
}

/** Undefined for PROBLEM_KIND_UNSPECIFIED or a kind this version does not know. */
export function problemKindFromProto(kind: ProtoProblemKind): ProblemKind | undefined {
  return KIND_NAMES.get(kind);
}

function problemToProto(problem: Problem): ProtoProblem {
  return { kind: KINDS[problem.kind], seq: problem.seq, eventId: problem.eventId, message: problem.message };
}

export function verifyReportToProto(report: VerifyReport): VerifyResponse {
  return {
    ok: report.ok,
    eventsChecked: report.eventsChecked,
    checkpointsVerified: report.checkpointsVerified,
    payloadsExpired: report.payloadsExpired,
    ...(report.firstProblem !== undefined ? { firstProblem: problemToProto(report.firstProblem) } : {}),
    problems: report.problems.map(problemToProto),
    treeSize: report.treeSize,
  };
}
