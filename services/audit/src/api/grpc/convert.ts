/** Protobuf ⇄ domain, in named functions. Only api/ sees generated types. */
import {
  AppendStatus,
  ExportFormat,
  Order as ProtoOrder,
  ProblemKind,
  RefusalReason,
  type AppendResult,
  type Event,
  type Filter,
  type Problem as ProtoProblem,
  type SignedEvent,
  type StoredEvent,
  type VerifyResponse,
} from '@warden/proto/audit/v1';
import { Status } from 'nice-grpc';
import type { AppendInput, AppendOutcome, RefusalReason as DomainRefusal } from '../../domain/audit-log.js';
import { InvalidArgumentError } from '@warden/errors';
import type { StoredRecord } from '../../domain/log-record.js';
import { parseFilter, type EventFilter, type Order } from '../../domain/query.js';
import type { Problem, ProblemKind as DomainProblemKind, VerifyReport } from '../../domain/verify.js';

/** `event.occurredAt` → `event.occurred_at` (proto field names in messages). */
export function protoFieldName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

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

export function appendInputFromProto(signed: SignedEvent): AppendInput {
  return { event: eventFromProto(signed.event), signature: signed.signature.length === 0 ? undefined : signed.signature };
}

const REFUSALS: Record<DomainRefusal, { reason: RefusalReason; code: Status }> = {
  malformed: { reason: RefusalReason.REFUSAL_REASON_MALFORMED, code: Status.INVALID_ARGUMENT },
  oversized: { reason: RefusalReason.REFUSAL_REASON_OVERSIZED, code: Status.INVALID_ARGUMENT },
  'future-dated': { reason: RefusalReason.REFUSAL_REASON_FUTURE_DATED, code: Status.INVALID_ARGUMENT },
  unsigned: { reason: RefusalReason.REFUSAL_REASON_UNSIGNED, code: Status.UNAUTHENTICATED },
  'bad-signature': { reason: RefusalReason.REFUSAL_REASON_BAD_SIGNATURE, code: Status.UNAUTHENTICATED },
  'unknown-producer': { reason: RefusalReason.REFUSAL_REASON_UNKNOWN_PRODUCER, code: Status.UNAUTHENTICATED },
  'unknown-key': { reason: RefusalReason.REFUSAL_REASON_UNKNOWN_KEY, code: Status.UNAUTHENTICATED },
  'revoked-key': { reason: RefusalReason.REFUSAL_REASON_REVOKED_KEY, code: Status.PERMISSION_DENIED },
  conflict: { reason: RefusalReason.REFUSAL_REASON_CONFLICT, code: Status.ALREADY_EXISTS },
};

export function appendResultToProto(outcome: AppendOutcome, index: number): AppendResult {
  if (outcome.status === 'refused') {
    const mapped = REFUSALS[outcome.reason];
    const field = `events[${index}].${protoFieldName(outcome.field)}`;
    return {
      id: outcome.id,
      status: AppendStatus.APPEND_STATUS_REFUSED,
      seq: 0,
      error: { code: mapped.code, reason: mapped.reason, field, message: `${field}: ${outcome.message}` },
    };
  }
  return {
    id: outcome.id,
    status: outcome.status === 'accepted' ? AppendStatus.APPEND_STATUS_ACCEPTED : AppendStatus.APPEND_STATUS_DUPLICATE,
    seq: outcome.seq,
  };
}

export function orderFromProto(order: ProtoOrder): Order {
  if (order === ProtoOrder.ORDER_LOG) throw new InvalidArgumentError('order', 'ORDER_LOG is for Export of a whole organization log');
  return order === ProtoOrder.ORDER_OLDEST_FIRST ? 'oldest' : 'newest';
}

export function filterFromProto(filter: Filter | undefined, order: ProtoOrder): EventFilter {
  if (filter === undefined) throw new InvalidArgumentError('filter', 'is required');
  return parseFilter({
    org: filter.org,
    project: filter.project,
    environment: filter.environment,
    resource: filter.resource,
    resourcePrefix: filter.resourcePrefix,
    actor: filter.actor,
    actions: filter.actions,
    since: filter.since,
    until: filter.until,
    order: orderFromProto(order),
  });
}

export function exportFormatFromProto(format: ExportFormat): 'jsonl' | 'csv' {
  if (format === ExportFormat.EXPORT_FORMAT_CSV) return 'csv';
  if (format === ExportFormat.EXPORT_FORMAT_JSONL || format === ExportFormat.EXPORT_FORMAT_UNSPECIFIED) return 'jsonl';
  throw new InvalidArgumentError('format', `unknown export format ${format}`);
}

export function storedEventToProto(record: StoredRecord): StoredEvent {
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
    signed: { event, signature: Buffer.from(record.signature, 'base64') },
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

const KINDS: Record<DomainProblemKind, ProblemKind> = {
  edited: ProblemKind.PROBLEM_KIND_EDITED,
  missing: ProblemKind.PROBLEM_KIND_MISSING,
  extra: ProblemKind.PROBLEM_KIND_EXTRA,
  'bad-event-signature': ProblemKind.PROBLEM_KIND_BAD_EVENT_SIGNATURE,
  chain: ProblemKind.PROBLEM_KIND_CHAIN,
  'root-mismatch': ProblemKind.PROBLEM_KIND_ROOT_MISMATCH,
  'forged-checkpoint': ProblemKind.PROBLEM_KIND_FORGED_CHECKPOINT,
  rollback: ProblemKind.PROBLEM_KIND_ROLLBACK,
};

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
