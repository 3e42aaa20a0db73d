/**
 * Protobuf ⇄ the service's requests and answers, in named functions. Events,
 * stored records and verify reports map in @warden/audit-events (one mapping for
 * producers and the service); what is the service's own lives here.
 */
import {
  AppendStatus,
  ExportFormat,
  Order as ProtoOrder,
  RefusalReason,
  type AppendResult,
  type ExportRequest as ProtoExportRequest,
  type Filter,
} from '@warden/proto/audit/v1';
import { Status } from 'nice-grpc';
import { InvalidArgumentError } from '@warden/errors';
import { parseOrgId } from '@warden/names';
import type { AppendOutcome, RefusalReason as DomainRefusal } from '../../domain/append.js';
import { parseFilter, type EventFilter, type Order } from '../../domain/query.js';
import type { ExportFormat as DomainExportFormat, ExportRequest } from '../../usecases/export.js';

/** `event.occurredAt` → `event.occurred_at` (proto field names in messages). */
export function protoFieldName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
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

export function exportFormatFromProto(format: ExportFormat): DomainExportFormat {
  if (format === ExportFormat.EXPORT_FORMAT_CSV) return 'csv';
  if (format === ExportFormat.EXPORT_FORMAT_JSONL || format === ExportFormat.EXPORT_FORMAT_UNSPECIFIED) return 'jsonl';
  throw new InvalidArgumentError('format', `unknown export format ${format}`);
}

/** ORDER_LOG is a whole organization log: only filter.org may be set, and no proofs (it verifies as a whole). */
export function exportRequestFromProto(request: ProtoExportRequest): ExportRequest {
  const format = exportFormatFromProto(request.format);
  if (request.withProofs && format === 'csv') throw new InvalidArgumentError('with_proofs', 'is for JSONL exports');
  if (request.order !== ProtoOrder.ORDER_LOG) return { kind: 'filtered', filter: filterFromProto(request.filter, request.order), format, withProofs: request.withProofs };
  if (request.withProofs) throw new InvalidArgumentError('with_proofs', 'is for filtered exports; a log-order export verifies as a whole');
  const f = request.filter;
  if (f === undefined) throw new InvalidArgumentError('filter', 'is required');
  if (f.org === '') throw new InvalidArgumentError('filter.org', 'is required');
  const org = parseOrgId(f.org, 'filter.org');
  if (f.project !== undefined || f.environment !== undefined || f.resource !== undefined || f.resourcePrefix !== undefined || f.actor !== undefined || f.actions.length > 0 || f.since !== undefined || f.until !== undefined) {
    throw new InvalidArgumentError('order', 'ORDER_LOG exports a whole organization log: set only filter.org');
  }
  return { kind: 'log', org, format };
}
