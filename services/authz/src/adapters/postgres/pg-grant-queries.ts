/** GrantQueries on Postgres: the admin use cases' reads besides grant views. */
import type pg from 'pg';
import type { Effect } from '../../domain/model.js';
import type { GrantQueries, StoredBinding } from '../../ports.js';
import { bindingFromRow, type BindingRow } from './pg-grant-store.js';
import { currentRevision } from './pg-revision.js';
import { loadOrgGraph } from './pg-org-graph.js';
import type { GraphSpec } from '../../domain/graph-spec.js';
import type { OrgGraph } from '../../domain/org-graph.js';

type StoredRow = BindingRow & { org: string; created_at: Date };

function storedFromRow(row: StoredRow): StoredBinding {
  return { binding: bindingFromRow(row), org: row.org, createdAt: row.created_at };
}

export class PgGrantQueries implements GrantQueries {
  constructor(private readonly pool: pg.Pool) {}

  async roleActions(org: string, name: string): Promise<readonly string[] | undefined> {
    const { rows } = await this.pool.query<{ actions: string[] }>('SELECT actions FROM roles WHERE org = $1 AND name = $2', [org, name]);
    return rows[0]?.actions;
  }

  async existingResources(paths: readonly string[]): Promise<ReadonlySet<string>> {
    const { rows } = await this.pool.query<{ path: string }>('SELECT path FROM resources WHERE path = ANY($1::text[])', [paths]);
    return new Set(rows.map((r) => r.path));
  }

  async binding(id: string): Promise<StoredBinding | undefined> {
    const { rows } = await this.pool.query<StoredRow>('SELECT * FROM bindings WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : storedFromRow(rows[0]);
  }

  async bindingByGrant(input: { subject: string; scope: string; effect: Effect; grantKey: string }): Promise<StoredBinding | undefined> {
    const { rows } = await this.pool.query<StoredRow>(
      'SELECT * FROM bindings WHERE subject = $1 AND scope = $2 AND effect = $3 AND grant_key = $4',
      [input.subject, input.scope, input.effect, input.grantKey],
    );
    return rows[0] === undefined ? undefined : storedFromRow(rows[0]);
  }

  async listBindings(input: { scope: string; subject?: string | undefined; after?: string | undefined; limit: number }): Promise<{ bindings: StoredBinding[]; revision: number }> {
    // One statement: the page and the revision it was read at come from one snapshot.
    const { rows } = await this.pool.query<StoredRow & { current_revision: string }>(
      `SELECT b.*, (SELECT revision FROM warden_revision) AS current_revision FROM bindings b
       WHERE (b.scope = $1 OR (b.scope COLLATE "C" >= $1 || '/' AND b.scope COLLATE "C" < $1 || '0'))
         AND ($2::text IS NULL OR b.subject = $2)
         AND ($3::text IS NULL OR (b.scope || ' ' || b.id::text) COLLATE "C" > $3)
       ORDER BY (b.scope || ' ' || b.id::text) COLLATE "C" LIMIT $4`,
      [input.scope, input.subject ?? null, input.after ?? null, input.limit],
    );
    const revision = rows[0] !== undefined ? Number(rows[0].current_revision) : await currentRevision(this.pool);
    return { bindings: rows.map(storedFromRow), revision };
  }

  revision(): Promise<number> {
    return currentRevision(this.pool);
  }

  orgGraph(spec: GraphSpec): Promise<OrgGraph> {
    return loadOrgGraph(this.pool, spec);
  }

  async orgExists(org: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM resources WHERE path = $1', [`org:${org}`]);
    return rowCount !== 0;
  }
}
