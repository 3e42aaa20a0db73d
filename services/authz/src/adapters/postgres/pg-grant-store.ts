/**
 * GrantSource on Postgres: one statement (one round trip, one snapshot) reads
 * everything a batch of checks needs:
 *   - the groups reachable from the subjects (recursive CTE over group_members(member));
 *   - their bindings on every scope of the resources' chains (index bindings(subject, scope)),
 *     and below every scope that is not an organization (for `visible_from_below`);
 *   - the custom roles those bindings name (primary key roles(org, name));
 *   - the stored attributes of every scope (primary key resources(path));
 *   - the revision (the one-row warden_revision).
 *
 * The grant view statement is written once (`grantViewSql`): this store's VIEW_SQL and the
 * cache's unit fill (UNIT_FILL_SQL: every binding of each subject, every role of each
 * organization, plus the changelog since a revision) are two shapes of it, and their rows
 * have one format (BindingRow, RoleRow).
 */
import type pg from 'pg';
import { catalogueFor, COMPILED_SYSTEM_ROLES, compileRole, type CatalogueRow } from '../../domain/catalogue.js';
import type { GrantView } from '../../domain/engine.js';
import { UnavailableError } from '@warden/errors';
import { storeSpan } from '../../instruments.js';
import type { Attributes, Binding, CompiledRole, Effect, ResourceAttributes } from '../../domain/model.js';
import type { GrantSource, ViewRequest } from '../../ports.js';
import { bindingsBelowIn, closure, scopesBySubject, sortViewIndexes, wildcardOf } from '../../domain/grant-graph.js';
import { changesSinceColumn, REVISION_SQL, type ChangeRow } from './grant-changes.js';
import { currentRevision } from './pg-revision.js';

/** Which bindings and roles a grant view statement reads, and what else it returns. */
interface GrantViewShape {
  /** `scopes`: bindings on the scopes in $2 only; `all`: every binding of each reached subject. */
  readonly bindings: 'scopes' | 'all';
  /**
   * `named`: the custom roles the bindings read name, and the catalogues of the organizations
   * whose paths are in $2; `orgs`: every custom role and the catalogue of the organizations in $3.
   */
  readonly roles: 'named' | 'orgs';
  /** More output columns (`<expression> AS <name>`). */
  readonly columns?: readonly string[];
}

/**
 * The grant view statement. $1: subjects (each reaches its groups, transitively); $2: resource
 * paths (their stored attributes; with `bindings: 'scopes'` also the scopes bindings are read on).
 * Returns revision, edges ([member, group] of every reached subject), bindings, roles, attributes.
 */
