/**
 * What the audit core needs from the outside world. Adapters live in
 * adapters/ (stores/, spool/, authz/) and api/; the core never imports them.
 */
import type { KeyObject } from 'node:crypto';
import type { LogRecord, ProducerKeyEvent, StoredRecord } from '@warden/audit-events';
import type { EventFilter, Cursor } from './query.js';

export type LogHead = {
  readonly org: string;
  /** max(seq) + 1. */
  readonly size: number;
  readonly lastChainHash: string;
};

export type StoredId = { readonly org: string; readonly seq: number; readonly contentHash: string };

export type CheckpointRow = {
  readonly org: string;
  readonly treeSize: number;
  /** Hex. */
  readonly rootHash: string;
  readonly note: string;
  /** ISO 8601 ms UTC. */
  readonly createdAt: string;
  /**
   * Hex perfect-subtree hashes of the tree at this size (the right edge), so a
   * restart resumes from here instead of re-reading every leaf. Not signed:
   * it is used only after its root matches the signed root.
   */
  readonly compactRange: string;
};

/** A producer key added or revoked, as the store keeps it (append-only). */
export type KeyEventRow = ProducerKeyEvent;

export type StoreCallOptions = { readonly signal?: AbortSignal | undefined };

/**
 * The event log in ClickHouse. Insert-only: nothing here updates or deletes.
 * Methods throw UnavailableError when the store cannot be reached.
 */
export interface AuditStore {
  /**
   * The records as the store takes them: one line per record, in order, as UTF-8 bytes.
   * Computed once per group (the write-ahead spool writes the same bytes, and the store
   * write sends them), so an event is serialised and encoded once.
   */
  encodeRows(records: readonly LogRecord[]): EncodedRows;
  /** The records of encoded rows, in order (throws on a line it did not write). */
  decodeRows(rows: EncodedRows): LogRecord[];
  /** Inserts encoded rows as one block; `token` makes a retried insert a no-op. */
  insertRows(rows: EncodedRows, token: string, options?: StoreCallOptions): Promise<void>;
  findIds(ids: readonly string[], options?: StoreCallOptions): Promise<Map<string, StoredId>>;
  /** Ids (with position and content hash) logged at or after `since` (ISO). */
  idsLoggedSince(since: string, options?: StoreCallOptions): Promise<Map<string, StoredId>>;
  heads(options?: StoreCallOptions): Promise<LogHead[]>;
  /** Leaf hashes of seq in [from, to), in seq order (hex). */
  leafHashes(org: string, from: number, to: number, options?: StoreCallOptions): Promise<string[]>;
  /** Every stored row of the org with seq in [from, to), ordered by seq (duplicates included). */
  scan(org: string, from: number, to: number, options?: StoreCallOptions): AsyncIterable<StoredRecord>;
  query(filter: EventFilter, cursor: Cursor | undefined, limit: number, options?: StoreCallOptions): Promise<StoredRecord[]>;
  findEvent(org: string, id: string, options?: StoreCallOptions): Promise<StoredRecord | undefined>;
  insertCheckpoint(row: CheckpointRow, options?: StoreCallOptions): Promise<void>;
  /** Every checkpoint row of the org, oldest first. */
  checkpoints(org: string, options?: StoreCallOptions): Promise<CheckpointRow[]>;
  insertKeyEvent(row: KeyEventRow, options?: StoreCallOptions): Promise<void>;
  keyEvents(options?: StoreCallOptions): Promise<KeyEventRow[]>;
  close(): Promise<void>;
}

/**
 * Records encoded by {@link AuditStore.encodeRows}: `count` lines, each ending with a
 * newline, in UTF-8. Bytes, not a string: they go to the spool's file and to the store as
 * they are, and held until the store write they live outside the JavaScript heap.
 */
export type EncodedRows = { readonly bytes: Buffer; readonly count: number };

/**
 * A batch in the spool: its rows as the store takes them, or, in segments written by
 * versions before encoded rows, its records.
 */
export type SpoolBatch = { readonly token: string; readonly rows: EncodedRows } | { readonly token: string; readonly records: readonly LogRecord[] };

/**
 * The write-ahead log: fsynced local segments of batches. Every group is appended here
 * and acknowledged once on disk; the batches reach the store behind the
 * acknowledgement, and a segment is released once all of its batches are stored.
 */
export interface Spool {
  /** Resolves once the batch is on disk (fsynced), in the newest segment. */
  append(batch: { readonly token: string; readonly rows: EncodedRows }): Promise<void>;
  /**
   * Closes the newest segment (later appends start the next one) once its appends have
   * settled; returns the id of the newest closed segment.
   */
  rotate(): Promise<number>;
  /** Deletes every closed segment with an id at most `upTo` (its batches are in the store). */
  release(upTo: number): Promise<void>;
  /** Every batch of the segments with an id at most `upTo` (all by default), in append order. */
  pending(upTo?: number): Promise<SpoolBatch[]>;
  readonly isEmpty: boolean;
}

/** Remembers the newest checkpoint the service signed, outside the store (rollback witness). */
export interface CheckpointWitness {
  read(org: string): Promise<string | undefined>;
  write(org: string, note: string): Promise<void>;
}

/**
 * Who calls a read (authenticated by authz, or in development from AUDIT_API_KEYS_FILE /
 * the trusted subject header). `org`: the one organization an API key acts in.
 */
export type Caller = { readonly subject: string; readonly org?: string; readonly platformAdmin?: boolean };

export type AuditAction = 'audit:read' | 'audit:export' | 'audit:manage_keys';

/** Authorization of reads (implemented over authz Check). */
export interface AccessPolicy {
  allowed(caller: Caller, action: AuditAction, scope: string, options?: StoreCallOptions): Promise<boolean>;
}

export type Clock = () => Date;

/** Verifies an Ed25519 signature over an RFC 8785 canonical event (a worker pool, or node:crypto's async verify). */
export type SignatureCheck = (canonical: string, signature: Uint8Array, publicKey: KeyObject) => Promise<boolean>;
