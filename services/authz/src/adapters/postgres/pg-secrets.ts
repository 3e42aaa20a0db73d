/** Secrets the service keeps for itself in Postgres (table warden_secrets): created once, shared by every replica. */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';

/** The secret named `name`, made (32 random bytes) by whichever replica asks first. */
export async function loadOrCreateSecret(pool: pg.Pool, name: string): Promise<Buffer> {
  await pool.query({ text: 'INSERT INTO warden_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', values: [name, randomBytes(32)], query_timeout: 5_000 } as pg.QueryConfig);
  const { rows } = await pool.query<{ secret: Buffer }>({ text: 'SELECT secret FROM warden_secrets WHERE name = $1', values: [name], query_timeout: 5_000 } as pg.QueryConfig);
  return rows[0]!.secret;
}
