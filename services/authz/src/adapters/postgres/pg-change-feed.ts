/**
 * The grant-change feed behind Watch, on the changelog table.
 *
 * A watcher first pages through the changelog after its revision at its own pace
 * (its backlog), then follows live changes. Live changes are read once per revision
 * for all watchers (one query, woken by the replica's invalidation listener) and
 * pushed into each watcher's queue. A queue holds at most `maxBuffered` changes: a
 * watcher that falls further behind is ended with WatcherTooSlowError (the transport
 * maps it to RESOURCE_EXHAUSTED), so a slow watcher never holds memory or slows others.
 */
import type pg from 'pg';
import { InvalidArgumentError, ResourceExhaustedError, UnavailableError } from '@warden/errors';
import { currentRevision } from './pg-revision.js';
import type { ChangeEvent, ChangeFeed, RevisionChanges, WatchItem } from '../../ports.js';

export type { ChangeEvent, RevisionChanges, WatchItem } from '../../ports.js';

/** Where revisions come from: the cached grant source's invalidation listener. */
export interface RevisionNotifier {
  readonly appliedRevision: number;
  onRevision(listener: (revision: number) => void): () => void;
}

/** A watcher that fell too far behind (RESOURCE_EXHAUSTED: resume from `resumeAfter`). */
export class WatcherTooSlowError extends ResourceExhaustedError {
  override readonly name = 'WatcherTooSlowError';
  constructor(
    readonly resumeAfter: number,
    readonly maxBuffered: number,
  ) {
    super(`watcher fell behind: more than ${maxBuffered} changes were waiting for it; resume with after_revision ${resumeAfter}`);
  }
}

interface ChangeRow {
  revision: string;
  org: string | null;
  kind: string;
  key: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  actor: string;
  reason: string | null;
  at: Date;
}

const PAGE_SQL = `
SELECT revision, org, kind, key, before, after, actor, reason, at FROM changelog
WHERE revision > $1 AND revision <= $2 AND ($4::text IS NULL OR org = $4) ORDER BY revision, seq LIMIT $3`;

function group(rows: readonly ChangeRow[]): RevisionChanges[] {
  const out: Array<{ revision: number; changes: ChangeEvent[] }> = [];
  for (const row of rows) {
    const revision = Number(row.revision);
    let last = out[out.length - 1];
    if (last === undefined || last.revision !== revision) {
      last = { revision, changes: [] };
      out.push(last);
    }
    last.changes.push({ org: row.org ?? undefined, kind: row.kind, key: row.key, before: row.before, after: row.after, actor: row.actor, reason: row.reason, at: row.at });
  }
  return out;
}

interface Subscriber {
  /** Only this organization's changes, when set. */
  readonly org: string | undefined;
  readonly queue: RevisionChanges[];
  buffered: number;
  /** Highest revision handed to the consumer (for the resume hint). */
  delivered: number;
  failed: WatcherTooSlowError | undefined;
  wake: (() => void) | undefined;
}

export interface ChangeFeedOptions {
  readonly pool: pg.Pool;
  readonly notifier: RevisionNotifier;
  /** Changes a watcher may have queued before it is cut off. @defaultValue 10000 */
  readonly maxBuffered?: number;
  /** Changelog rows per backlog page. @defaultValue 1000 */
  readonly pageSize?: number;
}

export class PgChangeFeed implements ChangeFeed {
  private readonly subscribers = new Set<Subscriber>();
  private fetched: number;
  private fetching: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly unsubscribe: () => void;
  private readonly maxBuffered: number;
  private readonly pageSize: number;

  constructor(private readonly options: ChangeFeedOptions) {
    this.fetched = options.notifier.appliedRevision;
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.pageSize = options.pageSize ?? 1000;
    this.unsubscribe = options.notifier.onRevision(() => this.pump());
  }

