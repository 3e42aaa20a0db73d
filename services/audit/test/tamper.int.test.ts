/**
 * Tampering done directly in ClickHouse (chdb), the way someone with database
 * access would: the test issues ALTER/DELETE/INSERT that the service never
 * does, then Verify must name the broken place.
 */
import { describe, expect, it } from 'vitest';
import { createNoteSigner, signCheckpoint, generateSigningKey, signBatch, signEvent, chainLink, computeLeafHash, type LogRecord, type StoredRecord } from '@warden/audit-events';
import type { ClickHouseAuditStore } from '../src/adapters/stores/clickhouse-audit-store.js';
import { chdbDriver, freshStore } from './support/chdb.js';
import { createHarness, type Harness } from './support/harness.js';
import { createProducer } from './support/producer.js';

const flags = createProducer('flags', 'k1');

async function seeded(events = 12): Promise<{ store: ClickHouseAuditStore; h: Harness }> {
  const store = await freshStore(chdbDriver(), 'tamper');
  const h = await createHarness(store, [flags.keyRow], { checkpointEvery: 5 });
  for (let i = 0; i < events; i += 1) {
    const outcome = await h.log.append([flags.signed({ after: { rollout: i } })]);
    expect(outcome[0]?.status).toBe('accepted');
  }
  await h.log.checkpointAll();
  expect(h.log.latestCheckpoint('acme')?.treeSize).toBe(events);
  expect((await h.log.verify('acme')).ok).toBe(true);
  return { store, h };
}

/** Statements the service never issues: only the attacker (this test) runs them. */
async function attacker(store: ClickHouseAuditStore, sql: string, params: Record<string, unknown> = {}): Promise<void> {
  await chdbDriver().unsafeRaw(sql, { db: store.database, ...params });
}

async function records(store: ClickHouseAuditStore): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for await (const r of store.scan('acme', 0, 1000)) out.push(r);
  return out;
}

function rehash(record: Omit<LogRecord, 'leafHash' | 'chainHash'>, previousChain: Buffer): LogRecord {
  const leaf = computeLeafHash(record);
  return { ...record, leafHash: leaf.toString('hex'), chainHash: chainLink(previousChain, leaf).toString('hex') };
}

