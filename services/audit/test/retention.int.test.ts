/**
 * Optional payload retention (off by default): a column TTL drops event bodies,
 * leaf hashes and checkpoints stay, the log still verifies and the omission is visible.
 */
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { parseFilter } from '../src/domain/query.js';
import { chdbDriver, freshStore } from './support/chdb.js';
import { createHarness } from './support/harness.js';
import { createProducer } from './support/producer.js';

const flags = createProducer('flags', 'k1');

describe('payload retention TTL', () => {
  it('expired bodies are reported, the chain and checkpoints still verify', async () => {
    const store = await freshStore(chdbDriver(), 'ttl', { payloadTtlDays: 1 });
    const past = Date.now() - 10 * 86_400_000;
    const old = await createHarness(store, [flags.keyRow], { clock: () => new Date(past), checkpointEvery: 3 });
    const at = (i: number) => ({ id: uuidv7({ msecs: past - 60_000 + i }), occurredAt: new Date(past - 60_000 + i).toISOString() });
    expect((await old.log.append([0, 1, 2, 3].map((i) => flags.signed(at(i))))).every((o) => o.status === 'accepted')).toBe(true);
    await old.log.checkpointAll();
    const h = await old.restart({ clock: () => new Date() });
    expect((await h.log.append([flags.signed()]))[0]).toMatchObject({ status: 'accepted', seq: 4 });
    await h.log.checkpointAll();
    // Make the engine apply the TTL now (a test-only statement; the service never issues it).
    await chdbDriver().unsafeRaw('OPTIMIZE TABLE {db:Identifier}.events FINAL', { db: store.database });
    const rows = await store.query(parseFilter({ org: 'acme', order: 'oldest' }), undefined, 10);
    expect(rows.map((r) => r.payloadExpired)).toEqual([true, true, true, true, false]);
    expect(rows[0]!.event.before).toBeUndefined();
    expect(rows[0]!.leafHash).toMatch(/^[0-9a-f]{64}$/);
    const report = await h.log.verify('acme');
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, payloadsExpired: 4, eventsChecked: 5, checkpointsVerified: 2 });
  });
});
