/**
 * A view of the store for reads that must see every acknowledged event: each read
 * first waits until the groups acknowledged before it are out of the write-ahead spool
 * and in the store (durability.ts). Writes and the log's own bookkeeping use the store
 * directly.
 */
import type { AuditStore } from '../domain/ports.js';

export function readAfterWrite(store: AuditStore, stored: () => Promise<void>): AuditStore {
  return {
    encodeRows: (records) => store.encodeRows(records),
    decodeRows: (rows) => store.decodeRows(rows),
    insertRows: (rows, token, options) => store.insertRows(rows, token, options),
    findIds: async (ids, options) => (await stored(), store.findIds(ids, options)),
    idsLoggedSince: async (since, options) => (await stored(), store.idsLoggedSince(since, options)),
    heads: async (options) => (await stored(), store.heads(options)),
    leafHashes: async (org, from, to, options) => (await stored(), store.leafHashes(org, from, to, options)),
    scan: (org, from, to, options) => ({
      async *[Symbol.asyncIterator]() {
        await stored();
        yield* store.scan(org, from, to, options);
      },
    }),
    query: async (filter, cursor, limit, options) => (await stored(), store.query(filter, cursor, limit, options)),
    findEvent: async (org, id, options) => (await stored(), store.findEvent(org, id, options)),
    insertCheckpoint: (row, options) => store.insertCheckpoint(row, options),
    checkpoints: async (org, options) => (await stored(), store.checkpoints(org, options)),
    insertKeyEvent: (row, options) => store.insertKeyEvent(row, options),
    keyEvents: (options) => store.keyEvents(options),
    close: () => store.close(),
  };
}
