/** WatchService over gRPC: transport only; the Watch use case decides who may watch. */
import type { GrantChange, WatchResponse, WatchServiceImplementation } from '@warden/proto/authz/v1/watch';
import type { ChangeEvent } from '../../ports.js';
import type { Watch } from '../../usecases/watch.js';
import type { CallerContext } from './auth.js';

function changeToProto(change: ChangeEvent): GrantChange {
  return {
    org: change.org ?? '',
    kind: change.kind,
    key: change.key,
    before: change.before ?? undefined,
    after: change.after ?? undefined,
    actor: change.actor,
    reason: change.reason ?? '',
    at: change.at,
  };
}

export function createWatchServiceImpl(watch: Watch): WatchServiceImplementation<CallerContext> {
  return {
    async *watch(request, context): AsyncGenerator<WatchResponse> {
      const items = await watch.watch(context.caller, { afterRevision: request.afterRevision, fromNow: request.fromNow, org: request.org }, { signal: context.signal });
      for await (const item of items) {
        yield 'caughtUp' in item
          ? { revision: item.revision, changes: [], caughtUp: true }
          : { revision: item.revision, changes: item.changes.map(changeToProto), caughtUp: false };
      }
    },
  };
}
