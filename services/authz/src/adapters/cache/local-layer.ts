/**
 * The in-process layer: an LRU of unit entries (bounded by entries and bytes) keyed by the
 * unit's name, and the hot path that answers one request from it with no I/O.
 *
 * Invariants:
 *   - every entry in the layer is current at the tracker's `applied` (the tracker drops what an
 *     invalidation touched through `invalidate`/`clear`; only admitted units are `set`);
 *   - an entry the layer drops (evicted, invalidated, replaced, cleared) is marked `dead` at
 *     once (lru-cache calls `dispose` synchronously), so a memo over entries that are all
 *     alive is current too;
 *   - `hit` is synchronous: no invalidation interleaves, so every unit it reads is current at
 *     the revision it is given.
 * Memos (units.ts) are re-resolved through the layer every REFRESH_EVERY uses anyway, which
 * keeps the units they name recently used (an LRU evicts what it does not see read).
 */
import { wildcardOf } from '../../domain/grant-graph.js';
import { LRUCache } from 'lru-cache';
import type { GrantView } from '../../domain/engine.js';
import type { ResourceAttributes } from '../../domain/model.js';
import type { ViewRequest } from '../../ports.js';
import type { CacheCounters } from './cache-options.js';
import { nameOf } from './cache-keys.js';
import type { InvalidationTarget } from './freshness-tracker.js';
import type { ChainMemo, ClosureMemo, Entry, SubjectUnit } from './units.js';
import { SingleRequestView } from './unit-views.js';

const REFRESH_EVERY = 64;

function alive(entries: readonly Entry[]): boolean {
  for (const entry of entries) if (entry.dead === true) return false;
  return true;
}

export class LocalLayer implements InvalidationTarget {
  private readonly lru: LRUCache<string, Entry>;

  constructor(
    maxEntries: number,
    maxBytes: number,
    private readonly counters: CacheCounters,
  ) {
    this.lru = new LRUCache<string, Entry>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (e) => e.size,
      // Synchronous on evict, delete, replace and clear: memos over the entry see it at once.
      dispose: (e) => {
        e.dead = true;
      },
    });
  }

  get size(): number {
    return this.lru.size;
  }
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  /** The entry of a unit by name (a subject, a resource path or an organization id); marks it used. */
  get(name: string): Entry | undefined {
    return this.lru.get(name);
  }
  /** The entry without marking it used. */
  peek(name: string): Entry | undefined {
    return this.lru.peek(name);
  }
  /** Holds an admitted entry (current at `applied`). */
  set(name: string, entry: Entry): void {
    this.lru.set(name, entry);
  }
  clear(): void {
    this.lru.clear();
  }

  invalidate(key: string, revision: number): void {
    const name = nameOf(key);
    const entry = this.lru.peek(name);
    if (entry !== undefined && entry.rev < revision) this.lru.delete(name);
  }

  /**
   * The hot path: one request whose units are all in the layer, as a view at `revision` (the
   * tracker's `applied`). Undefined on any miss: the general path takes over.
   */
  hit(request: ViewRequest, revision: number): GrantView | undefined {
    const local = this.lru;
    const resource = request.resource;
    const leaf = local.get(resource.path);
    if (leaf === undefined || leaf.unit.t !== 'r') return undefined;
    let chain = leaf.chain;
    if (chain === undefined || ++chain.uses % REFRESH_EVERY === 0 || !alive(chain.entries)) {
      chain = resolveChain(local, resource.org, resource.chain);
      if (chain === undefined) return undefined;
      leaf.chain = chain;
    }
    const first = local.get(request.subject);
    if (first === undefined || first.unit.t !== 's') return undefined;
    let closure = first.closure;
    if (closure === undefined || closure.org !== resource.org || ++closure.uses % REFRESH_EVERY === 0 || !alive(closure.entries)) {
      closure = resolveClosure(local, request.subject, first.unit, resource.org);
      if (closure === undefined) return undefined;
      first.closure = closure;
    }
    this.counters.localHits += closure.names.length + chain.entries.length;
    return new SingleRequestView(revision, closure.names, closure.units, resource.org, chain.roles, chain.catalogue, resource.chain, chain.attrs);
  }
}

/** The organization's and the chain's units from the layer (undefined on any miss). */
function resolveChain(local: LRUCache<string, Entry>, org: string, chain: readonly string[]): ChainMemo | undefined {
  const orgEntry = local.get(org);
  if (orgEntry === undefined || orgEntry.unit.t !== 'o') return undefined;
  const entries = [orgEntry];
  const attrs: Array<ResourceAttributes | undefined> = [];
  for (const path of chain) {
    const entry = local.get(path);
    if (entry === undefined || entry.unit.t !== 'r') return undefined;
    entries.push(entry);
    attrs.push(entry.unit.attrs);
  }
  return { entries, roles: orgEntry.unit.roles, catalogue: orgEntry.unit.catalogue, attrs, uses: 0 };
}

/** A subject's group closure, breadth first (the order closure() gives), from the layer. */
function resolveClosure(local: LRUCache<string, Entry>, subject: string, unit: SubjectUnit, org: string): ClosureMemo | undefined {
  const names = [subject];
  const units = [unit];
  const entries: Entry[] = [];
  for (let i = 0; i < units.length; i++) {
    for (const group of units[i]!.groupsByOrg.get(org) ?? []) {
      if (names.includes(group)) continue;
      const entry = local.get(group);
      if (entry === undefined || entry.unit.t !== 's') return undefined;
      names.push(group);
      units.push(entry.unit);
      entries.push(entry);
    }
  }
  // The wildcard of the subject's type (`user:*`): its unit must be here (the memo dies with it);
  // it joins the names only when it holds bindings, so a graph without any costs nothing per Check.
  const wildcard = wildcardOf(subject);
  if (wildcard !== undefined && !names.includes(wildcard)) {
    const entry = local.get(wildcard);
    if (entry === undefined || entry.unit.t !== 's') return undefined;
    entries.push(entry);
    if (entry.unit.byScope.size > 0) {
      names.push(wildcard);
      units.push(entry.unit);
    }
  }
  return { org, entries, names, units, uses: 0 };
}
