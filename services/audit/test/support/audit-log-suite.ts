/**
 * The audit log's behaviour against a real ClickHouse engine, written once and
 * run with each driver: chdb (always) and a ClickHouse server (CLICKHOUSE_URL).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { openCheckpoint, createNoteVerifier, signEvent, verifyConsistency, verifyInclusion } from '@warden/audit-events';
import { parseFilter } from '../../src/domain/query.js';
import type { ClickHouseDriver } from '../../src/adapters/stores/driver.js';
import type { ClickHouseAuditStore } from '../../src/adapters/stores/clickhouse-audit-store.js';
import { freshStore } from './chdb.js';
import { createHarness, type Harness } from './harness.js';
import { createProducer } from './producer.js';

export function auditLogSuite(driver: () => ClickHouseDriver): void {
  const flags = createProducer('flags', 'k1');
  let store: ClickHouseAuditStore;
  let h: Harness;

  beforeAll(async () => {
    store = await freshStore(driver(), 'log');
    h = await createHarness(store, [flags.keyRow], { checkpointEvery: 4 });
  });

  it('accepts signed events, answers duplicates by id, refuses a conflicting payload', async () => {
    const a = flags.signed();
    const b = flags.signed({ after: { rollout: 50 }, actor: { type: 'user', id: 'sarah@acme.com' } });
    const first = await h.log.append([a, b]);
    expect(first).toEqual([
      { status: 'accepted', id: a.parsed.id, seq: 0 },
      { status: 'accepted', id: b.parsed.id, seq: 1 },
    ]);
    const again = await h.log.append([a, b]);
    expect(again.map((o) => o.status)).toEqual(['duplicate', 'duplicate']);
    expect(again.map((o) => ('seq' in o ? o.seq : -1))).toEqual([0, 1]);
    const changed = { ...a.parsed, after: { rollout: 99 } };
    const conflict = await h.log.append([{ event: changed, signature: signEvent(changed, flags.privateKey) }]);
    expect(conflict[0]).toMatchObject({ status: 'refused', reason: 'conflict', field: 'event.id' });
    await h.log.stored(); // the store receives acknowledged events behind the acknowledgement
    const rows = await store.query(parseFilter({ org: 'acme' }), undefined, 100);
    expect(rows.map((r) => r.event.id).sort()).toEqual([a.parsed.id, b.parsed.id].sort());
  });

  it('refuses unsigned, badly signed, malformed, oversized, future-dated and unknown-producer events and stores none of them', async () => {
    const before = h.log.size('acme');
    const good = flags.signed();
    const stranger = createProducer('ghost', 'k9');
    const wrongKey = createProducer('flags', 'k1');
    const future = flags.event({ occurredAt: new Date(Date.now() + 3_600_000).toISOString() });
    const huge = flags.event({ after: { blob: 'x'.repeat(70_000) } });
    const outcomes = await h.log.append([
      { event: good.event, signature: undefined },
      { event: good.event, signature: wrongKey.signed().signature },
      { event: { ...good.parsed, action: 'Enabled!' }, signature: good.signature },
      { event: huge, signature: signEvent(huge, flags.privateKey) },
      { event: future, signature: signEvent(future, flags.privateKey) },
      stranger.signed(),
      { event: flags.event({ keyId: 'k2' }), signature: Buffer.alloc(64) },
    ]);
    expect(outcomes.map((o) => (o.status === 'refused' ? [o.reason, o.field] : o.status))).toEqual([
      ['unsigned', 'signature'],
      ['bad-signature', 'signature'],
      ['malformed', 'event.action'],
      ['oversized', 'event'],
      ['future-dated', 'event.occurred_at'],
      ['unknown-producer', 'event.producer'],
      ['unknown-key', 'event.key_id'],
    ]);
    expect(h.log.size('acme')).toBe(before);
    expect(await store.findIds([good.parsed.id, future.id, huge.id])).toEqual(new Map());
  });

  it('rotates and revokes producer keys: new events by a revoked key are refused, its old events still verify', async () => {
    const rotated = createProducer('flags', 'k2');
    await h.log.addProducerKey('flags', 'k2', rotated.publicKeyB64);
    const byOld = flags.signed();
    expect((await h.log.append([byOld]))[0]).toMatchObject({ status: 'accepted' });
    await h.log.rotateProducerKey('flags', 'k1', 'k2', rotated.publicKeyB64);
    expect((await h.log.append([flags.signed()]))[0]).toMatchObject({ status: 'refused', reason: 'revoked-key', field: 'event.key_id' });
    expect((await h.log.append([rotated.signed()]))[0]).toMatchObject({ status: 'accepted' });
    // A restarted service reads the registry back from the store.
    h = await h.restart();
    expect((await h.log.append([flags.signed()]))[0]).toMatchObject({ status: 'refused', reason: 'revoked-key' });
    await h.log.checkpointAll();
    const report = await h.log.verify('acme');
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.eventsChecked).toBe(h.log.size('acme'));
  });

  it('signs checkpoints every N events and serves inclusion and consistency proofs that verify against them', async () => {
    const p = createProducer('proofs', 'p1');
    await h.log.addProducerKey('proofs', 'p1', p.publicKeyB64);
    const events = Array.from({ length: 9 }, (_, i) => p.signed({ resource: `org:globex/project:web/env:staging/flag:f${i}` }));
    for (const e of events) await h.log.append([e]);
    // Checkpoints are signed after the acknowledgement, off the commit path.
    await h.log.checkpointsSettled();
    const first = h.log.latestCheckpoint('globex');
    expect(first?.treeSize).toBe(8);
    await h.log.checkpointAll();
    const latest = h.log.latestCheckpoint('globex')!;
    expect(latest.treeSize).toBe(9);
    const verifier = createNoteVerifier('audit.test', h.checkpointKey.publicKey);
    const opened = openCheckpoint(latest.note, [verifier]);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.checkpoint.origin).toBe('audit.test/globex');
    for (const [i, e] of events.entries()) {
      const proof = await h.log.inclusionProof('globex', e.parsed.id, 0);
      expect(proof.seq).toBe(i);
      expect(verifyInclusion(i, 9, Buffer.from(proof.leafHash, 'hex'), proof.path, opened.checkpoint.rootHash)).toBe(true);
    }
    const consistency = await h.log.consistencyProof('globex', 8, 0);
    const old = openCheckpoint(first!.note, [verifier]);
    expect(old.ok).toBe(true);
    if (!old.ok) return;
    expect(verifyConsistency(8, 9, old.checkpoint.rootHash, opened.checkpoint.rootHash, consistency.proof)).toBe(true);
    expect((await store.checkpoints('globex')).map((c) => c.treeSize)).toEqual([4, 8, 9]);
  });

  it('answers timelines with filters, both orders and cursors', async () => {
    const t = createProducer('timeline', 't1');
    await h.log.addProducerKey('timeline', 't1', t.publicKeyB64);
    const at = (min: number) => new Date(Date.UTC(2026, 10, 20, 14, min)).toISOString();
    const prod = 'org:initech/project:checkout/env:production';
    const batch = [
      t.signed({ occurredAt: at(1), resource: `${prod}/flag:checkout-v2`, action: 'flag.rollout_changed', actor: { type: 'user', id: 'alex@initech.com' } }),
      t.signed({ occurredAt: at(2), resource: `${prod}/flag:checkout-v2`, action: 'flag.enabled', actor: { type: 'user', id: 'sarah@initech.com' } }),
      t.signed({ occurredAt: at(3), resource: 'org:initech/project:checkout/env:staging/flag:checkout-v2', action: 'flag.enabled', actor: { type: 'user', id: 'sarah@initech.com' } }),
      t.signed({ occurredAt: at(4), resource: `${prod}/variable:DATABASE_URL`, action: 'variable.changed', actor: { type: 'service', id: 'deployer' } }),
      t.signed({ occurredAt: at(40), resource: `${prod}/flag:checkout-v2-beta`, action: 'flag.enabled', actor: { type: 'user', id: 'sarah@initech.com' } }),
    ];
    expect((await h.log.append(batch)).every((o) => o.status === 'accepted')).toBe(true);
    const ids = (rows: { event: { id: string } }[]) => rows.map((r) => batch.findIndex((b) => b.parsed.id === r.event.id));
    const q = (f: Parameters<typeof parseFilter>[0], limit = 100) => h.log.query(parseFilter(f), undefined, limit);
    expect(ids(await q({ org: 'initech', project: 'checkout', environment: 'production' }))).toEqual([4, 3, 1, 0]);
    expect(ids(await q({ org: 'initech', project: 'checkout', environment: 'production', since: new Date(at(0)), until: new Date(at(30)) }))).toEqual([3, 1, 0]);
    expect(ids(await q({ org: 'initech', resource: `${prod}/flag:checkout-v2`, order: 'oldest' }))).toEqual([0, 1]);
    expect(ids(await q({ org: 'initech', resourcePrefix: `${prod}/flag:checkout-v2` }))).toEqual([1, 0]);
    expect(ids(await q({ org: 'initech', actor: 'user:sarah@initech.com' }))).toEqual([4, 2, 1]);
    expect(ids(await q({ org: 'initech', actions: ['flag.rollout_changed', 'variable.changed'] }))).toEqual([3, 0]);
    const page1 = await q({ org: 'initech', order: 'oldest' }, 2);
    const last = page1[page1.length - 1]!;
    const page2 = await h.log.query(parseFilter({ org: 'initech', order: 'oldest' }), { occurredAt: last.event.occurredAt, seq: last.seq }, 2);
    expect([...ids(page1), ...ids(page2)]).toEqual([0, 1, 2, 3]);
    const row = (await q({ org: 'initech', resource: `${prod}/variable:DATABASE_URL` }))[0]!;
    expect(row).toMatchObject({ project: 'checkout', environment: 'production', payloadExpired: false });
    expect(row.event).toEqual(batch[3]!.parsed);
  });

  it('verifies the whole log and a range', async () => {
    await h.log.checkpointAll();
    for (const org of ['acme', 'globex', 'initech']) {
      const report = await h.log.verify(org);
      expect(report.problems, org).toEqual([]);
      expect(report.treeSize).toBe(h.log.size(org));
    }
    const range = await h.log.verify('globex', { from: 2, to: 5 });
    expect(range).toMatchObject({ ok: true, eventsChecked: 3 });
  });

  it('keeps an id unique across a restart (duplicate answered from the store)', async () => {
    const rotated = createProducer('late', 'l1');
    await h.log.addProducerKey('late', 'l1', rotated.publicKeyB64);
    const old = rotated.signed({ id: uuidv7({ msecs: Date.now() - 7_200_000 }) });
    expect((await h.log.append([old]))[0]).toMatchObject({ status: 'accepted' });
    h = await h.restart({ dedupWindowMs: 60_000 });
    expect((await h.log.append([old]))[0]).toMatchObject({ status: 'duplicate' });
  });
}

export { describe };
