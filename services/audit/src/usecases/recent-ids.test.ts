import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { RecentIds } from './recent-ids.js';

const idAt = (ms: number) => uuidv7({ msecs: ms });
const stored = (seq: number) => ({ org: 'acme', seq, contentHash: 'h'.repeat(64) });

describe('RecentIds', () => {
  const now = Date.UTC(2026, 10, 29, 12);

  it('answers remembered ids, and sends only ids older than the horizon to the store', () => {
    const ids = new RecentIds(60_000);
    ids.reset(now);
    const fresh = idAt(now - 1_000);
    ids.remember(fresh, stored(0));
    expect(ids.get(fresh)).toEqual(stored(0));
    expect(ids.needsStoreCheck(fresh)).toBe(false);
    expect(ids.needsStoreCheck(idAt(now - 2_000))).toBe(false); // within the window, not logged
    expect(ids.needsStoreCheck(idAt(now - 61_000))).toBe(true);
  });

  it('drops whole seconds older than the window and moves the horizon to the window', () => {
    const ids = new RecentIds(60_000);
    ids.reset(now);
    const old = idAt(now - 30_000);
    const young = idAt(now - 1_000);
    ids.remember(old, stored(0));
    ids.remember(young, stored(1));
    ids.evict(now + 40_000);
    expect(ids.get(old)).toBeUndefined();
    expect(ids.needsStoreCheck(old)).toBe(true);
    expect(ids.get(young)).toEqual(stored(1));
    expect(ids.since).toBe(now + 40_000 - 60_000);
  });

  it('keeps at most maxIds: the oldest seconds go and the store answers for them', () => {
    const ids = new RecentIds(600_000, 10);
    ids.reset(now);
    const all = Array.from({ length: 25 }, (_, i) => idAt(now - 25_000 + i * 1_000));
    all.forEach((id, i) => ids.remember(id, stored(i)));
    ids.evict(now);
    expect(ids.size).toBeLessThanOrEqual(10);
    const kept = all.filter((id) => ids.get(id) !== undefined);
    expect(kept).toEqual(all.slice(all.length - kept.length));
    for (const id of all.slice(0, all.length - kept.length)) expect(ids.needsStoreCheck(id)).toBe(true);
    for (const id of kept) expect(ids.needsStoreCheck(id)).toBe(false);
  });
});
