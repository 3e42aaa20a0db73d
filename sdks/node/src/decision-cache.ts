/**
 * A decision cache kept fresh by the authz Watch stream.
 *
 * Rules that keep it safe:
 *  - it serves nothing until its Watch stream has caught up, and nothing while the
 *    stream is down (every check then goes to the service);
 *  - any change seen on the stream (or a revision returned by a write, noteRevision)
 *    empties it, and a decision made at a revision older than the newest change it
 *    has seen is never stored — so it never serves a decision older than a revoke
 *    it knows of;
 *  - entries also expire after `ttlMs`.
 * Grant changes are rare next to checks, so clearing on change is simple and costs little.
 */
import { LRUCache } from 'lru-cache';
import type { Decision } from './decision.js';

export interface WatchEvent {
  readonly revision: number;
  readonly changes: number;
  readonly caughtUp: boolean;
}

export class DecisionCache {
  private readonly entries: LRUCache<string, Decision>;
  private live = false;
  private newest = 0;
  hits = 0;
  misses = 0;

  constructor(maxEntries: number, ttlMs: number) {
    this.entries = new LRUCache({ max: maxEntries, ttl: ttlMs });
  }

  get ready(): boolean {
    return this.live;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, atLeastRevision?: number): Decision | undefined {
    if (!this.live) return undefined;
    const found = this.entries.get(key);
    if (found === undefined || (atLeastRevision !== undefined && found.revision < atLeastRevision)) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return found;
  }

  set(key: string, decision: Decision): void {
    if (this.live && decision.revision >= this.newest) this.entries.set(key, decision);
  }

  /** A revision known to exist (from a write, or from the stream). */
  noteRevision(revision: number): void {
    if (revision > this.newest) {
      this.newest = revision;
      this.entries.clear();
    }
  }

  onEvent(event: WatchEvent): void {
    if (event.changes > 0) {
      this.entries.clear();
      this.newest = Math.max(this.newest, event.revision);
    }
    if (event.caughtUp) this.live = true;
  }

  /** The stream is down: stop serving until it has caught up again. */
  onDisconnect(): void {
    this.live = false;
    this.entries.clear();
  }

  get resumeFrom(): number {
    return this.newest;
  }
}

export function cacheKey(parts: readonly unknown[]): string {
  return JSON.stringify(parts);
}
