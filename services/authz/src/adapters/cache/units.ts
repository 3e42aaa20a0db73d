/**
 * What the cache holds: units (cache-keys.ts names them) and the entries that carry them.
 *
 * Invariant: an entry is the unit as Postgres held it at revision `rev` (one snapshot).
 * In the in-process layer an entry not `dead` is also current at the tracker's `applied`
 * (freshness-tracker.ts), so memos over live entries are too (local-layer.ts).
 */
import type { Catalogue } from '../../domain/catalogue.js';
import type { Attributes, Binding, CompiledRole, ResourceAttributes } from '../../domain/model.js';

export interface SubjectUnit {
  readonly t: 's';
  /** The subject's direct groups, of every organization (the Redis script follows them all). */
  readonly groups: readonly string[];
  /** Its direct groups per organization: a group belongs to one organization and counts only there. */
  readonly groupsByOrg: ReadonlyMap<string, readonly string[]>;
  readonly byScope: ReadonlyMap<string, readonly Binding[]>;
  /** Its stored attributes in each organization's directory. */
  readonly directory?: ReadonlyMap<string, Attributes> | undefined;
}
export interface AttrUnit {
  readonly t: 'r';
  readonly attrs: ResourceAttributes | undefined;
}
export interface OrgUnit {
  readonly t: 'o';
  readonly roles: ReadonlyMap<string, CompiledRole>;
  /** The organization's action catalogue (built in and declared). */
  readonly catalogue: Catalogue;
}
export type Unit = SubjectUnit | AttrUnit | OrgUnit;

export interface Entry {
  readonly rev: number;
  readonly unit: Unit;
  /** Approximate bytes (the in-process layer's size bound). */
  readonly size: number;
  /**
   * Set when the in-process layer drops the entry (evicted, invalidated, replaced, cleared).
   * An entry not dead is in the layer, so current at `applied`; a memo over live entries is too.
   */
  dead?: true;
  /** On a resource path's unit: the path's organization and scope chain, resolved (local-layer.ts). */
  chain?: ChainMemo;
  /** On a subject's unit: its group closure, resolved (local-layer.ts). */
  closure?: ClosureMemo;
}

/**
 * What the in-process hot path resolved for a resource path or a subject, kept on the entry it
 * starts from so a repeated Check reads two entries instead of one per scope and group. Valid
 * while every entry in `entries` is alive.
 */
export interface ChainMemo {
  /** The organization's unit, then the attribute unit of each path on the chain. */
  readonly entries: readonly Entry[];
  readonly roles: ReadonlyMap<string, CompiledRole>;
  readonly catalogue: Catalogue;
  readonly attrs: ReadonlyArray<ResourceAttributes | undefined>;
  uses: number;
}
export interface ClosureMemo {
  /** The organization whose groups the closure followed. */
  readonly org: string;
  /** The entries of the subject's groups, transitively (the subject's own is the memo's holder). */
  readonly entries: readonly Entry[];
  /** The subject, then its groups in closure() order; `units` alike. */
  readonly names: readonly string[];
  readonly units: readonly SubjectUnit[];
  uses: number;
}
