/**
 * Duplicate detection without a store round-trip: the id, position and content hash of
 * every logged event whose id was minted (UUIDv7 time) at or after `horizon`. An older
 * id that is not here may still be logged: the sequencer asks the store about it.
 *
 * Ids are kept in buckets by the second their UUIDv7 was minted, so eviction drops whole
 * seconds (work in proportion to what is dropped, never a scan of everything kept). The
 * set is bounded twice: ids older than `windowMs` go, and when more than `maxIds` are
 * kept the oldest seconds go too (the horizon moves up, and the store answers for them):
 * at 20,000 events/s a ten-minute window would otherwise hold 12 million entries.
 */
import { uuidV7Time } from '@warden/audit-events';
import type { StoredId } from '../domain/ports.js';

const SECOND = 1000;

export class RecentIds {
  private readonly known = new Map<string, StoredId>();
  /** Ids by the second they were minted in. */
  private readonly buckets = new Map<number, string[]>();
  /** Ids minted at or after this time are all in `known` (when logged). */
  private horizon = 0;
  private lastEviction = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxIds = 500_000,
  ) {}

  /** Forgets everything; ids minted from `now - window` on must then be remembered again. */
  reset(now: number): void {
    this.known.clear();
    this.buckets.clear();
    this.horizon = now - this.windowMs;
  }

  /** The earliest id time this set vouches for. */
  get since(): number {
    return this.horizon;
  }

  get size(): number {
    return this.known.size;
  }

  get(id: string): StoredId | undefined {
    return this.known.get(id);
  }

  remember(id: string, stored: StoredId): void {
    if (!this.known.has(id)) {
      const second = Math.floor(uuidV7Time(id) / SECOND);
      let bucket = this.buckets.get(second);
      if (bucket === undefined) {
        bucket = [];
        this.buckets.set(second, bucket);
      }
      bucket.push(id);
    }
    this.known.set(id, stored);
  }

  /** True when `id` is not remembered and older than the horizon: only the store can tell. */
  needsStoreCheck(id: string): boolean {
    return !this.known.has(id) && uuidV7Time(id) < this.horizon;
  }

  /** Drops the seconds older than the window, then the oldest ones while more than `maxIds` are kept. At most once a second unless over the bound. */
  evict(now: number): void {
    if (now - this.lastEviction < SECOND && this.known.size <= this.maxIds) return;
    this.lastEviction = now;
    const cutoff = now - this.windowMs;
    const seconds = [...this.buckets.keys()].sort((a, b) => a - b);
    for (const second of seconds) {
      const end = (second + 1) * SECOND;
      if (end > cutoff && this.known.size <= this.maxIds) break;
      for (const id of this.buckets.get(second)!) this.known.delete(id);
      this.buckets.delete(second);
      this.horizon = Math.max(this.horizon, end);
    }
    this.horizon = Math.max(this.horizon, cutoff);
  }
}
