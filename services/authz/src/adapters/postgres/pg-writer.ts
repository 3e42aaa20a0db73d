/**
 * Writes to the grant graph. Every write is one transaction that
 *   1. locks the revision row (writers serialise; revisions follow commit order),
 *   2. changes the rows,
 *   3. records each change in the changelog (actor, kind, before, after, reason)
 *      and an audit event in the outbox — in the same transaction, so a change
 *      without its audit event cannot commit,
 *   4. bumps the revision, or rolls back if nothing changed (idempotent writes
 *      leave the revision alone),
 *   5. announces the revision and what it touched on NOTIFY (grant-changes.ts), delivered at commit.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ConflictError } from '@warden/errors';
import { storeSpan } from '../../instruments.js';
import { grantKey, type World } from '../../domain/world.js';
import { GRANT_CHANGES_CHANNEL, grantChangeNotice } from './grant-changes.js';

export interface ChangeRecord {
  /** e.g. `binding.created`, `resource.updated`. */
  readonly kind: string;
  /** What changed: a binding id, a resource path, `org/role`, `group<-member`. */
  readonly key: string;
  /** The resource the change is about (for the audit trail's filters). */
  readonly resource: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface WriteContext {
  readonly client: pg.PoolClient;
  /** The revision this write commits as. */
  readonly revision: number;
  record(change: ChangeRecord): void;
}

export interface WriteMeta {
  /** Who makes the change: a subject, or `system:<component>` for the service itself. */
  readonly actor: string;
  readonly reason?: string | undefined;
}

export interface WriteResult {
  /** The revision after the write (unchanged when the write changed nothing). */
  readonly revision: number;
  readonly changes: readonly ChangeRecord[];
}

export async function withWrite(pool: pg.Pool, meta: WriteMeta, apply: (ctx: WriteContext) => Promise<void>): Promise<WriteResult> {
  return storeSpan('postgres write', { 'db.system.name': 'postgresql', 'warden.actor': meta.actor }, () => writeTransaction(pool, meta, apply));
}

async function writeTransaction(pool: pg.Pool, meta: WriteMeta, apply: (ctx: WriteContext) => Promise<void>): Promise<WriteResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ revision: string }>('SELECT revision FROM warden_revision FOR UPDATE');
    const current = Number(rows[0]!.revision);
    const revision = current + 1;
    const changes: ChangeRecord[] = [];
    await apply({ client, revision, record: (change) => changes.push(change) });
    if (changes.length === 0) {
      await client.query('ROLLBACK');
      return { revision: current, changes };
    }
    const now = new Date();
    await client.query(
      `INSERT INTO changelog (revision, seq, at, actor, kind, key, before, after, reason)
       SELECT $1, t.seq, $2, $3, t.kind, t.key, t.before, t.after, $4
       FROM unnest($5::int[], $6::text[], $7::text[], $8::jsonb[], $9::jsonb[]) AS t(seq, kind, key, before, after)`,
      [
        revision, now, meta.actor, meta.reason ?? null,
        changes.map((_, i) => i + 1), changes.map((c) => c.kind), changes.map((c) => c.key),
        changes.map((c) => json(c.before)), changes.map((c) => json(c.after)),
      ],
    );
    const events = changes.map((change) => ({
      id: uuidv7(),
      occurred_at: now.toISOString(),
      actor: actorOf(meta.actor),
      action: change.kind,
      resource: change.resource,
      key: change.key,
      before: change.before ?? null,
      after: change.after ?? null,
      reason: meta.reason ?? null,
      revision,
    }));
    await client.query(
      `INSERT INTO outbox (id, revision, created_at, event)
       SELECT t.id, $1, $2, t.event FROM unnest($3::uuid[], $4::jsonb[]) AS t(id, event)`,
      [revision, now, events.map((e) => e.id), events.map((e) => JSON.stringify(e))],
    );
    await client.query('UPDATE warden_revision SET revision = $1', [revision]);
    // Delivered at commit, in commit order, to every replica that LISTENs (its cache invalidates what the notice names).
    await client.query('SELECT pg_notify($1, $2)', [GRANT_CHANGES_CHANNEL, grantChangeNotice(revision, changes)]);
    await client.query('COMMIT');
    return { revision, changes };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

