import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import type { AuditEvent } from '@warden/audit-events';
import { AuditSpool } from './audit-spool.js';

const root = mkdtempSync(path.join(tmpdir(), 'warden-sdk-spool-'));
let n = 0;
const fresh = () => path.join(root, `case-${++n}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const event = (i: number): AuditEvent => ({
  id: uuidv7(),
  occurredAt: new Date(Date.UTC(2026, 10, 23, 12, 0, i)).toISOString(),
  actor: { type: 'user', id: 'sarah@acme.com' },
  action: 'flag.rollout_changed',
  resource: 'org:acme/project:checkout/env:production/flag:checkout-v2',
  before: { rollout: i },
  after: { rollout: i + 1 },
  producer: 'flags',
  keyId: 'flags-1',
});

describe("the audit client's spool", () => {
  it('keeps every recorded event the service did not answer, across a crash', async () => {
    const dir = fresh();
    const spool = new AuditSpool(dir);
    const events = Array.from({ length: 6 }, (_, i) => event(i));
    for (const e of events) await spool.append(e);
    await spool.answer([events[0]!.id, events[1]!.id]);
    // No close(): the process dies here.
    const next = new AuditSpool(dir);
    expect(next.load()).toEqual(events.slice(2));
    expect(next.depth).toBe(4);
  });

  it('appends an answer line per batch instead of rewriting the file, and removes it when everything is answered', async () => {
    const dir = fresh();
    const spool = new AuditSpool(dir);
    const events = Array.from({ length: 4 }, (_, i) => event(i));
    for (const e of events) await spool.append(e);
    const { ino, size } = statSync(spool.path);
    const before = readFileSync(spool.path, 'utf8');
    await spool.answer([events[0]!.id]);
    await spool.answer([events[1]!.id]);
    expect(statSync(spool.path).ino).toBe(ino);
    expect(readFileSync(spool.path, 'utf8').slice(0, size)).toBe(before);
    expect(readFileSync(spool.path, 'utf8').slice(size)).toBe(`{"answered":["${events[0]!.id}"]}\n{"answered":["${events[1]!.id}"]}\n`);
    await spool.answer([events[2]!.id, events[3]!.id]);
    expect(() => statSync(spool.path)).toThrow(/ENOENT/);
    expect(new AuditSpool(dir).load()).toEqual([]);
    await spool.append(events[0]!);
    expect(new AuditSpool(dir).load()).toEqual([events[0]]);
  });

  it('does not remove the file while an append is on its way', async () => {
    const dir = fresh();
    const spool = new AuditSpool(dir);
    const first = event(0);
    const second = event(1);
    await spool.append(first);
    const appending = spool.append(second);
    await spool.answer([first.id]);
    await appending;
    expect(new AuditSpool(dir).load()).toEqual([second]);
  });

  it('rotates to a new segment after segmentLines and deletes a segment once all its events are answered, rewriting none', async () => {
    const dir = fresh();
    const spool = new AuditSpool(dir, 3);
    const events = Array.from({ length: 8 }, (_, i) => event(i));
    for (const e of events.slice(0, 7)) await spool.append(e);
    // 3 + 3 + 1 lines: three segments.
    expect(spool.files.map((f) => path.basename(f))).toEqual(['audit-spool.jsonl', 'audit-spool.1.jsonl', 'audit-spool.2.jsonl']);
    const second = readFileSync(spool.files[1]!, 'utf8');
    const { ino } = statSync(spool.files[1]!);
    // Answering out of order: the first segment's events (0-2) and one of the second (4).
    await spool.answer([events[4]!.id, events[0]!.id]);
    await spool.answer([events[1]!.id, events[2]!.id]);
    expect(spool.files.map((f) => path.basename(f))).toEqual(['audit-spool.1.jsonl', 'audit-spool.2.jsonl']);
    expect(() => statSync(path.join(dir, 'audit-spool.jsonl'))).toThrow(/ENOENT/);
    // The second segment is untouched (answer lines go to the newest one).
    expect(statSync(spool.files[0]!).ino).toBe(ino);
    expect(readFileSync(spool.files[0]!, 'utf8')).toBe(second);
    // A crash now: what waits comes back, in record order.
    expect(new AuditSpool(dir, 3).load()).toEqual([events[3], events[5], events[6]]);
    await spool.append(events[7]!);
    await spool.answer([events[3]!.id, events[5]!.id]);
    // Events 3 and 5 were the last waiting ones of segment 1: it goes (no answer line needed).
    expect(spool.files.map((f) => path.basename(f))).toEqual(['audit-spool.2.jsonl']);
    const reopened = new AuditSpool(dir, 3);
    expect(reopened.load()).toEqual([events[6], events[7]]);
    expect(reopened.depth).toBe(2);
    await reopened.answer([events[6]!.id, events[7]!.id]);
    expect(reopened.files).toEqual([]);
    expect(new AuditSpool(dir, 3).load()).toEqual([]);
  });

  it('concurrent answers never leave a segment file behind (a deletion does not race an answer line)', async () => {
    // Answers of one batch and of another, in flight together, each deleting segments the
    // other one touched: repeated, as the interleaving depends on when each fsync returns.
    for (let round = 0; round < 40; round += 1) {
      const dir = fresh();
      const spool = new AuditSpool(dir, 1);
      const events = Array.from({ length: 6 }, (_, i) => event(i));
      for (const e of events) await spool.append(e);
      const ids = events.map((e) => e.id);
      await Promise.all([spool.answer([ids[0]!, ids[5]!, ids[3]!]), spool.answer([ids[1]!, ids[4]!]), spool.answer([ids[2]!])]);
      expect(readdirSync(dir), `round ${round}`).toEqual([]);
    }
  });

  it('an event recorded while the last segment is being deleted is kept (a new segment never reuses its path)', async () => {
    for (let round = 0; round < 40; round += 1) {
      const dir = fresh();
      const spool = new AuditSpool(dir);
      const [a, b] = [event(0), event(1)];
      await spool.append(a);
      const answering = spool.answer([a.id]); // deletes the only segment…
      const appending = spool.append(b); // …while the next event is recorded
      await Promise.all([answering, appending]);
      expect(new AuditSpool(dir).load(), `round ${round}`).toEqual([b]);
    }
  });

  it('never deletes a segment an append is writing to', async () => {
    const dir = fresh();
    const spool = new AuditSpool(dir, 1);
    const first = event(0);
    await spool.append(first);
    const second = event(1);
    const appending = spool.append(second); // opens segment 1
    await spool.answer([first.id]);
    await appending;
    expect(new AuditSpool(dir, 1).load()).toEqual([second]);
  });

  it('reads a spool written by earlier versions (one event per line) and skips what is not an event', () => {
    const dir = fresh();
    const events = [event(0), event(1)];
    const file = path.join(dir, 'audit-spool.jsonl');
    new AuditSpool(dir);
    writeFileSync(file, `${JSON.stringify(events[0])}\nnot json\n{"id":"x"}\n${JSON.stringify(events[1])}\n{"torn":`);
    const spool = new AuditSpool(dir);
    expect(spool.load()).toEqual(events);
    expect(spool.depth).toBe(2);
  });
});
