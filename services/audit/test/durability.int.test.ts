/**
 * Nothing acknowledged is lost, nothing is stored twice: Appends are acknowledged
 * from the write-ahead spool and stored behind; the store goes away mid-stream, the
 * service crashes before and after the store write, the same batch is sent twice.
 * The final table has every acknowledged event exactly once, in a valid chain.
 */
import { appendFileSync } from 'node:fs';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '@warden/errors';
import type { ClickHouseAuditStore } from '../src/adapters/stores/clickhouse-audit-store.js';
import { chdbDriver, freshStore } from './support/chdb.js';
import { parseFilter } from '../src/domain/query.js';
import { spooledRecords } from '../src/usecases/durability.js';
import { faulty } from './support/faulty-store.js';
import { createHarness } from './support/harness.js';
import { createProducer } from './support/producer.js';

const flags = createProducer('flags', 'k1');
/** Store writes only when the test asks (reads, replaySpool, checkpoints): no timer decides for it. */
const onRequest = { flushIntervalMs: 600_000 };

async function exactlyOnce(store: ClickHouseAuditStore, acknowledged: readonly string[]): Promise<void> {
  const rows = await chdbDriver().query<{ id: string; n: number | string }>(
    'SELECT toString(id) AS id, count() AS n FROM {db:Identifier}.events GROUP BY id',
    { db: store.database },
  );
  const counts = new Map(rows.map((r) => [r.id, Number(r.n)]));
  for (const id of acknowledged) expect(counts.get(id), `event ${id}`).toBe(1);
  expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
  expect(rows.length).toBe(new Set(acknowledged).size);
}

