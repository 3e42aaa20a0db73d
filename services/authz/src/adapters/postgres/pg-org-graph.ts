/**
 * Loads the part of one organization's grant graph a management change can touch (an
 * OrgGraph, domain/org-graph.ts) in one statement, so it is one snapshot — inside a write's
 * transaction it is the state under the writers' lock.
 *
 * Which subjects: the ones named, the ones bound to the named roles, the ones bound on the
 * named paths' scope chains or below them, and (for the owner invariant) the ones bound
 * `owner` on the organization; then every member of those, transitively, then every group
 * of all of them, transitively. For each: its bindings in the organization. Plus the
 * organization's group edges among them, its roles, its declared actions and the attributes
 * of its resources that carry any.
 */
import type pg from 'pg';
import type { GraphSpec } from '../../domain/graph-spec.js';
import type { Binding, Effect, ResourceAttributes, Role } from '../../domain/model.js';
import { OrgGraph } from '../../domain/org-graph.js';

const GRAPH_SQL = `
WITH RECURSIVE
seed(subject) AS (
  SELECT unnest($2::text[])
  UNION SELECT b.subject FROM bindings b WHERE b.org = $1 AND b.role = ANY($3::text[])
  UNION SELECT b.subject FROM bindings b WHERE b.org = $1 AND b.scope = ANY($4::text[])
  UNION SELECT b.subject FROM bindings b JOIN unnest($5::text[]) AS p(path)
    ON b.org = $1 AND b.scope COLLATE "C" >= p.path || '/' AND b.scope COLLATE "C" < p.path || '0'
  UNION SELECT b.subject FROM bindings b WHERE $6 AND b.org = $1 AND b.scope = 'org:' || $1 AND b.role = 'owner'
  -- Bindings naming every subject of a type (user:*) apply to everyone: always part of the graph.
  UNION SELECT b.subject FROM bindings b WHERE b.org = $1 AND b.subject LIKE '%:*'
),
down(subject) AS (
  SELECT subject FROM seed
  UNION SELECT gm.member FROM group_members gm JOIN down d ON gm.org = $1 AND gm.group_subject = d.subject
),
up(subject) AS (
  SELECT subject FROM down
  UNION SELECT gm.group_subject FROM group_members gm JOIN up u ON gm.org = $1 AND gm.member = u.subject
)
SELECT
  (SELECT revision FROM warden_revision) AS revision,
  (SELECT coalesce(json_agg(json_build_object(
      'id', b.id, 'subject', b.subject, 'role', b.role, 'actions', b.actions, 'scope', b.scope, 'effect', b.effect,
      'expires_at', b.expires_at, 'condition', b.condition, 'granted_by', b.granted_by, 'reason', b.reason)), '[]'::json)
     FROM bindings b WHERE b.org = $1 AND b.subject IN (SELECT subject FROM up)) AS bindings,
  (SELECT coalesce(json_agg(json_build_array(gm.group_subject, gm.member)), '[]'::json)
     FROM group_members gm WHERE gm.org = $1 AND gm.member IN (SELECT subject FROM up)) AS edges,
  (SELECT coalesce(json_agg(json_build_object('name', r.name, 'description', r.description, 'actions', r.actions,
      'membership', r.membership, 'ceiling', r.ceiling)), '[]'::json) FROM roles r WHERE r.org = $1) AS roles,
  (SELECT coalesce(c.actions, '{}') FROM org_catalogues c WHERE c.org = $1) AS declared,
  (SELECT json_build_object('s', c.subject_types, 't', c.resource_types) FROM org_catalogues c WHERE c.org = $1) AS schema,
  (SELECT coalesce(json_object_agg(d.subject, d.attributes), '{}'::json)
     FROM directory d WHERE d.org = $1 AND d.subject IN (SELECT subject FROM up)) AS directory,
  (SELECT coalesce(json_object_agg(res.path, res.attributes), '{}'::json)
     FROM resources res WHERE res.org = $1 AND res.attributes <> '{}'::jsonb) AS attributes
`;

interface GraphRow {
  revision: string;
  bindings: Array<{
    id: string; subject: string; role: string | null; actions: string[] | null; scope: string; effect: Effect;
    expires_at: string | null; condition: string | null; granted_by: string | null; reason: string | null;
  }>;
  edges: Array<[string, string]>;
  roles: Array<{ name: string; description: string | null; actions: string[]; membership: boolean; ceiling: string[] | null }>;
  declared: string[] | null;
  schema: { s: string[]; t: Array<[string, string]> } | null;
  directory: Record<string, Record<string, unknown>>;
  attributes: Record<string, ResourceAttributes>;
}

/** Every prefix of each path: the scope chains a binding must sit on to reach it. */
function chains(paths: readonly string[]): string[] {
  const out = new Set<string>();
  for (const path of paths) {
    for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) out.add(path.slice(0, at));
    out.add(path);
  }
  return [...out];
}

export async function loadOrgGraph(db: pg.Pool | pg.PoolClient, spec: GraphSpec): Promise<OrgGraph> {
  const { rows } = await db.query<GraphRow>(GRAPH_SQL, [spec.org, [...spec.subjects], [...spec.roles], chains(spec.near), [...spec.near], spec.owners]);
  const row = rows[0]!;
  const bindings: Binding[] = row.bindings.map((b) => ({
    id: b.id,
    subject: b.subject,
    role: b.role ?? undefined,
    actions: b.actions ?? undefined,
    scope: b.scope,
    effect: b.effect,
    expiresAt: b.expires_at === null ? undefined : new Date(b.expires_at),
    condition: b.condition ?? undefined,
    grantedBy: b.granted_by ?? undefined,
    reason: b.reason ?? undefined,
  }));
  const roles: Array<Role & { org: string }> = row.roles.map((r) => ({
    org: spec.org, name: r.name, description: r.description ?? undefined, actions: r.actions, membership: r.membership, ceiling: r.ceiling ?? undefined,
  }));
  return new OrgGraph({
    org: spec.org,
    revision: Number(row.revision),
    bindings,
    memberships: row.edges.map(([group, member]) => ({ group, member })),
    roles,
    declaredActions: row.declared ?? [],
    schema: row.schema === null ? undefined : { subjectTypes: row.schema.s, resourceTypes: row.schema.t.map(([name, parent]) => ({ name, parent })) },
    attributes: new Map(Object.entries(row.attributes)),
    directory: new Map(Object.entries(row.directory)),
  });
}
