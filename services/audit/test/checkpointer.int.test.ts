/**
 * Checkpoints are signed off the commit path: while a checkpoint write hangs in the
 * store, Appends past the threshold are still acknowledged; once it goes through,
 * every head handed over is signed, in order, and the log verifies.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { AuditStore } from '../src/domain/ports.js';
import { chdbDriver, freshStore } from './support/chdb.js';
import { createHarness } from './support/harness.js';
import { createProducer } from './support/producer.js';

const flags = createProducer('flags', 'k1');

/** The store, with checkpoint inserts held until `release()`. */
function holdingCheckpoints(inner: AuditStore): { store: AuditStore; release(): void; held(): number } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  const store = new Proxy(inner, {
    get(target, property) {
      if (property === 'insertCheckpoint') {
        return async (...args: Parameters<AuditStore['insertCheckpoint']>) => {
          held += 1;
          await gate;
          return target.insertCheckpoint(...args);
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, release, held: () => held };
}

describe('the checkpointer', () => {
  it('does not hold acknowledgements back while a checkpoint is written', async () => {
    const inner = await freshStore(chdbDriver(), 'ckpt');
    const { store, release, held } = holdingCheckpoints(inner);
    const h = await createHarness(store, [flags.keyRow], { checkpointEvery: 2 });
    for (let i = 0; i < 6; i += 1) {
      const answer = await Promise.race([h.log.append([flags.signed()]), sleep(10_000).then(() => 'not acknowledged' as const)]);
      expect(answer).not.toBe('not acknowledged');
      expect(answer[0]).toMatchObject({ status: 'accepted', seq: i });
      if (i === 1) {
        // Stored: the checkpoint of size 2 is asked for and its write is held from now on.
        await h.log.stored();
        for (let n = 0; n < 100 && held() === 0; n += 1) await sleep(20);
      }
    }
    // The first checkpoint (size 2) is still held in the store; nothing is signed yet.
    expect(held()).toBe(1);
    expect(h.log.latestCheckpoint('acme')).toBeUndefined();
    release();
    await h.log.checkpointsSettled();
    expect((await inner.checkpoints('acme')).map((c) => c.treeSize)).toEqual([2, 4, 6]);
    expect(h.log.latestCheckpoint('acme')?.treeSize).toBe(6);
    const report = await h.log.verify('acme');
    expect(report).toMatchObject({ ok: true, checkpointsVerified: 3, treeSize: 6, problems: [] });
  });
});
