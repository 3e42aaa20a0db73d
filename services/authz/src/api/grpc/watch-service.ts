/** WatchService over gRPC: transport only; the change feed does the work. */
import { ServerError, Status } from 'nice-grpc';
import type { GrantChange, WatchResponse, WatchServiceImplementation } from '@warden/proto/authz/v1/watch';
import type { Caller } from '../../auth/caller.js';
import { PermissionDeniedError } from '@warden/errors';
import { WatcherTooSlowError, type ChangeEvent, type PgChangeFeed } from '../../adapters/postgres/pg-change-feed.js';
import type { CallerContext } from './auth.js';

function changeToProto(change: ChangeEvent): GrantChange {
  return {
    kind: change.kind,
    key: change.key,
    before: change.before ?? undefined,
    after: change.after ?? undefined,
    actor: change.actor,
    reason: change.reason ?? '',
    at: change.at,
  };
}

/**
 * Watch streams every organization's grant changes, so only platform-level callers
 * may use it: a trusted local caller (sidecar) or a platform admin (`mayWatch`).
 */
export function createWatchServiceImpl(feed: PgChangeFeed, mayWatch: (caller: Caller) => boolean): WatchServiceImplementation<CallerContext> {
  return {
    async *watch(request, context): AsyncGenerator<WatchResponse> {
      if (!mayWatch(context.caller)) {
        throw new PermissionDeniedError(`${context.caller.subject} may not watch grant changes: Watch is for platform admins and trusted local callers`);
      }
      try {
        for await (const item of feed.watch(request.afterRevision, request.fromNow, context.signal)) {
          yield 'caughtUp' in item
            ? { revision: item.revision, changes: [], caughtUp: true }
            : { revision: item.revision, changes: item.changes.map(changeToProto), caughtUp: false };
        }
      } catch (error) {
        if (error instanceof WatcherTooSlowError) throw new ServerError(Status.RESOURCE_EXHAUSTED, error.message);
        throw error;
      }
    },
  };
}
