/**
 * GrantWriter on Postgres: a change set applied in one write transaction (pg-writer.ts:
 * revision lock, changelog, outbox, NOTIFY). Changes of a kind are applied together with
 * one statement per 5,000 (a world of 100,000 bindings is a few dozen statements), in a
 * fixed order: catalogues, resources, roles, memberships added, bindings put, bindings deleted,
 * memberships removed, roles deleted, change requests (pg-request-store.ts). Upserts that change nothing record nothing.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Change } from '../../domain/changes.js';
import { grantKey, type World } from '../../domain/world.js';
import { changesOfWorld } from '../../domain/changes.js';
import type { GraphReader, GrantWriter, StoredBinding, WriteMeta, WriteResult } from '../../ports.js';
import { bindingFromRow, type BindingRow } from './pg-grant-store.js';
import { withWrite, type WriteContext } from './pg-writer.js';
import { loadOrgGraph } from './pg-org-graph.js';
import type { GraphSpec } from '../../domain/graph-spec.js';
import type { OrgGraph } from '../../domain/org-graph.js';
import type { ChangeRequest } from '../../domain/approvals.js';
import { openReviewsOf, putRequests, requestById } from './pg-request-store.js';

export type { WriteMeta, WriteResult } from '../../ports.js';

const CHUNK = 5000;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** Last occurrence wins, order of first occurrence kept. */
function dedupe<T>(items: readonly T[], key: (item: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(key(item), item);
  return [...byKey.values()];
}

type Of<K extends Change['kind']> = Extract<Change, { kind: K }>;

function ofKind<K extends Change['kind']>(changes: readonly Change[], kind: K): Of<K>[] {
  return changes.filter((c): c is Of<K> => c.kind === kind);
}

/** A binding row as `to_jsonb(bindings)` or `SELECT *` returns it. */
type StoredRow = BindingRow & { org: string; created_at: Date | string };

function storedFromRow(row: StoredRow): StoredBinding {
  return { binding: bindingFromRow(row), org: row.org, createdAt: new Date(row.created_at) };
}

class PgGraphReader implements GraphReader {
  constructor(private readonly client: pg.PoolClient) {}

  async binding(id: string): Promise<StoredBinding | undefined> {
    const { rows } = await this.client.query<StoredRow>('SELECT * FROM bindings WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : storedFromRow(rows[0]);
  }

  async bindingsUsingRole(org: string, role: string): Promise<number> {
    const { rows } = await this.client.query<{ n: number }>('SELECT count(*)::int AS n FROM bindings WHERE org = $1 AND role = $2', [org, role]);
    return rows[0]!.n;
  }

  async ownerBindings(org: string, options: { readonly exceptId?: string | undefined; readonly validAt: Date }): Promise<number> {
    const { rows } = await this.client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM bindings
       WHERE org = $1 AND scope = $2 AND role = 'owner' AND effect = 'allow' AND ($3::uuid IS NULL OR id <> $3)
         AND condition IS NULL AND (expires_at IS NULL OR expires_at > $4)`,
      [org, `org:${org}`, options.exceptId ?? null, options.validAt],
    );
    return rows[0]!.n;
  }

  orgGraph(spec: GraphSpec): Promise<OrgGraph> {
    return loadOrgGraph(this.client, spec);
  }

  request(id: string): Promise<ChangeRequest | undefined> {
    return requestById(this.client, id);
  }

  openReviews(org: string, subject: string): Promise<readonly ChangeRequest[]> {
    return openReviewsOf(this.client, org, subject);
  }

  async roleExists(org: string, name: string): Promise<boolean> {
    const { rowCount } = await this.client.query('SELECT 1 FROM roles WHERE org = $1 AND name = $2', [org, name]);
    return rowCount !== 0;
  }
}

export class PgGrantWriter implements GrantWriter {
  constructor(private readonly pool: pg.Pool) {}

  apply(changes: readonly Change[], meta: WriteMeta, guard?: (state: GraphReader) => Promise<void>): Promise<WriteResult> {
    return withWrite(this.pool, meta, async (ctx) => {
      if (guard !== undefined) await guard(new PgGraphReader(ctx.client));
      await putCatalogues(ctx, ofKind(changes, 'catalogue.put'));
      await putDirectory(ctx, ofKind(changes, 'directory.put'));
      await putResources(ctx, ofKind(changes, 'resource.put'));
      await putRoles(ctx, ofKind(changes, 'role.put'));
      await addMembers(ctx, ofKind(changes, 'member.add'));
      await putBindings(ctx, ofKind(changes, 'binding.put'), meta.actor);
      await deleteBindings(ctx, ofKind(changes, 'binding.delete'));
      await removeMembers(ctx, ofKind(changes, 'member.remove'));
      await deleteRoles(ctx, ofKind(changes, 'role.delete'));
      await putRequests(ctx, ofKind(changes, 'request.put'));
    });
  }
}

/**
 * Applies a world: creates or updates every resource, role, group membership and binding it
 * names. Nothing is removed (a world is additive); applying the same world twice changes
 * nothing and keeps the revision.
 */
export function applyWorld(pool: pg.Pool, world: World, meta: WriteMeta): Promise<WriteResult> {
  return new PgGrantWriter(pool).apply(changesOfWorld(world), meta);
}

/** Removes one binding by id. */
export function deleteBinding(pool: pg.Pool, id: string, meta: WriteMeta): Promise<WriteResult> {
  return new PgGrantWriter(pool).apply([{ kind: 'binding.delete', id }], meta);
}

async function putCatalogues({ client, revision, record }: WriteContext, changes: readonly Of<'catalogue.put'>[]): Promise<void> {
  for (const change of dedupe(changes, (c) => c.org)) {
    const actions = [...new Set(change.actions)].sort();
    const subjectTypes = [...new Set(change.schema.subjectTypes)].sort();
    const resourceTypes = JSON.stringify(change.schema.resourceTypes.map((t) => [t.name, t.parent]));
    const { rows } = await client.query<{ before: { actions: string[]; subject_types: string[]; resource_types: Array<[string, string]> } | null }>(
      `WITH old AS (SELECT actions, subject_types, resource_types FROM org_catalogues WHERE org = $1),
       up AS (
         INSERT INTO org_catalogues (org, actions, subject_types, resource_types, revision) VALUES ($1, $2, $4, $5::jsonb, $3)
         ON CONFLICT (org) DO UPDATE SET actions = EXCLUDED.actions, subject_types = EXCLUDED.subject_types,
           resource_types = EXCLUDED.resource_types, revision = EXCLUDED.revision
           WHERE (org_catalogues.actions, org_catalogues.subject_types, org_catalogues.resource_types)
             IS DISTINCT FROM (EXCLUDED.actions, EXCLUDED.subject_types, EXCLUDED.resource_types)
         RETURNING 1)
       SELECT (SELECT row_to_json(old) FROM old) AS before FROM up`,
      [change.org, actions, revision, subjectTypes, resourceTypes],
    );
    if (rows.length > 0) {
      record({
        kind: 'catalogue.updated',
        key: change.org,
        resource: `org:${change.org}`,
        before: rows[0]!.before,
        after: { actions, subject_types: subjectTypes, resource_types: JSON.parse(resourceTypes) as unknown },
      });
    }
  }
}

async function putDirectory({ client, revision, record }: WriteContext, changes: readonly Of<'directory.put'>[]): Promise<void> {
  for (const change of dedupe(changes, (c) => `${c.org}\u0000${c.subject}`)) {
    const empty = Object.keys(change.attributes).length === 0;
    const { rows } = empty
      ? await client.query<{ before: unknown }>('DELETE FROM directory WHERE org = $1 AND subject = $2 RETURNING attributes AS before', [change.org, change.subject])
      : await client.query<{ before: unknown }>(
          `WITH old AS (SELECT attributes FROM directory WHERE org = $1 AND subject = $2),
           up AS (
             INSERT INTO directory (org, subject, attributes, revision) VALUES ($1, $2, $3::jsonb, $4)
             ON CONFLICT (org, subject) DO UPDATE SET attributes = EXCLUDED.attributes, revision = EXCLUDED.revision
               WHERE directory.attributes IS DISTINCT FROM EXCLUDED.attributes
             RETURNING 1)
           SELECT (SELECT attributes FROM old) AS before FROM up`,
          [change.org, change.subject, JSON.stringify(change.attributes), revision],
        );
    if (rows.length > 0) {
      record({ kind: 'directory.updated', key: `${change.org}/${change.subject}`, resource: `org:${change.org}`, before: rows[0]!.before ?? null, after: empty ? null : change.attributes });
    }
  }
}

async function putResources({ client, revision, record }: WriteContext, changes: readonly Of<'resource.put'>[]): Promise<void> {
  for (const part of chunks(dedupe(changes, (r) => r.path))) {
    const { rows } = await client.query<{ path: string; before: unknown; after: unknown }>(
      `WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS t(path, org, attributes)),
       old AS (SELECT r.path, r.attributes FROM resources r JOIN input i USING (path)),
       up AS (
         INSERT INTO resources (path, org, attributes, revision) SELECT path, org, attributes, $4 FROM input
         ON CONFLICT (path) DO UPDATE SET attributes = EXCLUDED.attributes, revision = EXCLUDED.revision
           WHERE resources.attributes IS DISTINCT FROM EXCLUDED.attributes
         RETURNING path, attributes)
       SELECT up.path, old.attributes AS before, up.attributes AS after FROM up LEFT JOIN old USING (path)`,
      [part.map((r) => r.path), part.map((r) => r.org), part.map((r) => JSON.stringify(r.attributes)), revision],
    );
    for (const row of rows) {
      record({ kind: row.before === null ? 'resource.created' : 'resource.updated', key: row.path, resource: row.path, before: row.before, after: row.after });
    }
  }
}

async function putRoles({ client, revision, record }: WriteContext, changes: readonly Of<'role.put'>[]): Promise<void> {
  for (const part of chunks(dedupe(changes.map((c) => c.role), (r) => `${r.org}/${r.name}`))) {
    const { rows } = await client.query<{ org: string; name: string; before: unknown; after: unknown }>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::text[])
           AS t(org, name, description, actions, membership, ceiling)),
       old AS (SELECT r.org, r.name, to_jsonb(r) - 'revision' AS row FROM roles r JOIN input i USING (org, name)),
       up AS (
         INSERT INTO roles (org, name, description, actions, membership, ceiling, revision)
         SELECT org, name, description, string_to_array(actions, ','), membership, string_to_array(ceiling, ','), $7 FROM input
         ON CONFLICT (org, name) DO UPDATE SET description = EXCLUDED.description, actions = EXCLUDED.actions,
           membership = EXCLUDED.membership, ceiling = EXCLUDED.ceiling, revision = EXCLUDED.revision
           WHERE (roles.description, roles.actions, roles.membership, roles.ceiling)
             IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.actions, EXCLUDED.membership, EXCLUDED.ceiling)
         RETURNING *)
       SELECT up.org, up.name, old.row AS before, to_jsonb(up) - 'revision' AS after FROM up LEFT JOIN old USING (org, name)`,
      [
        part.map((r) => r.org), part.map((r) => r.name), part.map((r) => r.description ?? null),
        part.map((r) => r.actions.join(',')), part.map((r) => r.membership), part.map((r) => r.ceiling?.join(',') ?? null),
        revision,
      ],
    );
    for (const row of rows) {
      record({ kind: row.before === null ? 'role.created' : 'role.updated', key: `${row.org}/${row.name}`, resource: `org:${row.org}`, before: row.before, after: row.after });
    }
  }
}

