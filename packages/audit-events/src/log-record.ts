/**
 * An event as logged: its position in its organization's log, the leaf hash
 * (RFC 9162 leaf over the canonical record) and the hash-chain link. Pure.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditEvent } from './event.js';
import { hashLeaf } from './merkle.js';

export type LogRecord = {
  readonly org: string;
  /** 0-based position in the org's log = the Merkle leaf index. */
  readonly seq: number;
  /** When the service sequenced the event (ISO 8601, ms, UTC). */
  readonly loggedAt: string;
  readonly event: AuditEvent;
  /** Base64 Ed25519 signature by the producer over the canonical event. */
  readonly signature: string;
  readonly project: string;
  readonly environment: string;
  /** Hex SHA-256 of the canonical event. */
  readonly contentHash: string;
  /** Hex RFC 9162 leaf hash of {@link leafData}. */
  readonly leafHash: string;
  /** Hex SHA-256(previous chain hash || leaf hash); the first link follows 32 zero bytes. */
  readonly chainHash: string;
};

/** A record read back from a store: retention may have dropped its body. */
export type StoredRecord = LogRecord & { readonly payloadExpired: boolean };

export const GENESIS_CHAIN: Buffer = Buffer.alloc(32);

/** The bytes of a leaf: the canonical JSON of the record's signed content and position. */
export function leafData(record: Pick<LogRecord, 'org' | 'seq' | 'loggedAt' | 'event' | 'signature'>): Buffer {
  const text = canonicalize({
    v: 1,
    org: record.org,
    seq: record.seq,
    loggedAt: record.loggedAt,
    event: record.event,
    signature: record.signature,
  });
  if (text === undefined) throw new TypeError('record cannot be canonicalized');
  return Buffer.from(text, 'utf8');
}

/**
 * {@link leafData} built around an already canonical event: RFC 8785 orders the
 * keys event < loggedAt < org < seq < signature < v, and strings and integers
 * serialize as JSON.stringify does, so the bytes are identical (tested).
 */
export function leafDataFromCanonical(canonicalEvent: string, record: Pick<LogRecord, 'org' | 'seq' | 'loggedAt' | 'signature'>): Buffer {
  return Buffer.from(
    `{"event":${canonicalEvent},"loggedAt":${JSON.stringify(record.loggedAt)},"org":${JSON.stringify(record.org)},"seq":${record.seq},"signature":${JSON.stringify(record.signature)},"v":1}`,
    'utf8',
  );
}

export function computeLeafHash(record: Pick<LogRecord, 'org' | 'seq' | 'loggedAt' | 'event' | 'signature'>): Buffer {
  return hashLeaf(leafData(record));
}

export function chainLink(previous: Buffer, leafHash: Buffer): Buffer {
  return createHash('sha256').update(previous).update(leafHash).digest();
}

/** The origin line of an organization's log: `<prefix>/<org>`. */
export function logOrigin(prefix: string, org: string): string {
  return `${prefix}/${org}`;
}