function actorOf(actor: string): { type: string; id: string } {
  const colon = actor.indexOf(':');
  return colon < 0 ? { type: 'system', id: actor } : { type: actor.slice(0, colon), id: actor.slice(colon + 1) };
}

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

/**
 * Applies a world: creates or updates every resource, role, group membership and
 * binding it names. Nothing is removed (a world is additive); applying the same
 * world twice changes nothing and keeps the revision.
 */
export async function applyWorld(pool: pg.Pool, world: World, meta: WriteMeta): Promise<WriteResult> {
  return withWrite(pool, meta, async ({ client, revision, record }) => {
    for (const part of chunks(dedupe(world.resources, (r) => r.path))) {
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

    for (const part of chunks(dedupe(world.roles, (r) => `${r.org}/${r.name}`))) {
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

    // A group belongs to the organization that first gave it members; another
    // organization may bind it, but never change who is in it.
    const groupOrgs = [...new Map(world.memberships.map((m) => [m.group, m.org])).entries()];
    if (groupOrgs.length > 0) {
      const { rows: foreign } = await client.query<{ group_subject: string; org: string }>(
        `SELECT DISTINCT gm.group_subject, gm.org FROM group_members gm
         JOIN unnest($1::text[], $2::text[]) AS t(group_subject, org) ON gm.group_subject = t.group_subject AND gm.org <> t.org`,
        [groupOrgs.map(([group]) => group), groupOrgs.map(([, org]) => org)],
      );
      if (foreign.length > 0) {
        const first = foreign[0]!;
        throw new ConflictError(`${first.group_subject} belongs to organization ${first.org}; only that organization can change its members`);
      }
    }
    for (const part of chunks(dedupe(world.memberships, (m) => `${m.member}\u0000${m.group}`))) {
      const { rows } = await client.query<{ org: string; group_subject: string; member: string }>(
        `INSERT INTO group_members (org, group_subject, member, revision)
         SELECT org, group_subject, member, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(org, group_subject, member)
         ON CONFLICT (member, group_subject) DO NOTHING
         RETURNING org, group_subject, member`,
        [part.map((m) => m.org), part.map((m) => m.group), part.map((m) => m.member), revision],
      );
      for (const row of rows) {
        record({ kind: 'group_member.added', key: `${row.group_subject}<-${row.member}`, resource: `org:${row.org}`, before: null, after: { group: row.group_subject, member: row.member } });
      }
    }

    const bindingKey = (b: World['bindings'][number]) => [b.subject, b.scope, b.effect, grantKey(b)].join('\u0000');
    for (const part of chunks(dedupe(world.bindings, bindingKey))) {
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
          meta.actor, revision, part.map(grantKey),
        ],
      );
      for (const row of rows) {
        record({ kind: row.before === null ? 'binding.created' : 'binding.updated', key: row.id, resource: row.scope, before: row.before, after: row.after });
      }
    }
  });
}

/** Removes one binding by id. */
export async function deleteBinding(pool: pg.Pool, id: string, meta: WriteMeta): Promise<WriteResult> {
  return withWrite(pool, meta, async ({ client, record }) => {
    const { rows } = await client.query<{ id: string; scope: string; row: unknown }>(
      `DELETE FROM bindings WHERE id = $1 RETURNING id, scope, to_jsonb(bindings) - 'revision' - 'created_at' - 'grant_key' AS row`,
      [id],
    );
    for (const row of rows) record({ kind: 'binding.deleted', key: row.id, resource: row.scope, before: row.row, after: null });
  });
}
