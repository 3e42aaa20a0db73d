/**
 * Watch: the grant changes of an organization, revision by revision. A caller acting for an
 * organization (its API key, or a token with `authz:lookup` there) follows that organization
 * only; a platform administrator or a trusted local caller (sidecar) may follow every one.
 */
import { InvalidArgumentError, PermissionDeniedError } from '@warden/errors';
import { parseAction, parseOrgId, parseResource } from '@warden/names';
import type { Caller } from '../domain/caller.js';
import { decide } from '../domain/engine.js';
import type { ChangeFeed, GrantSource, WatchItem } from '../ports.js';
import type { CallOptions } from './call.js';

export interface WatchInput {
  readonly afterRevision: number;
  readonly fromNow: boolean;
  /** Only this organization's changes; '' or undefined: the caller's own (all, for a platform administrator). */
  readonly org?: string | undefined;
}

export interface Watch {
  watch(caller: Caller, input: WatchInput, options: CallOptions & { readonly signal: AbortSignal }): Promise<AsyncIterable<WatchItem>>;
}

export const WATCH_ACTION = 'authz:lookup';

export interface WatchDeps {
  readonly feed: ChangeFeed;
  readonly source: GrantSource;
  readonly isPlatformAdmin: (caller: Caller) => boolean;
  readonly now?: () => number;
}

export function createWatch(deps: WatchDeps): Watch {
  const now = deps.now ?? Date.now;
  return {
    async watch(caller, input, options) {
      if (!Number.isSafeInteger(input.afterRevision) || input.afterRevision < 0) throw new InvalidArgumentError('after_revision', 'must be a revision (a non-negative integer below 2^53)');
      let org = input.org === undefined || input.org === '' ? undefined : parseOrgId(input.org, 'org');
      const everyOrg = caller.kind === 'trusted_local' || deps.isPlatformAdmin(caller);
      if (!everyOrg) {
        if (caller.kind === 'api_key') {
          if (org !== undefined && org !== caller.org) throw new PermissionDeniedError(`org: the API key of ${caller.subject} acts only within org:${caller.org}`);
          org = caller.org;
        }
        if (org === undefined) throw new InvalidArgumentError('org', 'is required: the organization whose changes to follow (only platform administrators may follow every organization)');
        const resource = parseResource(`org:${org}`);
        const view = await deps.source.view([{ subject: caller.subject, resource }], options.signal);
        if (decide(view, { subject: caller.subject, action: parseAction(WATCH_ACTION), resource }, now()).decision !== 'ALLOW') {
          throw new PermissionDeniedError(`${caller.subject} may not watch the changes of org:${org}: it needs ${WATCH_ACTION} there`);
        }
      }
      return deps.feed.watch(input.afterRevision, input.fromNow, options.signal, org);
    },
  };
}