function grantViewSql(shape: GrantViewShape): string {
  // With 'scopes', also the bindings strictly below each path that is not an organization
  // (the `visible_from_below` rule reads them): byte range [p + '/', p + '0').
  const scopes =
    shape.bindings === 'scopes'
      ? ` AND (b.scope = ANY($2::text[]) OR EXISTS (SELECT 1 FROM unnest($2::text[]) AS p WHERE p LIKE '%/%' AND b.scope COLLATE "C" >= p || '/' AND b.scope COLLATE "C" < p || '0'))`
      : '';
  const roles = shape.roles === 'named' ? '(r.org, r.name) IN (SELECT org, role FROM bs WHERE role IS NOT NULL)' : 'r.org = ANY($3::text[])';
  const catalogues = shape.roles === 'named' ? "c.org IN (SELECT substr(p, 5) FROM unnest($2::text[]) AS p WHERE p NOT LIKE '%/%')" : 'c.org = ANY($3::text[])';
  const more = (shape.columns ?? []).map((column) => `,\n  ${column}`).join('');
  return `
WITH RECURSIVE reach(subject) AS (
  SELECT unnest($1::text[])
  UNION
  SELECT gm.group_subject FROM group_members gm JOIN reach r ON gm.member = r.subject
),
bs AS (
  SELECT b.* FROM bindings b
  WHERE b.subject IN (SELECT subject FROM reach)${scopes}
)
SELECT
  (${REVISION_SQL}) AS revision,
  (SELECT coalesce(json_agg(json_build_array(gm.member, gm.group_subject, gm.org)), '[]'::json)
     FROM group_members gm WHERE gm.member IN (SELECT subject FROM reach)) AS edges,
  (SELECT coalesce(json_agg(json_build_object(
      'id', bs.id, 'subject', bs.subject, 'role', bs.role, 'actions', bs.actions, 'scope', bs.scope,
      'effect', bs.effect, 'expires_at', bs.expires_at, 'condition', bs.condition,
      'granted_by', bs.granted_by, 'reason', bs.reason)), '[]'::json) FROM bs) AS bindings,
  (SELECT coalesce(json_agg(json_build_object(
      'org', r.org, 'name', r.name, 'description', r.description, 'actions', r.actions,
      'membership', r.membership, 'ceiling', r.ceiling)), '[]'::json)
     FROM roles r WHERE ${roles}) AS roles,
  (SELECT coalesce(json_object_agg(res.path, res.attributes), '{}'::json)
     FROM resources res WHERE res.path = ANY($2::text[])) AS attributes,
  (SELECT coalesce(json_object_agg(c.org, json_build_object('a', c.actions, 's', c.subject_types, 't', c.resource_types)), '{}'::json)
     FROM org_catalogues c WHERE ${catalogues}) AS catalogues,
  (SELECT coalesce(json_agg(json_build_array(d.org, d.subject, d.attributes)), '[]'::json)
     FROM directory d WHERE d.subject IN (SELECT subject FROM reach)) AS directory${more}
`;
}

/** The store's view: $1 subjects, $2 the scopes of the resources' chains. */
export const VIEW_SQL = grantViewSql({ bindings: 'scopes', roles: 'named' });

/**
 * The cache's unit fill: $1 subjects (their units: direct groups and every binding, for each
 * reached subject), $2 resource paths (their attributes), $3 organizations (all their custom
 * roles), $4 a revision (the changelog after it). Also returns every reached subject.
 */
export const UNIT_FILL_SQL = grantViewSql({
  bindings: 'all',
  roles: 'orgs',
  columns: [`(SELECT coalesce(json_agg(subject), '[]'::json) FROM reach) AS subjects`, `${changesSinceColumn('$4')} AS changes`],
});

/** A row of UNIT_FILL_SQL. */
export interface UnitFillRow {
  revision: string;
  subjects: string[];
  edges: Edge[];
  bindings: BindingRow[];
  roles: RoleRow[];
  attributes: Record<string, ResourceAttributes>;
  catalogues: Record<string, CatalogueRow>;
  directory: DirectoryRow[];
  changes: ChangeRow[];
}

/** A group edge as the grant view statements return it: member, group, the group's organization. */
export type Edge = readonly [member: string, group: string, org: string];

/** A binding as the grant-view statements return it (json_build_object). */
export interface BindingRow {
  id: string;
  subject: string;
  role: string | null;
  actions: string[] | null;
  scope: string;
  effect: Effect;
  expires_at: string | null;
  condition: string | null;
  granted_by: string | null;
  reason: string | null;
}

export interface RoleRow {
  org: string;
  name: string;
  description: string | null;
  actions: string[];
  membership: boolean;
  ceiling: string[] | null;
}

interface ViewRow {
  revision: string;
  edges: Edge[];
  bindings: BindingRow[];
  roles: RoleRow[];
  attributes: Record<string, ResourceAttributes>;
  catalogues: Record<string, CatalogueRow>;
  directory: DirectoryRow[];
}

/** A directory entry as the grant view statements return it: organization, subject, attributes. */
export type DirectoryRow = readonly [org: string, subject: string, attributes: Attributes];

export function roleFromRow(r: RoleRow): CompiledRole {
  return compileRole({
    org: r.org,
    name: r.name,
    description: r.description ?? undefined,
    actions: r.actions,
    membership: r.membership,
    ceiling: r.ceiling ?? undefined,
  });
}