  /** Stops following: every watcher's stream ends (clients resume on another replica). */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const sub of this.subscribers) sub.wake?.();
  }

  get watchers(): number {
    return this.subscribers.size;
  }

  /** Changes after `afterRevision` (or from the newest revision with `fromNow`), then live ones. */
  async *watch(afterRevision: number, fromNow: boolean, signal: AbortSignal, org?: string): AsyncGenerator<WatchItem, void, undefined> {
    const newest = await this.newest();
    if (!fromNow && afterRevision > newest) {
      throw new InvalidArgumentError('after_revision', `revision ${afterRevision} is newer than the newest committed revision ${newest}`);
    }
    const sub: Subscriber = { org, queue: [], buffered: 0, delivered: afterRevision, failed: undefined, wake: undefined };
    this.subscribers.add(sub);
    try {
      let cursor = fromNow ? newest : afterRevision;
      sub.delivered = cursor;
      // Backlog, at the watcher's own pace.
      for (;;) {
        signal.throwIfAborted();
        const upTo = await this.newest();
        const rows = await this.read(cursor, upTo, this.pageSize + 1, org);
        const more = rows.length > this.pageSize;
        let pages = group(more ? rows.slice(0, this.pageSize) : rows);
        // A page must end on a whole revision: drop a revision cut by the limit (unless it is all there is).
        if (more && pages.length > 1) pages = pages.slice(0, -1);
        for (const page of pages) {
          if (sub.failed !== undefined) throw sub.failed;
          yield page;
          cursor = page.revision;
          sub.delivered = cursor;
        }
        if (!more) {
          cursor = Math.max(cursor, upTo);
          break;
        }
      }
      yield { caughtUp: true, revision: cursor };
      // Live.
      while (!this.closed) {
        if (sub.failed !== undefined) throw sub.failed;
        const next = sub.queue.shift();
        if (next === undefined) {
          signal.throwIfAborted();
          let onAbort: (() => void) | undefined;
          await new Promise<void>((resolve) => {
            sub.wake = resolve;
            onAbort = resolve;
            signal.addEventListener('abort', onAbort, { once: true });
          });
          signal.removeEventListener('abort', onAbort!);
          sub.wake = undefined;
          continue;
        }
        sub.buffered -= next.changes.length;
        if (next.revision <= cursor) continue;
        yield next;
        cursor = next.revision;
        sub.delivered = cursor;
      }
    } finally {
      this.subscribers.delete(sub);
    }
  }

  private async newest(): Promise<number> {
    try {
      return await currentRevision(this.options.pool);
    } catch (error) {
      throw new UnavailableError('the changelog (Postgres) could not be read', { cause: error });
    }
  }

  private async read(after: number, upTo: number, limit: number, org?: string): Promise<ChangeRow[]> {
    try {
      return (await this.options.pool.query<ChangeRow>(PAGE_SQL, [after, upTo, limit, org ?? null])).rows;
    } catch (error) {
      throw new UnavailableError('the changelog (Postgres) could not be read', { cause: error });
    }
  }

  /** Reads the revisions the notifier has seen since the last read, once for every watcher. */
  private pump(): void {
    if (this.fetching !== undefined) {
      this.again = true;
      return;
    }
    // Cleared in a .finally (a microtask after the assignment): a run that finishes without
    // awaiting (no watcher) would otherwise clear it before it is set, and no pump would run again.
    this.fetching = (async () => {
      try {
        do {
          this.again = false;
          const target = this.options.notifier.appliedRevision;
          if (target <= this.fetched) break;
          if (this.subscribers.size === 0) {
            this.fetched = target;
            break;
          }
          const rows = await this.read(this.fetched, target, this.maxBuffered + 1);
          if (rows.length > this.maxBuffered) {
            // More than any watcher may hold: every live watcher resumes from its own cursor.
            for (const sub of this.subscribers) this.fail(sub);
          } else {
            for (const page of group(rows)) this.push(page);
          }
          this.fetched = target;
        } while (this.again);
      } catch {
        // Postgres unreachable: the next revision (or the next watcher's backlog) retries.
      }
    })().finally(() => {
      this.fetching = undefined;
      // A revision noted while this run was finishing.
      if (this.again) this.pump();
    });
  }

  private push(page: RevisionChanges): void {
    for (const sub of this.subscribers) {
      if (sub.failed !== undefined) continue;
      const mine = sub.org === undefined ? page : { revision: page.revision, changes: page.changes.filter((c) => c.org === sub.org) };
      if (mine.changes.length === 0) continue;
      if (sub.buffered + mine.changes.length > this.maxBuffered) {
        this.fail(sub);
        continue;
      }
      sub.queue.push(mine);
      sub.buffered += mine.changes.length;
      sub.wake?.();
    }
  }

  private fail(sub: Subscriber): void {
    sub.failed = new WatcherTooSlowError(sub.delivered, this.maxBuffered);
    sub.queue.length = 0;
    sub.buffered = 0;
    sub.wake?.();
  }
}
