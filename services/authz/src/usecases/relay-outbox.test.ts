/**
 * The relay's rules over fakes of its two ports (pure logic; the Postgres outbox and the real
 * audit service are proven end to end in test/relay.int.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '@warden/audit-events';
import type { AuditSink, Outbox, OutboxEntry, OutboxOutcome } from '../ports.js';
import { startOutboxRelay } from './relay-outbox.js';

function entry(n: number): OutboxEntry {
  return {
    id: `0190c0de-0000-7000-8000-${String(n).padStart(12, '0')}`,
    event: { id: `e${n}`, occurred_at: '2026-11-29T10:00:00Z', actor: { type: 'user', id: 'sam' }, action: 'binding.created', resource: 'acme', before: null, after: { n }, reason: null },
  };
}

/** An outbox over an array: claims in order, records outcomes the way the Postgres adapter does. */
function memoryOutbox(entries: OutboxEntry[]) {
  const shipped = new Set<string>();
  const errors = new Map<string, string>();
  const outbox: Outbox = {
    async claim(limit, ship) {
      const batch = entries.filter((e) => !shipped.has(e.id)).slice(0, limit);
      if (batch.length === 0) return 0;
      const outcome: OutboxOutcome = await ship(batch);
      for (const id of outcome.shipped) shipped.add(id);
      for (const { id, error } of outcome.refused) errors.set(id, error);
      return batch.length;
    },
  };
  return { outbox, shipped, errors };
}

const quiet = { warn: () => undefined, error: () => undefined };

describe('the outbox relay', () => {
  it('ships in order, keeps a refused event in the outbox with its reason, and drains the rest', async () => {
    const { outbox, shipped, errors } = memoryOutbox([1, 2, 3, 4, 5].map(entry));
    const seen: AuditEvent[] = [];
    const sink: AuditSink = {
      append(events) {
        seen.push(...events);
        return Promise.resolve(events.map((e) => (e.after !== null && (e.after as { n: number }).n === 3 ? { accepted: false, error: 'bad signature' } : { accepted: true })));
      },
      isUnreachable: () => false,
      close: () => undefined,
    };
    const relay = startOutboxRelay({ outbox, sink, producer: 'warden-authz', keyId: 'k1', batchSize: 2, intervalMs: 60_000, log: quiet });
    await relay.stop();
    // A batch with a refused event ends a drain early (the next tick goes on): drain until nothing more ships.
    while ((await relay.drain()) > 0);
    expect([...shipped]).toEqual([1, 2, 4, 5].map((n) => entry(n).id));
    expect(errors.get(entry(3).id)).toBe('bad signature');
    expect(relay.stats.refused).toBeGreaterThanOrEqual(1);
    expect(seen[0]).toMatchObject({ id: entry(1).id, producer: 'warden-authz', keyId: 'k1', actor: { type: 'user', id: 'sam' } });
  });

  it('marks nothing when the sink fails, and ships the same events once it answers', async () => {
    const { outbox, shipped } = memoryOutbox([1, 2].map(entry));
    let up = false;
    const sink: AuditSink = {
      async append(events) {
        if (!up) throw new Error('unreachable');
        return events.map(() => ({ accepted: true }));
      },
      isUnreachable: () => true,
      close: () => undefined,
    };
    const relay = startOutboxRelay({ outbox, sink, producer: 'p', keyId: 'k', batchSize: 10, intervalMs: 60_000, log: quiet });
    await relay.stop();
    await expect(relay.drain()).rejects.toThrow('unreachable');
    expect(shipped.size).toBe(0);
    up = true;
    expect(await relay.drain()).toBe(2);
    expect(shipped.size).toBe(2);
  });
});
