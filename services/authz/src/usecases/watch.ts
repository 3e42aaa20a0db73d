/**
 * Watch: the grant changes of every organization, revision by revision. It streams every
 * organization's changes, so only platform-level callers may use it: a trusted local caller
 * (sidecar) or a platform admin.
 */
import { PermissionDeniedError } from '@warden/errors';
import type { Caller } from '../domain/caller.js';
import type { ChangeFeed, WatchItem } from '../ports.js';
import type { CallOptions } from './call.js';

export interface WatchInput {
  readonly afterRevision: number;
  readonly fromNow: boolean;
}

export interface Watch {
  watch(caller: Caller, input: WatchInput, options: CallOptions & { readonly signal: AbortSignal }): AsyncIterable<WatchItem>;
}

export function createWatch(feed: ChangeFeed, platformAdmins: ReadonlySet<string>): Watch {
  return {
    watch(caller, input, options) {
      if (caller.kind !== 'trusted_local' && !platformAdmins.has(caller.subject)) {
        throw new PermissionDeniedError(`${caller.subject} may not watch grant changes: Watch is for platform admins and trusted local callers`);
      }
      return feed.watch(input.afterRevision, input.fromNow, options.signal);
    },
  };
}
