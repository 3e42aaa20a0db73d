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
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { actorFromSubject } from '@warden/audit-events';
import { storeSpan } from '../../instruments.js';
import type { ChangeRecord, WriteMeta, WriteResult } from '../../ports.js';
import { GRANT_CHANGES_CHANNEL, grantChangeNotice } from './grant-changes.js';

export type { ChangeRecord, WriteMeta, WriteResult } from '../../ports.js';

export interface WriteContext {
  readonly client: pg.PoolClient;
  /** The revision this write commits as. */
  readonly revision: number;
  record(change: ChangeRecord): void;
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
    // Each change's audit event id (its outbox row, shipped under this id), recorded on the changelog row too.
    const eventIds = changes.map(() => uuidv7());
    await client.query(
      `INSERT INTO changelog (revision, seq, at, actor, kind, key, before, after, reason, org, event_id)
       SELECT $1, t.seq, $2, $3, t.kind, t.key, t.before, t.after, $4, t.org, t.event_id
       FROM unnest($5::int[], $6::text[], $7::text[], $8::jsonb[], $9::jsonb[], $10::text[], $11::uuid[]) AS t(seq, kind, key, before, after, org, event_id)`,
      [
        revision, now, meta.actor, meta.reason ?? null,
        changes.map((_, i) => i + 1), changes.map((c) => c.kind), changes.map((c) => c.key),
        changes.map((c) => json(c.before)), changes.map((c) => json(c.after)), changes.map((c) => orgOf(c.resource)), eventIds,
      ],
    );
    const events = changes.map((change, i) => ({
      id: eventIds[i]!,
      occurred_at: now.toISOString(),
      actor: actorFromSubject(meta.actor, { wardenComponents: true }),
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

/** The organization of a change's resource path (`org:acme/…` → `acme`). */
function orgOf(resource: string): string | null {
  if (!resource.startsWith('org:')) return null;
  const slash = resource.indexOf('/');
  return slash < 0 ? resource.slice(4) : resource.slice(4, slash);
}

function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
