/** The newest committed revision (the one-row warden_revision), outside a write. */
import type pg from 'pg';
import { REVISION_SQL } from './grant-changes.js';

export async function currentRevision(db: pg.Pool | pg.PoolClient): Promise<number> {
  const { rows } = await db.query<{ revision: string }>(REVISION_SQL);
  return Number(rows[0]!.revision);
}