async function addMembers({ client, revision, record }: WriteContext, changes: readonly Of<'member.add'>[]): Promise<void> {
  for (const part of chunks(dedupe(changes, (m) => `${m.org}\u0000${m.member}\u0000${m.group}`))) {
    const { rows } = await client.query<{ org: string; group_subject: string; member: string }>(
      `INSERT INTO group_members (org, group_subject, member, revision)
       SELECT org, group_subject, member, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(org, group_subject, member)
       ON CONFLICT (org, member, group_subject) DO NOTHING
       RETURNING org, group_subject, member`,
      [part.map((m) => m.org), part.map((m) => m.group), part.map((m) => m.member), revision],
    );
    for (const row of rows) {
      record({ kind: 'group_member.added', key: `${row.group_subject}<-${row.member}`, resource: `org:${row.org}`, before: null, after: { group: row.group_subject, member: row.member } });
    }
  }
}

async function putBindings({ client, revision, record }: WriteContext, changes: readonly Of<'binding.put'>[], actor: string): Promise<void> {
  const bindings = changes.map((c) => c.binding);
  const bindingKey = (b: (typeof bindings)[number]) => [b.subject, b.scope, b.effect, grantKey(b)].join('\u0000');
  for (const part of chunks(dedupe(bindings, bindingKey))) {
    const { rows } = await client.query<{ id: string; scope: string; before: unknown; after: unknown }>(
      `WITH input AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::timestamptz[], $9::text[], $10::text[], $13::text[])
           AS t(id, org, subject, role, actions, scope, effect, expires_at, condition, reason, grant_key)),
       old AS (
         SELECT b.id, to_jsonb(b) - 'revision' - 'created_at' - 'grant_key' AS row, i.subject, i.scope, i.effect, i.role, i.actions
         FROM bindings b JOIN input i
           ON b.subject = i.subject AND b.scope = i.scope AND b.effect = i.effect AND b.grant_key = i.grant_key),
       up AS (
         INSERT INTO bindings (id, org, subject, role, actions, grant_key, scope, effect, expires_at, condition, granted_by, reason, revision)
         SELECT id, org, subject, role, string_to_array(actions, ','), grant_key, scope, effect, expires_at, condition, $11, reason, $12 FROM input
         ON CONFLICT (subject, scope, effect, grant_key)
         DO UPDATE SET expires_at = EXCLUDED.expires_at, condition = EXCLUDED.condition, reason = EXCLUDED.reason,
                       granted_by = EXCLUDED.granted_by, revision = EXCLUDED.revision
           WHERE (bindings.expires_at, bindings.condition, bindings.reason)
             IS DISTINCT FROM (EXCLUDED.expires_at, EXCLUDED.condition, EXCLUDED.reason)
         RETURNING *)
       SELECT up.id, up.scope, old.row AS before, to_jsonb(up) - 'revision' - 'created_at' - 'grant_key' AS after
       FROM up LEFT JOIN old ON old.id = up.id`,
      [
        part.map(() => randomUUID()), part.map((b) => b.org), part.map((b) => b.subject), part.map((b) => b.role ?? null),
        part.map((b) => b.actions?.join(',') ?? null), part.map((b) => b.scope), part.map((b) => b.effect),
        part.map((b) => b.expiresAt ?? null), part.map((b) => b.condition ?? null), part.map((b) => b.reason ?? null),
        actor, revision, part.map(grantKey),
      ],
    );
    for (const row of rows) {
      record({ kind: row.before === null ? 'binding.created' : 'binding.updated', key: row.id, resource: row.scope, before: row.before, after: row.after });
    }
  }
}

