/** The newest committed revision (the one-row warden_revision): the one place that reads it outside a write. */
import type pg from 'pg';

export async function currentRevision(db: pg.Pool | pg.PoolClient): Promise<number> {
  const { rows } = await db.query<{ revision: string }>('SELECT revision FROM warden_revision');
  return Number(rows[0]!.revision);
}
