/**
 * The JSON form of a unit (what Redis stores after `rev|`), both ways.
 *
 *   subject   {"g":[<direct groups>],"o":[<each group's organization>],"b":[<BindingRow>…],"d":{<org>:<directory attributes>}}
 *   resource  {"a":<attributes>|null}
 *   org       {"r":[<RoleRow>…],"c":[<declared actions>],"s":[<subject types>],"t":[[<resource type>,<parent>]…]}
 *
 * Rows are the Postgres grant view's own (BindingRow, RoleRow). Invariant the Redis script
 * relies on (redis-unit-cache.ts): a subject unit's text starts with `{"g":[` and its groups,
 * and subject names hold no quote or backslash (domain/names.ts), so the script reads the
 * groups without decoding the bindings.
 */
import { catalogueFor, type CatalogueRow } from '../../domain/catalogue.js';
import type { Attributes, Binding, CompiledRole, ResourceAttributes } from '../../domain/model.js';
import { sortViewIndexes } from '../../domain/grant-graph.js';
import { roleFromRow, type BindingRow, type MemberGroups, type RoleRow } from '../postgres/pg-grant-store.js';
import type { Entry, Unit } from './units.js';

type UnitJson = { g: string[]; o?: string[]; b: BindingRow[]; d?: Record<string, Attributes> } | { a: ResourceAttributes | null } | { r: RoleRow[]; c?: string[]; s?: string[]; t?: Array<[string, string]> };

export const subjectUnitText = (groups: MemberGroups | undefined, bindings: readonly BindingRow[], directory?: Readonly<Record<string, Attributes>>): string =>
  JSON.stringify({ g: groups?.groups ?? [], o: groups?.orgs ?? [], b: bindings, d: directory ?? {} });
export const attrUnitText = (attrs: ResourceAttributes | undefined): string => JSON.stringify({ a: attrs ?? null });
export const orgUnitText = (roles: readonly RoleRow[], catalogue: CatalogueRow | undefined): string =>
  JSON.stringify({ r: roles, c: catalogue?.a ?? [], s: catalogue?.s ?? [], t: catalogue?.t ?? [] });

/**
 * Scopes, roles, grantors and reasons repeat across thousands of bindings; JSON.parse
 * gives each its own copy. Interning them keeps a replica's memory near the size of
 * the distinct data. Bounded: when full it starts over (correctness never depends on it).
 */
const interned = new Map<string, string>();
function intern(value: string): string {
  const found = interned.get(value);
  if (found !== undefined) return found;
  if (interned.size >= 200_000) interned.clear();
  interned.set(value, value);
  return value;
}
const internOrUndefined = (value: string | null): string | undefined => (value === null ? undefined : intern(value));

function bindingFromJson(row: BindingRow, subject: string): Binding {
  return {
    id: row.id,
    subject: row.subject === subject ? subject : intern(row.subject),
    role: internOrUndefined(row.role),
    actions: row.actions ?? undefined,
    scope: intern(row.scope),
    effect: row.effect === 'deny' ? 'deny' : 'allow',
    expiresAt: row.expires_at === null ? undefined : new Date(row.expires_at),
    condition: internOrUndefined(row.condition),
    grantedBy: internOrUndefined(row.granted_by),
    reason: internOrUndefined(row.reason),
  };
}

function unitFromJson(key: string, json: UnitJson): Unit {
  if ('g' in json) {
    const byScope = new Map<string, Binding[]>();
    const subject = key.slice(2);
    for (const row of json.b) {
      const binding = bindingFromJson(row, subject);
      const list = byScope.get(binding.scope);
      if (list === undefined) byScope.set(binding.scope, [binding]);
      else list.push(binding);
    }
    const groups = json.g.map(intern);
    const orgs = json.o ?? [];
    const groupsByOrg = new Map<string, string[]>();
    for (let i = 0; i < groups.length; i++) {
      // A unit written before groups were tracked per organization has no `o`: it is refilled.
      const org = orgs[i];
      if (org === undefined) continue;
      const list = groupsByOrg.get(org);
      if (list === undefined) groupsByOrg.set(intern(org), [groups[i]!]);
      else list.push(groups[i]!);
    }
    sortViewIndexes(byScope, groupsByOrg);
    const entries = Object.entries(json.d ?? {});
    return { t: 's', groups, groupsByOrg, byScope, directory: entries.length === 0 ? undefined : new Map(entries) };
  }
  if ('a' in json) return { t: 'r', attrs: json.a ?? undefined };
  const roles = new Map<string, CompiledRole>();
  for (const r of json.r) {
    roles.set(r.name, roleFromRow(r));
  }
  return { t: 'o', roles, catalogue: catalogueFor({ a: json.c, s: json.s, t: json.t }) };
}

/** The entry of unit `key` read at revision `rev` from its text. */
export function entryOf(key: string, rev: number, text: string): Entry {
  return { rev, unit: unitFromJson(key, JSON.parse(text) as UnitJson), size: 2 * (key.length + text.length) + 256 };
}
