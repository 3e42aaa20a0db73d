/**
 * An event as logged: its position in its organization's log, the leaf hash
 * (RFC 9162 leaf over the canonical record) and the hash-chain link. Pure.
 */
import canonicalize from 'canonicalize';
import { jsonQuote, type AuditEvent } from './event.js';
import { hashLeaf, sha256 } from './merkle.js';

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
  return Buffer.from(framedLeafText(canonicalEvent, record).slice(1), 'utf8');
}

/** 0x00 (as a NUL character) followed by the text of {@link leafDataFromCanonical}. */
function framedLeafText(canonicalEvent: string, record: Pick<LogRecord, 'org' | 'seq' | 'loggedAt' | 'signature'>): string {
  return `\u0000{"event":${canonicalEvent},"loggedAt":${jsonQuote(record.loggedAt)},"org":${jsonQuote(record.org)},"seq":${record.seq},"signature":${jsonQuote(record.signature)},"v":1}`;
}

/**
 * hashLeaf(leafDataFromCanonical(canonicalEvent, record)), hashing the text as UTF-8
 * directly: the NUL in front is the leaf prefix 0x00, so no Buffer is made (one per
 * event on the ingest path: allocation and GC). Same bytes, same hash (tested).
 */
export function leafHashFromCanonical(canonicalEvent: string, record: Pick<LogRecord, 'org' | 'seq' | 'loggedAt' | 'signature'>): Buffer {
  return sha256(framedLeafText(canonicalEvent, record));
}

export function computeLeafHash(record: Pick<LogRecord, 'org' | 'seq' | 'loggedAt' | 'event' | 'signature'>): Buffer {
  return hashLeaf(leafData(record));
}

/** Scratch for the common link: two 32-byte hashes. Safe to share: hashing is synchronous. */
const LINK_INPUT = Buffer.alloc(64);

export function chainLink(previous: Buffer, leafHash: Buffer): Buffer {
  if (previous.length !== 32 || leafHash.length !== 32) return sha256(Buffer.concat([previous, leafHash]));
  LINK_INPUT.set(previous, 0);
  LINK_INPUT.set(leafHash, 32);
  return sha256(LINK_INPUT);
}

/** The origin line of an organization's log: `<prefix>/<org>`. */
export function logOrigin(prefix: string, org: string): string {
  return `${prefix}/${org}`;
}
