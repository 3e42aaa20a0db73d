/**
 * Timelines: a filtered query of an org's events, authorized (`audit:read` on the
 * filter's scope), paged by opaque cursors. Pages hold `pageSize` events (one store
 * round-trip each) until `limit` events (0: no limit) or the end.
 */
import { InvalidArgumentError } from '@warden/errors';
import type { StoredRecord } from '@warden/audit-events';
import type { AuditStore, Caller } from '../domain/ports.js';
import { decodeCursor, encodeCursor, filterScope, type Cursor, type EventFilter } from '../domain/query.js';
import type { Access } from './access.js';

/** Most events per page. */
export const MAX_PAGE = 1000;

export type Page = { readonly records: readonly StoredRecord[]; readonly cursor: Cursor | undefined; readonly more: boolean };

/** Reads `filter` page by page from `start`: `pageSize` rows per store call, `limit` rows at most (0: all). */
export async function* pages(store: AuditStore, filter: EventFilter, start: Cursor | undefined, pageSize: number, limit: number, signal: AbortSignal): AsyncGenerator<Page> {
  let cursor = start;
  let remaining = limit === 0 ? Number.POSITIVE_INFINITY : limit;
  while (remaining > 0) {
    const n = Math.min(pageSize, remaining);
    const records = await store.query(filter, cursor, n, { signal });
    const last = records[records.length - 1];
    if (last !== undefined) cursor = { occurredAt: last.event.occurredAt, seq: last.seq };
    remaining -= records.length;
    yield { records, cursor, more: records.length === n };
    if (records.length < n) return;
  }
}

export type TimelineRequest = {
  readonly filter: EventFilter;
  /** A cursor from an earlier page ('' or undefined: from the start). */
  readonly cursor?: string | undefined;
  /** Events per page; 0: 100. */
  readonly pageSize: number;
  /** Most events in all; 0: no limit. */
  readonly limit: number;
};

export type TimelinePage = { readonly records: readonly StoredRecord[]; readonly nextCursor: string };

/** One page at least (maybe empty); `nextCursor` is '' on the last page. */
export async function* queryTimeline(deps: { store: AuditStore; access: Access }, caller: Caller | undefined, request: TimelineRequest, signal: AbortSignal): AsyncGenerator<TimelinePage> {
  const { filter } = request;
  if (request.pageSize > MAX_PAGE) throw new InvalidArgumentError('page_size', `is ${request.pageSize}; at most ${MAX_PAGE}`);
  const cursor = request.cursor === undefined || request.cursor === '' ? undefined : decodeCursor(request.cursor, filter.order);
  await deps.access.authorize(caller, 'audit:read', filterScope(filter), signal);
  let sent = false;
  for await (const page of pages(deps.store, filter, cursor, request.pageSize === 0 ? 100 : request.pageSize, request.limit, signal)) {
    if (page.records.length === 0 && sent) return;
    sent = true;
    yield { records: page.records, nextCursor: page.more && page.cursor !== undefined ? encodeCursor(page.cursor, filter.order) : '' };
  }
}