async function deleteBindings({ client, record }: WriteContext, changes: readonly Of<'binding.delete'>[]): Promise<void> {
  if (changes.length === 0) return;
  const { rows } = await client.query<{ id: string; scope: string; row: unknown }>(
    `DELETE FROM bindings WHERE id = ANY($1::uuid[]) RETURNING id, scope, to_jsonb(bindings) - 'revision' - 'created_at' - 'grant_key' AS row`,
    [changes.map((c) => c.id)],
  );
  for (const row of rows) record({ kind: 'binding.deleted', key: row.id, resource: row.scope, before: row.row, after: null });
}

async function removeMembers({ client, record }: WriteContext, changes: readonly Of<'member.remove'>[]): Promise<void> {
  for (const change of changes) {
    const { rows } = await client.query('DELETE FROM group_members WHERE org = $1 AND group_subject = $2 AND member = $3 RETURNING 1', [change.org, change.group, change.member]);
    if (rows.length > 0) {
      record({ kind: 'group_member.removed', key: `${change.group}<-${change.member}`, resource: `org:${change.org}`, before: { group: change.group, member: change.member }, after: null });
    }
  }
}

async function deleteRoles({ client, record }: WriteContext, changes: readonly Of<'role.delete'>[]): Promise<void> {
  for (const change of changes) {
    const { rows } = await client.query(`DELETE FROM roles WHERE org = $1 AND name = $2 RETURNING to_jsonb(roles) - 'revision' AS row`, [change.org, change.name]);
    if (rows.length > 0) record({ kind: 'role.deleted', key: `${change.org}/${change.name}`, resource: `org:${change.org}`, before: rows[0].row, after: null });
  }
}
