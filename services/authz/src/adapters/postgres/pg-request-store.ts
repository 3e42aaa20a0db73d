/**
 * Change requests on Postgres (table change_requests, migration 6). Reads: RequestQueries and
 * the write guard's view (GraphReader.request / openReviews). Writes: `request.put` changes,
 * applied by the grant writer inside its transaction (pg-grant-writer.ts), so each state change
 * has its changelog row, its outbox audit event and its Watch notice in the same commit.
 * Parameterized statements only; reads carry a deadline.
 */
import { ConflictError, FailedPreconditionError } from '@warden/errors';
import type pg from 'pg';
import { lastStep, requestSummary, type ChangeRequest, type RequestState } from '../../domain/approvals.js';
import type { Change } from '../../domain/changes.js';
import { grantKey } from '../../domain/world.js';
import type { RequestQueries } from '../../ports.js';
import type { WriteContext } from './pg-writer.js';

/** Every read here gives up after this long (the call's own deadline usually ends it sooner). */
export const REQUEST_QUERY_TIMEOUT_MS = 5_000;

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

interface Row {
  readonly body: ChangeRequest;
}

/** The stored body back as the domain value (JSON drops undefined fields; put them back). */
export function requestFromBody(body: ChangeRequest): ChangeRequest {
  return {
    ...body,
    ticket: body.ticket ?? undefined,
    idempotencyKey: body.idempotencyKey ?? undefined,
    access: body.access ?? undefined,
    reviewClosed: body.reviewClosed ?? undefined,
    bindingId: body.bindingId ?? undefined,
    before: body.before ?? null,
    after: body.after ?? null,
  };
}

async function select(db: Queryable, text: string, values: unknown[]): Promise<ChangeRequest[]> {
  const { rows } = await db.query<Row>({ text, values, query_timeout: REQUEST_QUERY_TIMEOUT_MS } as pg.QueryConfig);
  return rows.map((row) => requestFromBody(row.body));
}

export async function requestById(db: Queryable, id: string): Promise<ChangeRequest | undefined> {
  if (!UUID.test(id)) return undefined;
  return (await select(db, 'SELECT body FROM change_requests WHERE id = $1', [id]))[0];
}

export function openReviewsOf(db: Queryable, org: string, subject: string): Promise<ChangeRequest[]> {
  return select(db, 'SELECT body FROM change_requests WHERE org = $1 AND requester = $2 AND review_open ORDER BY id', [org, subject]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class PgRequestQueries implements RequestQueries {
  constructor(private readonly pool: pg.Pool) {}

  get(id: string): Promise<ChangeRequest | undefined> {
    return requestById(this.pool, id);
  }

  list(input: { org: string; scope: string; state?: RequestState | undefined; before?: string | undefined; limit: number }): Promise<ChangeRequest[]> {
    return select(
      this.pool,
      `SELECT body FROM change_requests
       WHERE org = $1
         AND (resource = $2 OR (resource COLLATE "C" >= $2 || '/' AND resource COLLATE "C" < $2 || '0'))
         AND ($3::text IS NULL OR state = $3)
         AND ($4::uuid IS NULL OR id < $4)
       ORDER BY id DESC LIMIT $5`,
      [input.org, input.scope, input.state ?? null, input.before !== undefined && UUID.test(input.before) ? input.before : null, input.limit],
    );
  }

  async byIdempotencyKey(key: string): Promise<ChangeRequest | undefined> {
    return (await select(this.pool, 'SELECT body FROM change_requests WHERE idempotency_key = $1', [key]))[0];
  }

  due(at: Date, limit: number): Promise<ChangeRequest[]> {
    return select(this.pool, `SELECT body FROM change_requests WHERE state IN ('pending', 'approved') AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, [at, limit]);
  }
}

export type { RequestQueries };

type RequestPut = Extract<Change, { kind: 'request.put' }>;

/** The audit/changelog view of a request: its summary, and the change itself when it was opened or applied. */
function recorded(request: ChangeRequest): Record<string, unknown> {
  const step = lastStep(request).kind;
  const content = step === 'opened' || step === 'break_glass' || step === 'applied' ? { change: { before: request.before, after: request.after } } : {};
  return { ...requestSummary(request), ...content, step: { ...lastStep(request), at: new Date(lastStep(request).at).toISOString() } };
}

/**
 * Writes request states inside a grant write (after the write's bindings, so an access request
 * applied by this write names the binding the write put). Refuses (and so rolls the write back)
 * a request that changed since `previous` was read, or a new one whose id is taken.
 */
export async function putRequests({ client, revision, record }: WriteContext, changes: readonly RequestPut[]): Promise<void> {
  for (const change of changes) {
    let request = change.request;
    if (request.kind === 'access' && request.state === 'applied' && request.bindingId === undefined && request.access !== undefined) {
      const { rows } = await client.query<{ id: string }>(
        `SELECT id FROM bindings WHERE subject = $1 AND scope = $2 AND effect = 'allow' AND grant_key = $3`,
        [request.access.subject, request.access.scope, grantKey(request.access)],
      );
      request = { ...request, bindingId: rows[0]?.id };
    }
    const params = [
      request.id, request.org, request.kind, request.requester, request.action, request.resource, request.state, request.contentHash,
      request.breakGlass, request.breakGlass && request.reviewClosed === undefined, new Date(request.createdAt), new Date(request.expiresAt),
      request.version, revision, JSON.stringify(request),
    ];
    if (change.previous === undefined) {
      const { rowCount } = await client.query(
        `INSERT INTO change_requests (id, org, kind, requester, action, resource, state, content_hash, break_glass, review_open, created_at, expires_at, version, revision, body, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING`,
        [...params, request.idempotencyKey ?? null],
      );
      if (rowCount === 0) throw new ConflictError(`request ${request.id}${request.idempotencyKey !== undefined ? ' (or one with the same Idempotency-Key)' : ''} already exists`);
    } else {
      const { rowCount } = await client.query(
        `UPDATE change_requests SET state = $3, review_open = $4, expires_at = $5, version = $6, revision = $7, body = $8
         WHERE id = $1 AND org = $2 AND version = $9`,
        [request.id, request.org, request.state, request.breakGlass && request.reviewClosed === undefined, new Date(request.expiresAt), request.version, revision, JSON.stringify(request), change.previous.version],
      );
      if (rowCount === 0) throw new FailedPreconditionError(`request ${request.id} changed while this step was being made; read it again`);
    }
    record({
      kind: `request.${lastStep(request).kind}`,
      key: request.id,
      resource: request.resource,
      before: change.previous === undefined ? null : requestSummary(change.previous),
      after: recorded(request),
    });
  }
}
