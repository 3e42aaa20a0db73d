/** Liveness and identity probes of a Postgres server (readiness, the read replica's check at start). */
import type pg from 'pg';

export interface ServerIdentity {
  /** The cluster's system identifier: the same on a primary and its streaming standbys. */
  readonly system: string;
  readonly database: string;
  /** In recovery: a standby. */
  readonly standby: boolean;
}

/** Whether the server answers a query now. */
export async function answers(pool: pg.Pool): Promise<boolean> {
  return pool.query('SELECT 1').then(() => true, () => false);
}

/** Throws if the server cannot be queried. */
export async function ping(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}

export async function serverIdentity(pool: pg.Pool): Promise<ServerIdentity> {
  const { rows } = await pool.query<ServerIdentity>(
    'SELECT system_identifier::text AS system, current_database() AS database, pg_is_in_recovery() AS standby FROM pg_control_system()',
  );
  return rows[0]!;
}
