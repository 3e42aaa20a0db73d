/**
 * Duplicate detection without a store round-trip: the id, position and content hash of
 * every logged event whose id was minted (UUIDv7 time) at or after `horizon`. An older
 * id that is not here may still be logged: the sequencer asks the store about it.
 * Ids older than the window are evicted at most every 10 s.
 */
import { uuidV7Time } from '@warden/audit-events';
import type { StoredId } from '../domain/ports.js';

type Known = StoredId & { readonly idTime: number };

export class RecentIds {
  private readonly known = new Map<string, Known>();
  /** Ids minted at or after this time are all in `known` (when logged). */
  private horizon = 0;
  private lastEviction = 0;

  constructor(private readonly windowMs: number) {}

  /** Forgets everything; ids minted from `now - window` on must then be remembered again. */
  reset(now: number): void {
    this.known.clear();
    this.horizon = now - this.windowMs;
  }

  /** The earliest id time this set vouches for. */
  get since(): number {
    return this.horizon;
  }

  get(id: string): StoredId | undefined {
    return this.known.get(id);
  }

  remember(id: string, stored: StoredId): void {
    this.known.set(id, { ...stored, idTime: uuidV7Time(id) });
  }

  /** True when `id` is not remembered and older than the horizon: only the store can tell. */
  needsStoreCheck(id: string): boolean {
    return !this.known.has(id) && uuidV7Time(id) < this.horizon;
  }

  evict(now: number): void {
    if (now - this.lastEviction < 10_000) return;
    this.lastEviction = now;
    const cutoff = now - this.windowMs;
    if (cutoff <= this.horizon) return;
    for (const [id, known] of this.known) if (known.idTime < cutoff) this.known.delete(id);
    this.horizon = cutoff;
  }
}