describe('Verify detects tampering done directly in ClickHouse', () => {
  it('an edited field', async () => {
    const { store, h } = await seeded();
    await attacker(store, "ALTER TABLE {db:Identifier}.events UPDATE actor_id = 'mallory' WHERE seq = 3 SETTINGS mutations_sync = 2");
    const report = await h.log.verify('acme');
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ kind: 'edited', seq: 3 });
    expect(report.firstProblem?.message).toMatch(/seq 3 .*edited/);
    expect(report.problems.map((p) => [p.kind, p.seq])).toEqual(
      expect.arrayContaining([['edited', 3], ['bad-event-signature', 3], ['root-mismatch', 5], ['root-mismatch', 10]]),
    );
  });

  it('an edit whose leaf hashes and chain were recomputed (no producer or audit key): signature and checkpoint roots', async () => {
    const { store, h } = await seeded();
    const all = await records(store);
    await attacker(store, 'ALTER TABLE {db:Identifier}.events DELETE WHERE seq >= 7 SETTINGS mutations_sync = 2');
    let prev = Buffer.from(all[6]!.chainHash, 'hex');
    const rewritten: LogRecord[] = [];
    for (const r of all.slice(7)) {
      const event = r.seq === 7 ? { ...r.event, after: { rollout: 100 } } : r.event;
      const next = rehash({ ...r, event }, prev);
      prev = Buffer.from(next.chainHash, 'hex');
      rewritten.push(next);
    }
    await store.insertRows(store.encodeRows(rewritten), 'attacker-rewrite');
    const report = await h.log.verify('acme');
    expect(report.problems.map((p) => p.kind)).not.toContain('edited');
    expect(report.problems.map((p) => p.kind)).not.toContain('chain');
    expect(report.firstProblem).toMatchObject({ kind: 'bad-event-signature', seq: 7 });
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'root-mismatch', seq: 10 }));
  });

  it('a removed event', async () => {
    const { store, h } = await seeded();
    await attacker(store, 'ALTER TABLE {db:Identifier}.events DELETE WHERE seq = 6 SETTINGS mutations_sync = 2');
    const report = await h.log.verify('acme');
    expect(report.firstProblem).toMatchObject({ kind: 'missing', seq: 6 });
    expect(report.firstProblem?.message).toMatch(/seq 6 is missing/);
  });

  it('reordered events', async () => {
    const { store, h } = await seeded();
    const all = await records(store);
    await attacker(store, 'ALTER TABLE {db:Identifier}.events DELETE WHERE seq IN (2, 3) SETTINGS mutations_sync = 2');
    const [two, three] = [all[2]!, all[3]!];
    await store.insertRows(store.encodeRows([{ ...two, seq: 3 }, { ...three, seq: 2 }]), 'attacker-swap');
    const report = await h.log.verify('acme');
    expect(report.firstProblem).toMatchObject({ kind: 'edited', seq: 2, eventId: three.event.id });
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'root-mismatch', seq: 5 }));
  });

  it('an inserted forgery, in the middle and at the end', async () => {
    const { store, h } = await seeded();
    const mallory = generateSigningKey();
    const all = await records(store);
    const forged = flags.event({ actor: { type: 'user', id: 'mallory' }, action: 'flag.enabled' });
    const middle = rehash({ ...all[4]!, event: forged, signature: signEvent(forged, mallory.privateKey).toString('base64') }, Buffer.from(all[3]!.chainHash, 'hex'));
    await store.insertRows(store.encodeRows([middle]), 'attacker-middle');
    let report = await h.log.verify('acme');
    // Two rows now claim seq 4: one is reported as extra, and the forged one fails its signature
    // (whichever of the two the scan meets first is taken as the leaf).
    expect(report.firstProblem?.seq).toBe(4);
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'extra', seq: 4 }));
    expect(report.problems.filter((p) => p.seq === 4).map((p) => p.eventId)).toContain(forged.id);

    const tail = flags.event({ actor: { type: 'user', id: 'mallory' } });
    const last = all[all.length - 1]!;
    const appended = rehash(
      { ...last, seq: last.seq + 1, event: tail, signature: signEvent(tail, mallory.privateKey).toString('base64') },
      Buffer.from(last.chainHash, 'hex'),
    );
    await store.insertRows(store.encodeRows([appended]), 'attacker-tail');
    report = await h.log.verify('acme');
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'bad-event-signature', seq: 12, eventId: tail.id }));
  });

  it('a forged checkpoint', async () => {
    const { store, h } = await seeded();
    const mallory = createNoteSigner('audit.test', generateSigningKey().privateKey);
    const note = signCheckpoint({ origin: 'audit.test/acme', treeSize: 12, rootHash: Buffer.alloc(32, 7) }, mallory);
    await store.insertCheckpoint({ org: 'acme', treeSize: 12, rootHash: Buffer.alloc(32, 7).toString('hex'), note, createdAt: new Date().toISOString(), compactRange: '' });
    const report = await h.log.verify('acme');
    expect(report.firstProblem).toMatchObject({ kind: 'forged-checkpoint', seq: 12 });
    expect(report.firstProblem?.message).toMatch(/no valid signature/);
  });

  it('a rolled-back log and checkpoints (caught by the witness after a restart, and by a trusted checkpoint)', async () => {
    const { store, h } = await seeded();
    const seen = h.log.latestCheckpoint('acme')!.note;
    await attacker(store, 'ALTER TABLE {db:Identifier}.events DELETE WHERE seq >= 10 SETTINGS mutations_sync = 2');
    await attacker(store, 'ALTER TABLE {db:Identifier}.checkpoints DELETE WHERE tree_size > 10 SETTINGS mutations_sync = 2');
    const restarted = await h.restart();
    expect(restarted.log.size('acme')).toBe(10);
    const report = await restarted.log.verify('acme', { trustedCheckpoint: seen });
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ kind: 'rollback', seq: 10 });
    expect(report.problems.filter((p) => p.kind === 'rollback').map((p) => p.message).join('\n')).toMatch(/witness[\s\S]*trusted|trusted[\s\S]*witness/);
  });

  it('an old checkpoint re-inserted as the newest', async () => {
    const { store, h } = await seeded();
    const old = (await store.checkpoints('acme')).find((c) => c.treeSize === 5)!;
    await store.insertCheckpoint({ ...old, createdAt: new Date(Date.now() + 60_000).toISOString() });
    const report = await h.log.verify('acme');
    expect(report.firstProblem).toMatchObject({ kind: 'rollback', seq: 5 });
    expect(report.firstProblem?.message).toMatch(/smaller than the earlier checkpoint/);
  });

  it('nothing wrong: an untouched log verifies (no false alarm)', async () => {
    const { h } = await seeded(7);
    const report = await h.log.verify('acme');
    expect(report).toMatchObject({ ok: true, eventsChecked: 7, treeSize: 7, problems: [] });
    expect(report.checkpointsVerified).toBe(2);
  });
  it('batch-signed events: an edit with recomputed leaves and chain, and signatures swapped between two events of a batch', async () => {
    const store = await freshStore(chdbDriver(), 'tamper');
    const h = await createHarness(store, [flags.keyRow], { checkpointEvery: 5 });
    const events = Array.from({ length: 12 }, (_, i) => flags.event({ after: { rollout: i } }));
    const outcomes = await h.log.append(events.map((event) => ({ event, signature: undefined })), { batchSignature: signBatch(events, flags.privateKey) });
    expect(outcomes.map((o) => o.status)).toEqual(Array(12).fill('accepted'));
    await h.log.checkpointAll();
    expect(await h.log.verify('acme')).toMatchObject({ ok: true, eventsChecked: 12 });
    const all = await records(store);
    expect(all.every((r) => r.signature.startsWith('batch-v1.'))).toBe(true);
    await attacker(store, 'ALTER TABLE {db:Identifier}.events DELETE WHERE seq >= 4 SETTINGS mutations_sync = 2');
    let prev = Buffer.from(all[3]!.chainHash, 'hex');
    const rewritten: LogRecord[] = [];
    for (const r of all.slice(4)) {
      // seq 4: edited; seq 8 and 9: each other's stored batch signature.
      const changed = r.seq === 4 ? { ...r, event: { ...r.event, after: { rollout: 100 } } } : r.seq === 8 ? { ...r, signature: all[9]!.signature } : r.seq === 9 ? { ...r, signature: all[8]!.signature } : r;
      const next = rehash(changed, prev);
      prev = Buffer.from(next.chainHash, 'hex');
      rewritten.push(next);
    }
    await store.insertRows(store.encodeRows(rewritten), 'attacker-rewrite');
    const report = await h.log.verify('acme');
    expect(report.problems.map((p) => p.kind)).not.toContain('edited');
    expect(report.problems.map((p) => p.kind)).not.toContain('chain');
    expect(report.problems.filter((p) => p.kind === 'bad-event-signature').map((p) => p.seq)).toEqual([4, 8, 9]);
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'root-mismatch', seq: 12 }));
  });
});

