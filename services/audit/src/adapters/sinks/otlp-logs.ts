/**
 * Audit records as an OTLP ExportLogsServiceRequest in the OTLP/HTTP JSON encoding
 * (OpenTelemetry Protocol 1.x; opentelemetry-proto ≥ 1.5.0 for `eventName`): field names in
 * lowerCamelCase, 64-bit integers as decimal strings, enums as numbers, trace ids as hex.
 *
 * Mapping (OpenTelemetry log data model and semantic conventions 1.45.0):
 *  - resource `service.name` = `warden-audit`; scope `warden.audit`;
 *  - `timeUnixNano` = the event's occurredAt, `observedTimeUnixNano` = its loggedAt;
 *  - `severityNumber` 9 / `severityText` `INFO`;
 *  - `eventName` = `warden.audit.<action>` (namespaced, as the conventions ask of
 *    custom event names); `body` = the RFC 8785 canonical JSON of the event: the exact
 *    bytes the producer signed, so the signature attribute verifies against it;
 *  - `traceId` = request.traceId when it is a W3C trace id (32 hex, not all zero);
 *  - attributes: `log.record.uid` (event id), `user.id` (actor id of a `user` actor),
 *    `client.address` (request.ip), `user_agent.original` (request.userAgent), and
 *    `warden.*` for what has no convention (org, seq, action, resource, actor, producer,
 *    key id, signature, leaf and chain hashes, reason, on-behalf-of, payload expiry).
 */
import { canonicalEvent, type StoredRecord } from '@warden/audit-events';

export const SCOPE = { name: 'warden.audit', version: '0.1.0' } as const;

type AnyValue = { stringValue: string } | { intValue: string } | { boolValue: boolean };
type KeyValue = { key: string; value: AnyValue };

const str = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } });

function nanos(iso: string): string {
  return (BigInt(Date.parse(iso)) * 1_000_000n).toString();
}

const TRACE_ID = /^[0-9a-f]{32}$/;

export function toOtlpLogRecord(record: StoredRecord): Record<string, unknown> {
  const { event } = record;
  const attributes: KeyValue[] = [
    str('log.record.uid', event.id),
    str('warden.org', record.org),
    { key: 'warden.audit.seq', value: { intValue: String(record.seq) } },
    str('warden.audit.action', event.action),
    str('warden.audit.resource', event.resource),
    str('warden.audit.actor', `${event.actor.type}:${event.actor.id}`),
    str('warden.audit.producer', event.producer),
    str('warden.audit.key_id', event.keyId),
    str('warden.audit.signature', record.signature),
    str('warden.audit.leaf_hash', record.leafHash),
    str('warden.audit.chain_hash', record.chainHash),
  ];
  if (event.actor.type === 'user') attributes.push(str('user.id', event.actor.id));
  if (event.actor.onBehalfOf !== undefined) attributes.push(str('warden.audit.on_behalf_of', event.actor.onBehalfOf));
  if (event.reason !== undefined) attributes.push(str('warden.audit.reason', event.reason));
  if (event.request?.ip !== undefined) attributes.push(str('client.address', event.request.ip));
  if (event.request?.userAgent !== undefined) attributes.push(str('user_agent.original', event.request.userAgent));
  const given = event.request?.traceId;
  const traceId = given?.toLowerCase();
  const w3c = traceId !== undefined && TRACE_ID.test(traceId) && !/^0+$/.test(traceId);
  if (given !== undefined && !w3c) attributes.push(str('warden.audit.trace_id', given));
  if (record.payloadExpired) attributes.push({ key: 'warden.audit.payload_expired', value: { boolValue: true } });
  return {
    timeUnixNano: nanos(event.occurredAt),
    observedTimeUnixNano: nanos(record.loggedAt),
    severityNumber: 9,
    severityText: 'INFO',
    eventName: `warden.audit.${event.action}`,
    body: { stringValue: record.payloadExpired ? '' : canonicalEvent(event) },
    attributes,
    ...(w3c ? { traceId } : {}),
  };
}

/** One ExportLogsServiceRequest holding `records`, in order. */
export function toOtlpLogsRequest(records: readonly StoredRecord[]): Record<string, unknown> {
  return {
    resourceLogs: [
      {
        resource: { attributes: [str('service.name', 'warden-audit')] },
        scopeLogs: [{ scope: { ...SCOPE }, logRecords: records.map(toOtlpLogRecord) }],
      },
    ],
  };
}
