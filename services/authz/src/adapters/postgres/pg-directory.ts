/**
 * DirectoryQueries on Postgres: the console's reads. Every page is one statement carrying
 * the revision it was read at (one snapshot), in keyset order, bounded by its limit.
 */
import type pg from 'pg';
import { UnavailableError } from '@warden/errors';
import type { ApiKeyRow, ChangeRow, DirectoryQueries } from '../../ports.js';
import { currentRevision } from './pg-revision.js';

const REVISION_COLUMN = '(SELECT revision FROM warden_revision) AS current_revision';

/**
 * The resource a changelog row is about: a binding's scope, a change request's resource (its
 * `request.*` steps are keyed by the request's id), a resource's own path, else its organization.
 */
const CHANGE_RESOURCE = `COALESCE(c.after->>'scope', c.before->>'scope', CASE WHEN starts_with(c.kind, 'request.') THEN c.after->>'resource' END, CASE WHEN c.key LIKE 'org:%' AND c.key NOT LIKE '%<-%' THEN c.key END, 'org:' || c.org)`;

export class PgDirectory implements DirectoryQueries {
  constructor(private readonly pool: pg.Pool) {}

  private async page<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<{ rows: R[]; revision: number }> {
    try {
      const { rows } = await this.pool.query<R & { current_revision: string }>(sql, params);
      const revision = rows[0] !== undefined ? Number(rows[0].current_revision) : await currentRevision(this.pool);
      return { rows, revision };
    } catch (error) {
      throw new UnavailableError('the grant store (Postgres) could not be read', { cause: error });
    }
  }

  async attributes(paths: readonly string[]): Promise<ReadonlyMap<string, Record<string, unknown>>> {
    const { rows } = await this.page<{ path: string; attributes: Record<string, unknown> }>(
      `SELECT path, attributes, ${REVISION_COLUMN} FROM resources WHERE path = ANY($1::text[])`,
      [paths],
    );
    return new Map(rows.map((row) => [row.path, row.attributes]));
  }

  async customRoles(org: string) {
    const { rows, revision } = await this.page<{ name: string; description: string | null; actions: string[]; membership: boolean; ceiling: string[] | null }>(
      `SELECT name, description, actions, membership, ceiling, ${REVISION_COLUMN} FROM roles WHERE org = $1 ORDER BY name COLLATE "C" LIMIT 1000`,
      [org],
    );
    return { roles: rows.map(({ name, description, actions, membership, ceiling }) => ({ name, description, actions, membership, ceiling })), revision };
  }

  async groupMembers(input: { org: string; group?: string | undefined; after?: string | undefined; limit: number }) {
    const { rows, revision } = await this.page<{ group_subject: string; member: string }>(
      `SELECT group_subject, member, ${REVISION_COLUMN} FROM group_members
       WHERE org = $1 AND ($2::text IS NULL OR group_subject = $2)
         AND ($3::text IS NULL OR (group_subject || ' ' || member) COLLATE "C" > $3)
       ORDER BY (group_subject || ' ' || member) COLLATE "C" LIMIT $4`,
      [input.org, input.group ?? null, input.after ?? null, input.limit],
    );
    return { members: rows.map((row) => ({ group: row.group_subject, member: row.member })), revision };
  }

  async apiKeys(input: { org: string; after?: string | undefined; limit: number }): Promise<{ keys: ApiKeyRow[]; revision: number }> {
    const { rows, revision } = await this.page<{ id: string; subject: string; description: string | null; created_by: string; created_at: Date; expires_at: Date | null; revoked_at: Date | null }>(
      `SELECT id, subject, description, created_by, created_at, expires_at, revoked_at, ${REVISION_COLUMN} FROM api_keys
       WHERE org = $1 AND ($2::text IS NULL OR id COLLATE "C" > $2)
       ORDER BY id COLLATE "C" LIMIT $3`,
      [input.org, input.after ?? null, input.limit],
    );
    return {
      keys: rows.map((r) => ({ id: r.id, subject: r.subject, description: r.description, createdBy: r.created_by, createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at })),
      revision,
    };
  }

  async changes(input: Parameters<DirectoryQueries['changes']>[0]): Promise<{ changes: ChangeRow[]; revision: number }> {
    const { rows, revision } = await this.page<{ revision: string; seq: number; at: Date; actor: string; kind: string; key: string; resource: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; reason: string | null; event_id: string | null }>(
      `SELECT * FROM (
         SELECT c.revision, c.seq, c.at, c.actor, c.kind, c.key, ${CHANGE_RESOURCE} AS resource, c.before, c.after, c.reason, c.event_id, ${REVISION_COLUMN}
         FROM changelog c
         WHERE c.org = $1
           AND ($3::text IS NULL OR c.actor = $3)
           AND ($4::text IS NULL OR starts_with(c.kind, $4))
           AND ($5::timestamptz IS NULL OR c.at >= $5)
           AND ($6::timestamptz IS NULL OR c.at < $6)
           AND ($7::bigint IS NULL OR (c.revision, c.seq) < ($7::bigint, $8::int))
       ) t
       WHERE t.resource = $2 OR (t.resource COLLATE "C" >= $2 || '/' AND t.resource COLLATE "C" < $2 || '0')
       ORDER BY t.revision DESC, t.seq DESC LIMIT $9`,
      [input.org, input.scope, input.actor ?? null, input.kind ?? null, input.since ?? null, input.until ?? null, input.after?.revision ?? null, input.after?.seq ?? 0, input.limit],
    );
    return {
      changes: rows.map((r) => ({ revision: Number(r.revision), seq: r.seq, at: r.at, actor: r.actor, kind: r.kind, key: r.key, resource: r.resource, before: r.before, after: r.after, reason: r.reason, eventId: r.event_id })),
      revision,
    };
  }
}
