/**
 * Export formats. A JSON Lines export holds one logged record per line and is
 * verifiable offline (`warden audit verify`); CSV is for spreadsheets. Pure.
 */
import type { AuditEvent } from './event.js';
import type { StoredRecord } from './log-record.js';

/** One JSON Lines record. */
export type ExportedRecord = {
  org: string;
  seq: number;
  loggedAt: string;
  event: AuditEvent;
  signature: string;
  leafHash: string;
  chainHash: string;
  payloadExpired?: true;
  /** RFC 9162 inclusion proof (hex path) against the export's checkpoint, when exported with proofs. */
  proof?: { treeSize: number; path: string[] };
};

/** A stored record in the export's shape (also the webhook sink's event shape). */
export function toExportedRecord(record: StoredRecord): ExportedRecord {
  const line: ExportedRecord = {
    org: record.org,
    seq: record.seq,
    loggedAt: record.loggedAt,
    event: record.event,
    signature: record.signature,
    leafHash: record.leafHash,
    chainHash: record.chainHash,
  };
  if (record.payloadExpired) line.payloadExpired = true;
  return line;
}

export function toJsonLine(record: StoredRecord, proof?: { treeSize: number; path: readonly Buffer[] }): string {
  const line = toExportedRecord(record);
  if (proof !== undefined) line.proof = { treeSize: proof.treeSize, path: proof.path.map((h) => h.toString('hex')) };
  return JSON.stringify(line) + '\n';
}

/** The first line of an export with proofs. */
export function checkpointLine(note: string): string {
  return JSON.stringify({ checkpoint: note }) + '\n';
}

export type ParsedLine =
  | { readonly kind: 'checkpoint'; readonly note: string }
  | { readonly kind: 'record'; readonly record: StoredRecord; readonly proof: { treeSize: number; path: Buffer[] } | undefined };

/** Parses any export line: the checkpoint header or a record (with its proof, if any). */
export function parseExportLine(line: string): ParsedLine {
  const value = JSON.parse(line) as { checkpoint?: unknown; proof?: { treeSize?: unknown; path?: unknown } };
  if (typeof value.checkpoint === 'string') return { kind: 'checkpoint', note: value.checkpoint };
  const record = fromJsonLine(line);
  const p = value.proof;
  if (p === undefined) return { kind: 'record', record, proof: undefined };
  if (typeof p.treeSize !== 'number' || !Array.isArray(p.path) || !p.path.every((h) => typeof h === 'string')) throw new TypeError('malformed proof');
  return { kind: 'record', record, proof: { treeSize: p.treeSize, path: p.path.map((h) => Buffer.from(h, 'hex')) } };
}

/** Parses an exported line back into a record (project/environment/content hash are not needed to verify). */
export function fromJsonLine(line: string): StoredRecord {
  const value = JSON.parse(line) as ExportedRecord;
  if (typeof value.org !== 'string' || typeof value.seq !== 'number' || typeof value.leafHash !== 'string' || typeof value.event !== 'object') {
    throw new TypeError('not an exported audit record');
  }
  return {
    org: value.org,
    seq: value.seq,
    loggedAt: value.loggedAt,
    event: value.event,
    signature: value.signature,
    project: '',
    environment: '',
    contentHash: '',
    leafHash: value.leafHash,
    chainHash: value.chainHash,
    payloadExpired: value.payloadExpired === true,
  };
}

export const CSV_HEADER = [
  'seq', 'occurred_at', 'logged_at', 'actor', 'on_behalf_of', 'action', 'resource', 'project', 'environment',
  'before', 'after', 'reason', 'ip', 'user_agent', 'trace_id', 'producer', 'key_id', 'id', 'leaf_hash',
].join(',') + '\r\n';

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function toCsvLine(record: StoredRecord): string {
  const e = record.event;
  return [
    String(record.seq),
    e.occurredAt,
    record.loggedAt,
    `${e.actor.type}:${e.actor.id}`,
    e.actor.onBehalfOf ?? '',
    e.action,
    e.resource,
    record.project,
    record.environment,
    e.before === undefined ? '' : JSON.stringify(e.before),
    e.after === undefined ? '' : JSON.stringify(e.after),
    e.reason ?? '',
    e.request?.ip ?? '',
    e.request?.userAgent ?? '',
    e.request?.traceId ?? '',
    e.producer,
    e.keyId,
    e.id,
    record.leafHash,
  ]
    .map(csvField)
    .join(',') + '\r\n';
}