describe('durability', () => {
  it('an Append is acknowledged once it is in the fsynced spool, before the store has it; the store gets it behind', async () => {
    const inner = await freshStore(chdbDriver(), 'ahead');
    const store = faulty(inner);
    const h = await createHarness(store, [flags.keyRow], onRequest);
    const events = Array.from({ length: 3 }, () => flags.signed());
    expect((await h.log.append(events)).map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(store.inserts).toBe(0);
    expect((await h.spool.pending()).flatMap((b) => spooledRecords(store, b).map((r) => r.event.id))).toEqual(events.map((e) => e.parsed.id));
    // A read waits for what was acknowledged before it.
    expect((await h.log.query(parseFilter({ org: 'acme' }), undefined, 10)).length).toBe(3);
    expect(store.inserts).toBe(1);
    expect(h.spool.isEmpty).toBe(true);
    await exactlyOnce(inner, events.map((e) => e.parsed.id));
  });

  it('store unavailable mid-stream: Appends go on from the spool, the writes are retried, every acknowledged event once, in order', async () => {
    const inner = await freshStore(chdbDriver(), 'spool');
    const store = faulty(inner);
    const h = await createHarness(store, [flags.keyRow], { checkpointEvery: 10, ...onRequest });
    const acknowledged: string[] = [];
    for (let batch = 0; batch < 12; batch += 1) {
      if (batch === 4) {
        expect(await h.log.replaySpool()).toBe(true);
        store.down = true;
      }
      if (batch === 9) store.down = false;
      const events = Array.from({ length: 3 }, () => flags.signed());
      const outcomes = await h.log.append(events);
      expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
      acknowledged.push(...events.map((e) => e.parsed.id));
      if (batch >= 4 && batch < 9) {
        expect(await h.log.replaySpool()).toBe(false);
        expect(h.log.degraded).toBe(true);
      }
    }
    // Back up: still degraded until the replay runs; the batches wait in the spool, in order.
    expect(h.log.degraded).toBe(true);
    expect((await h.spool.pending()).length).toBe(8);
    expect(await h.log.replaySpool()).toBe(true);
    expect(h.log.degraded).toBe(false);
    expect(h.spool.isEmpty).toBe(true);
    await exactlyOnce(inner, acknowledged);
    await h.log.checkpointAll();
    const report = await h.log.verify('acme');
    expect(report.problems).toEqual([]);
    expect(report.treeSize).toBe(36);
  });

  it('an insert that committed but reported failure is replayed from the spool without a duplicate', async () => {
    const inner = await freshStore(chdbDriver(), 'ambiguous');
    const store = faulty(inner);
    const h = await createHarness(store, [flags.keyRow], onRequest);
    store.commitThenFail = 1;
    const events = Array.from({ length: 4 }, () => flags.signed());
    expect((await h.log.append(events)).map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    expect(await h.log.replaySpool()).toBe(false);
    expect(h.log.degraded).toBe(true);
    expect(await h.log.replaySpool()).toBe(true);
    await exactlyOnce(inner, events.map((e) => e.parsed.id));
    expect((await h.log.verify('acme')).problems).toEqual([]);
  });

  it('a spool segment that cannot be closed: the write is retried from disk, every acknowledged event once', async () => {
    const inner = await freshStore(chdbDriver(), 'norotate');
    const h = await createHarness(inner, [flags.keyRow], onRequest);
    const events = Array.from({ length: 3 }, () => flags.signed());
    expect((await h.log.append(events)).every((o) => o.status === 'accepted')).toBe(true);
    const rotate = h.spool.rotate.bind(h.spool);
    h.spool.rotate = async () => {
      throw new Error('EIO (test)');
    };
    expect(await h.log.replaySpool()).toBe(false);
    expect(h.log.degraded).toBe(true);
    h.spool.rotate = rotate;
    expect(await h.log.replaySpool()).toBe(true);
    expect(h.log.degraded).toBe(false);
    await exactlyOnce(inner, events.map((e) => e.parsed.id));
    expect((await h.log.verify('acme')).problems).toEqual([]);
  });

  it('the spool cannot take the batch: refused as UNAVAILABLE (not acknowledged), and a retry later stores it once', async () => {
    const inner = await freshStore(chdbDriver(), 'nospool');
    const h = await createHarness(inner, [flags.keyRow], onRequest);
    const spoolAppend = h.spool.append.bind(h.spool);
    h.spool.append = async () => {
      throw new Error('disk full (test)');
    };
    const events = Array.from({ length: 2 }, () => flags.signed());
    await expect(h.log.append(events)).rejects.toBeInstanceOf(UnavailableError);
    h.spool.append = spoolAppend;
    expect((await h.log.append(events)).map((o) => o.status)).toEqual(['accepted', 'accepted']);
    expect(await h.log.replaySpool()).toBe(true);
    await exactlyOnce(inner, events.map((e) => e.parsed.id));
    expect((await h.log.verify('acme')).problems).toEqual([]);
  });

  it('crash after the acknowledgement, before the store write: the spool is stored at startup, the retry is a duplicate', async () => {
    const inner = await freshStore(chdbDriver(), 'restart');
    let h = await createHarness(inner, [flags.keyRow], onRequest);
    const before = Array.from({ length: 3 }, () => flags.signed());
    await h.log.append(before);
    expect(await h.log.replaySpool()).toBe(true);
    const batch = Array.from({ length: 5 }, () => flags.signed());
    expect((await h.log.append(batch)).every((o) => o.status === 'accepted')).toBe(true);
    h = await h.crash();
    expect(h.spool.isEmpty).toBe(true);
    const retry = await h.log.append(batch);
    expect(retry.map((o) => o.status)).toEqual(Array(5).fill('duplicate'));
    expect(retry.map((o) => ('seq' in o ? o.seq : -1))).toEqual([3, 4, 5, 6, 7]);
    await exactlyOnce(inner, [...before, ...batch].map((e) => e.parsed.id));
    await h.log.checkpointAll();
    expect((await h.log.verify('acme')).problems).toEqual([]);
  });

  it('crash after the store write, before the spool was released: startup skips the rows the store has', async () => {
    const inner = await freshStore(chdbDriver(), 'unreleased');
    let h = await createHarness(inner, [flags.keyRow], onRequest);
    const batch = Array.from({ length: 4 }, () => flags.signed());
    await h.log.append(batch);
    h.spool.release = async () => {
      throw new Error('process killed (test)');
    };
    expect(await h.log.replaySpool()).toBe(true);
    expect(h.spool.isEmpty).toBe(false);
    h = await h.crash();
    expect(h.spool.isEmpty).toBe(true);
    expect((await h.log.append(batch)).map((o) => o.status)).toEqual(Array(4).fill('duplicate'));
    await exactlyOnce(inner, batch.map((e) => e.parsed.id));
    await h.log.checkpointAll();
    expect((await h.log.verify('acme')).problems).toEqual([]);
  });

  it('restart with the store down: the spooled batch is replayed once it is back, a torn last line is ignored, the retry is a duplicate', async () => {
    const inner = await freshStore(chdbDriver(), 'restart_spool');
    const store = faulty(inner);
    let h = await createHarness(store, [flags.keyRow], onRequest);
    await h.log.append([flags.signed()]);
    expect(await h.log.replaySpool()).toBe(true);
    store.down = true;
    const batch = Array.from({ length: 4 }, () => flags.signed());
    expect((await h.log.append(batch)).every((o) => o.status === 'accepted')).toBe(true);
    expect(await h.log.replaySpool()).toBe(false);
    // A batch whose write the crash interrupted (never acknowledged: its header and one of its two rows are
    // complete lines, the second row torn) must not block the replay, nor be replayed.
    appendFileSync(h.spool.path, '{"token":"torn","rows":2}\n["acme",1000,"not a whole row"]\n["acme",10');
    store.down = false;
    h = await h.crash();
    expect(h.spool.isEmpty).toBe(true);
    expect((await h.log.append(batch)).map((o) => o.status)).toEqual(Array(4).fill('duplicate'));
    await h.log.stored();
    await exactlyOnce(inner, [...batch.map((e) => e.parsed.id)].concat((await inner.query({ org: 'acme', order: 'oldest' }, undefined, 1))[0]!.event.id));
    await h.log.checkpointAll();
    expect((await h.log.verify('acme')).problems).toEqual([]);
  });

  it('an id older than the in-memory window, retried while its first copy is still in the spool, is a duplicate (the store is asked only after the spool is written)', async () => {
    const inner = await freshStore(chdbDriver(), 'old_ids');
    // Every id is older than a 1 ms window: only the store can tell duplicates apart.
    const h = await createHarness(inner, [flags.keyRow], { ...onRequest, dedupWindowMs: 1 });
    const minted = Date.now() - 5_000;
    const event = flags.signed({ id: uuidv7({ msecs: minted }), occurredAt: new Date(minted).toISOString() });
    expect((await h.log.append([event]))[0]).toMatchObject({ status: 'accepted', seq: 0 });
    // Evictions run at most once a second, after a commit: this one drops the old id from memory.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const other = flags.signed();
    expect((await h.log.append([other]))[0]).toMatchObject({ status: 'accepted', seq: 1 });
    expect((await h.log.append([event]))[0]).toMatchObject({ status: 'duplicate', seq: 0 });
    await h.log.stored();
    await exactlyOnce(inner, [event.parsed.id, other.parsed.id]);
  });

  it('a restart resumes the Merkle tree from the newest checkpoint instead of re-reading every leaf', async () => {
    const inner = await freshStore(chdbDriver(), 'resume');
    let h = await createHarness(inner, [flags.keyRow], { checkpointEvery: 4 });
    for (let i = 0; i < 5; i += 1) await h.log.append([flags.signed(), flags.signed()]);
    // Checkpoints are signed after the acknowledgement, off the commit path.
    await h.log.checkpointsSettled();
    expect(h.log.latestCheckpoint('acme')?.treeSize).toBe(8);
    await h.log.append([flags.signed()]);
    const reads: [number, number][] = [];
    const leafHashes = inner.leafHashes.bind(inner);
    inner.leafHashes = async (org, from, to, options) => {
      reads.push([from, to]);
      return leafHashes(org, from, to, options);
    };
    h = await h.restart();
    expect(reads).toEqual([[8, 11]]);
    expect((await h.log.append([flags.signed()]))[0]).toMatchObject({ status: 'accepted', seq: 11 });
    await h.log.checkpointAll();
    expect((await h.log.verify('acme')).problems).toEqual([]);
  });

  it('the same batch twice, and twice concurrently: stored exactly once, valid chain', async () => {
    const store = await freshStore(chdbDriver(), 'twice');
    const h = await createHarness(store, [flags.keyRow], onRequest);
    const batch = Array.from({ length: 10 }, () => flags.signed());
    const [a, b] = await Promise.all([h.log.append(batch), h.log.append(batch)]);
    expect(await h.log.replaySpool()).toBe(true);
    const statuses = [...a!, ...b!].map((o) => o.status).sort();
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(10);
    expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(10);
    expect((await h.log.append(batch)).every((o) => o.status === 'duplicate')).toBe(true);
    await h.log.stored();
    await exactlyOnce(store, batch.map((e) => e.parsed.id));
    await h.log.checkpointAll();
    expect((await h.log.verify('acme')).problems).toEqual([]);
  });
});