export function bindingFromRow(row: BindingRow): Binding {
  return {
    id: row.id,
    subject: row.subject,
    role: row.role ?? undefined,
    actions: row.actions ?? undefined,
    scope: row.scope,
    effect: row.effect,
    expiresAt: row.expires_at === null ? undefined : new Date(row.expires_at),
    condition: row.condition ?? undefined,
    grantedBy: row.granted_by ?? undefined,
    reason: row.reason ?? undefined,
  };
}

export class PgGrantStore implements GrantSource {
  constructor(private readonly pool: pg.Pool) {}

  async view(requests: readonly ViewRequest[], signal?: AbortSignal): Promise<GrantView> {
    signal?.throwIfAborted();
    const subjects = [...new Set(requests.flatMap((r) => [r.subject, wildcardOf(r.subject) ?? r.subject]))];
    const scopes = [...new Set(requests.flatMap((r) => r.resource.chain))];
    let row: ViewRow;
    try {
      const result = await storeSpan(
        'postgres grant view',
        { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT', 'warden.subjects': subjects.length, 'warden.scopes': scopes.length },
        () => this.pool.query<ViewRow>(VIEW_SQL, [subjects, scopes]),
      );
      row = result.rows[0]!;
    } catch (error) {
      throw new UnavailableError('the grant store (Postgres) could not be read', { cause: error });
    }
    return toView(row);
  }

  revision(): Promise<number> {
    return currentRevision(this.pool);
  }
}

/** A member's direct groups, each with the organization it belongs to (parallel lists). */
export interface MemberGroups {
  readonly groups: string[];
  readonly orgs: string[];
}

/** The `edges` column of a grant view statement as each member's direct groups. */
export function groupsByMember(edges: readonly Edge[]): Map<string, MemberGroups> {
  const out = new Map<string, MemberGroups>();
  for (const [member, group, org] of edges) {
    const found = out.get(member);
    if (found === undefined) out.set(member, { groups: [group], orgs: [org] });
    else {
      found.groups.push(group);
      found.orgs.push(org);
    }
  }
  return out;
}

/** The groups of `org` among a member's direct groups. */
export function groupsIn(member: MemberGroups | undefined, org: string): readonly string[] {
  if (member === undefined) return [];
  const out: string[] = [];
  for (let i = 0; i < member.groups.length; i++) if (member.orgs[i] === org) out.push(member.groups[i]!);
  return out.sort();
}

function toView(row: ViewRow): GrantView {
  const groups = groupsByMember(row.edges);
  const bindings = new Map<string, Binding[]>();
  for (const bindingRow of row.bindings) {
    const key = `${bindingRow.subject}\u0000${bindingRow.scope}`;
    const list = bindings.get(key) ?? [];
    list.push(bindingFromRow(bindingRow));
    bindings.set(key, list);
  }
  sortViewIndexes(bindings, new Map());
  const bySubject = scopesBySubject(bindings);
  const roles = new Map<string, CompiledRole>();
  for (const r of row.roles) {
    roles.set(`${r.org}\u0000${r.name}`, roleFromRow(r));
  }
  const subjectsCache = new Map<string, string[]>();
  return {
    revision: Number(row.revision),
    subjectsOf(subject, org) {
      const key = `${org}\u0000${subject}`;
      let found = subjectsCache.get(key);
      if (found === undefined) {
        found = closure(subject, (s) => groupsIn(groups.get(s), org));
        subjectsCache.set(key, found);
      }
      return found;
    },
    bindingsAt: (subject, scope) => bindings.get(`${subject}\u0000${scope}`) ?? [],
    bindingsBelow: (subject, path) => bindingsBelowIn(bySubject.get(subject), path),
    role: (org, name) => roles.get(`${org}\u0000${name}`) ?? COMPILED_SYSTEM_ROLES.get(name),
    attributes: (path) => row.attributes[path],
    catalogue: (org) => catalogueFor(row.catalogues[org]),
    directory: (org, subject) => row.directory.find(([o, s]) => o === org && s === subject)?.[2],
  };
}
