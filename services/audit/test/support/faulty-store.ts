/**
 * A store whose connection can be cut: while `down`, every call fails the way
 * an unreachable ClickHouse does (UnavailableError). `commitThenFail` makes the
 * next insert reach the engine and then report a failure (a timeout after commit).
 */
import { UnavailableError } from '@warden/errors';
import type { AuditStore } from '../../src/domain/ports.js';

export type FaultyStore = AuditStore & { down: boolean; commitThenFail: number; inserts: number };

export function faulty(inner: AuditStore): FaultyStore {
  const state = { down: false, commitThenFail: 0, inserts: 0 };
  const gate = () => {
    if (state.down) throw new UnavailableError('store unreachable (test)');
  };
  const store: AuditStore = {
    encodeRows: (records) => inner.encodeRows(records),
    decodeRows: (rows) => inner.decodeRows(rows),
    insertRows: async (rows, token, options) => {
      gate();
      await inner.insertRows(rows, token, options);
      state.inserts += 1;
      if (state.commitThenFail > 0) {
        state.commitThenFail -= 1;
        throw new UnavailableError('insert timed out after commit (test)');
      }
    },
    findIds: async (ids, o) => (gate(), inner.findIds(ids, o)),
    idsLoggedSince: async (since, o) => (gate(), inner.idsLoggedSince(since, o)),
    heads: async (o) => (gate(), inner.heads(o)),
    leafHashes: async (org, from, to, o) => (gate(), inner.leafHashes(org, from, to, o)),
    scan: (org, from, to, o) => (gate(), inner.scan(org, from, to, o)),
    query: async (f, c, l, o) => (gate(), inner.query(f, c, l, o)),
    findEvent: async (org, id, o) => (gate(), inner.findEvent(org, id, o)),
    insertCheckpoint: async (row, o) => (gate(), inner.insertCheckpoint(row, o)),
    checkpoints: async (org, o) => (gate(), inner.checkpoints(org, o)),
    insertKeyEvent: async (row, o) => (gate(), inner.insertKeyEvent(row, o)),
    keyEvents: async (o) => (gate(), inner.keyEvents(o)),
    close: () => inner.close(),
  };
  return Object.defineProperties(store, {
    down: { get: () => state.down, set: (v: boolean) => (state.down = v) },
    commitThenFail: { get: () => state.commitThenFail, set: (v: number) => (state.commitThenFail = v) },
    inserts: { get: () => state.inserts },
  }) as FaultyStore;
}
