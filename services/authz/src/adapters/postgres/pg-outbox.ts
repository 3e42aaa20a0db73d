/**
 * The outbox table as the relay sees it (the `Outbox` port). Every write puts its audit
 * event in `outbox` in the write's own transaction (pg-writer.ts); this adapter claims the
 * oldest unshipped rows with FOR UPDATE SKIP LOCKED, so several replicas relay side by
 * side without shipping the same event twice at once, and records what the audit service
 * answered in the same transaction. A crash before the commit only means the batch is
 * claimed and sent again (the audit service answers DUPLICATE for events it has).
 */
import type pg from 'pg';
import type { Outbox, OutboxEntry, OutboxEvent, OutboxOutcome } from '../../ports.js';

interface OutboxRow {
  id: string;
  event: OutboxEvent;
}

/** How long one claim may hold its rows locked (SELECT … FOR UPDATE through the last UPDATE). */
const STATEMENT_TIMEOUT_MS = 15_000;

export function createPgOutbox(pool: pg.Pool): Outbox {
  return {
    async claim(limit: number, ship: (entries: readonly OutboxEntry[]) => Promise<OutboxOutcome>): Promise<number> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
        const { rows } = await client.query<OutboxRow>(
          'SELECT id, event FROM outbox WHERE shipped_at IS NULL ORDER BY revision, id LIMIT $1 FOR UPDATE SKIP LOCKED',
          [limit],
        );
        if (rows.length === 0) {
          await client.query('COMMIT');
          return 0;
        }
        const outcome = await ship(rows.map((row) => ({ id: row.id, event: row.event })));
        if (outcome.shipped.length > 0) await client.query('UPDATE outbox SET shipped_at = now() WHERE id = ANY($1::uuid[])', [outcome.shipped]);
        for (const { id, error } of outcome.refused) {
          await client.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [id, error]);
        }
        await client.query('COMMIT');
        return rows.length;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}
