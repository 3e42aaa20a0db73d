/** CandidateSource on Postgres: index range scans, keyset-paginated. */
import type pg from 'pg';
import { UnavailableError } from '@warden/errors';
import type { CandidateSource } from '../../ports.js';

export class PgCandidates implements CandidateSource {
  constructor(private readonly pool: pg.Pool) {}

  private async query(sql: string, params: unknown[]): Promise<string[]> {
    try {
      const { rows } = await this.pool.query<{ v: string }>(sql, params);
      return rows.map((row) => row.v);
    } catch (error) {
      throw new UnavailableError('the grant store (Postgres) could not be read', { cause: error });
    }
  }

  resourcesUnder(scope: string, type: string, after: string | undefined, limit: number): Promise<string[]> {
    // Below `scope` = byte range [scope + '/', scope + '0'): '0' is the byte after '/'.
    return this.query(
      `SELECT path AS v FROM resources
       WHERE type = $1
         AND (path = $2 OR (path COLLATE "C" >= $2 || '/' AND path COLLATE "C" < $2 || '0'))
         AND ($3::text IS NULL OR path COLLATE "C" > $3)
       ORDER BY path COLLATE "C" LIMIT $4`,
      [type, scope, after ?? null, limit],
    );
  }

  subjectsOn(chain: readonly string[], subjectType: string | undefined, after: string | undefined, limit: number): Promise<string[]> {
    // Bound on the chain, or (below a resource that is not the organization) strictly below it:
    // `visible_from_below` lets such a binding allow actions on the resource.
    const below = chain.length > 1 ? chain[chain.length - 1]! : null;
    return this.query(
      `WITH RECURSIVE members(subject) AS (
         SELECT DISTINCT subject FROM bindings
         WHERE scope = ANY($1::text[])
            OR ($5::text IS NOT NULL AND scope COLLATE "C" >= $5 || '/' AND scope COLLATE "C" < $5 || '0')
         UNION
         SELECT gm.member FROM group_members gm JOIN members m ON gm.group_subject = m.subject
       )
       SELECT subject AS v FROM members
       WHERE ($2::text IS NULL OR subject COLLATE "C" > $2)
         AND ($4::text IS NULL OR split_part(subject, ':', 1) = $4)
       ORDER BY subject COLLATE "C" LIMIT $3`,
      [chain, after ?? null, limit, subjectType ?? null, below],
    );
  }
}
