/**
 * The delivery loop's rules over an in-memory log and sink: duplicate rows are sent once,
 * a gap ends a batch until it fills, a failed cursor save resends (never skips), a stop
 * while a send is in flight acknowledges nothing.
 */
import type { StoredRecord } from '@warden/audit-events';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '@warden/testkit';
import { ALL_EVENTS, type CursorStore, type DeliveryBatch, type Sink } from '../domain/delivery.js';
import type { AuditStore, LogHead, StoreCallOptions } from '../domain/ports.js';
import { Delivery } from './delivery.js';
import { silentLogger } from './logger.js';

function record(org: string, seq: number, action = 'flag.enabled'): StoredRecord {
  return {
    org,
    seq,
    loggedAt: new Date(Date.now() - 60_000 + seq).toISOString(),
    event: { id: `${org}-${seq}`, occurredAt: new Date().toISOString(), actor: { type: 'user', id: 'a@b.c' }, action, resource: `org:${org}/flag:x`, producer: 'flags', keyId: 'k1' },
    signature: 'sig',
    project: '',
    environment: '',
    contentHash: '',
    leafHash: '',
    chainHash: '',
    payloadExpired: false,
  };
}

/** Rows as a store may hold them: in any order, with duplicates; heads = max(seq) + 1. */
class MemoryLog implements Pick<AuditStore, 'heads' | 'scan'> {
  rows: StoredRecord[] = [];
  async heads(): Promise<LogHead[]> {
    const size = new Map<string, number>();
    for (const r of this.rows) size.set(r.org, Math.max(size.get(r.org) ?? 0, r.seq + 1));
    return Promise.resolve([...size].map(([org, s]) => ({ org, size: s, lastChainHash: '' })));
  }
  async *scan(org: string, from: number, to: number): AsyncIterable<StoredRecord> {
    const rows = this.rows.filter((r) => r.org === org && r.seq >= from && r.seq < to).sort((a, b) => a.seq - b.seq);
    for (const r of rows) yield await Promise.resolve(r);
  }
}

class MemorySink implements Sink {
  readonly name = 'memory';
  batches: DeliveryBatch[] = [];
  failWith: Error | undefined;
  hang = false;
  async send(batch: DeliveryBatch, options: StoreCallOptions): Promise<void> {
    if (this.hang) {
      await new Promise<void>((_, reject) => options.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    if (this.failWith !== undefined) throw this.failWith;
    this.batches.push(batch);
  }
  seqs(org: string): number[] {
    return this.batches.filter((b) => b.org === org).flatMap((b) => b.records.map((r) => r.seq));
  }
}

class MemoryCursors implements CursorStore {
  saved = new Map<string, number>();
  failSaves = 0;
  async load() {
    return Promise.resolve(new Map(this.saved));
  }
  async save(cursors: ReadonlyMap<string, number>) {
    if (this.failSaves > 0) {
      this.failSaves -= 1;
      throw new Error('disk full');
    }
    this.saved = new Map(cursors);
    return Promise.resolve();
  }
}

const running: Delivery[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});

function start(log: MemoryLog, sink: MemorySink, cursors: MemoryCursors, batchSize = 3): Delivery {
  const delivery = new Delivery({ store: log, sink, cursors, filter: ALL_EVENTS, batchSize, timeoutMs: 200, pollMs: 5, retry: { initialMs: 5, maxMs: 20 }, logger: silentLogger });
  running.push(delivery);
  return delivery;
}

describe('Delivery', () => {
  it('sends a duplicated row once, in seq order', async () => {
    const log = new MemoryLog();
    log.rows = [record('acme', 1), record('acme', 0), record('acme', 1), record('acme', 2), record('acme', 2), record('acme', 3)];
    const sink = new MemorySink();
    const cursors = new MemoryCursors();
    await start(log, sink, cursors).start();
    await eventually(() => cursors.saved.get('acme') === 4);
    expect(sink.seqs('acme')).toEqual([0, 1, 2, 3]);
  });

  it('stops at a gap and goes on once it is filled', async () => {
    const log = new MemoryLog();
    log.rows = [record('acme', 0), record('acme', 1), record('acme', 3)];
    const sink = new MemorySink();
    const cursors = new MemoryCursors();
    const delivery = start(log, sink, cursors);
    await delivery.start();
    await eventually(() => cursors.saved.get('acme') === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sink.seqs('acme')).toEqual([0, 1]);
    expect(delivery.status().pendingEvents).toBe(2);
    log.rows.push(record('acme', 2));
    await eventually(() => cursors.saved.get('acme') === 4);
    expect(sink.seqs('acme')).toEqual([0, 1, 2, 3]);
  });

  it('a failed cursor save resends from the saved cursor after a restart: at least once, nothing skipped', async () => {
    const log = new MemoryLog();
    log.rows = [0, 1, 2, 3, 4, 5].map((s) => record('acme', s));
    const sink = new MemorySink();
    const cursors = new MemoryCursors();
    cursors.failSaves = 100;
    const first = start(log, sink, cursors);
    await first.start();
    await eventually(() => sink.batches.length >= 1);
    await first.close();
    expect(cursors.saved.size).toBe(0);
    cursors.failSaves = 0;
    const second = start(log, sink, cursors);
    await second.start();
    await eventually(() => cursors.saved.get('acme') === 6);
    const seqs = sink.seqs('acme');
    // Every event at least once; what the second run sent is the whole log, in order.
    expect(new Set(seqs)).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    expect(seqs.slice(seqs.lastIndexOf(0))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a send cut off by close() is not acknowledged: the cursor stays', async () => {
    const log = new MemoryLog();
    log.rows = [record('acme', 0)];
    const sink = new MemorySink();
    sink.hang = true;
    const cursors = new MemoryCursors();
    const delivery = start(log, sink, cursors);
    await delivery.start();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await delivery.close();
    expect(sink.batches).toEqual([]);
    expect(cursors.saved.get('acme')).toBeUndefined();
  });

  it('one organization failing does not hold up another of the same sink', async () => {
    const log = new MemoryLog();
    log.rows = [record('acme', 0), record('globex', 0), record('globex', 1)];
    const cursors = new MemoryCursors();
    const sink = new (class extends MemorySink {
      override async send(batch: DeliveryBatch, options: StoreCallOptions): Promise<void> {
        if (batch.org === 'acme') throw new Error('acme refused');
        return super.send(batch, options);
      }
    })();
    const delivery = start(log, sink, cursors);
    await delivery.start();
    await eventually(() => cursors.saved.get('globex') === 2);
    expect(sink.seqs('globex')).toEqual([0, 1]);
    expect(delivery.failures).toBeGreaterThan(0);
    expect(delivery.status().pendingEvents).toBe(1);
  });
});
