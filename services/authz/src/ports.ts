/** What the core needs from the outside world. Adapters in stores/ implement these. */
import type { GrantView } from './domain/engine.js';
import type { Consistency } from './domain/model.js';
import type { ResourcePath } from '@warden/names';

export interface ViewRequest {
  readonly subject: string;
  readonly resource: ResourcePath;
}

export interface GrantSource {
  /**
   * One consistent view of the grant graph covering every (subject, resource)
   * asked for, at the newest revision this source has. A caching source uses
   * `consistency` to decide how fresh the view must be (at least the revision
   * asked for; Postgres itself for fully_consistent); a store that always reads
   * the newest revision may ignore it.
   */
  view(requests: readonly ViewRequest[], signal?: AbortSignal, consistency?: Consistency): Promise<GrantView>;
  /**
   * Optional, for sources with an in-process layer: one view per request, all at one
   * revision, when every request can be answered at once without I/O and as fresh as
   * `consistency` asks; otherwise undefined (then `view` answers). Lets a batch decide
   * each check over its own small view instead of assembling one for the whole batch.
   */
  localViews?(requests: readonly ViewRequest[], consistency?: Consistency): GrantView[] | undefined;
}

/** Where lookups find their candidates; every candidate is then decided by the engine. */
export interface CandidateSource {
  /**
   * Known resources (in the store's resource registry) whose type is `type` and
   * which are `scope` itself or below it, in byte order of their paths, after `after`.
   */
  resourcesUnder(scope: string, type: string, after: string | undefined, limit: number, signal?: AbortSignal): Promise<string[]>;
  /**
   * Every subject that could be allowed anything on a resource with this scope chain:
   * subjects bound on a scope of the chain, and every member (transitively) of groups among them.
   * Only subjects of `subjectType` when given. In byte order, after `after`.
   */
  subjectsOn(chain: readonly string[], subjectType: string | undefined, after: string | undefined, limit: number, signal?: AbortSignal): Promise<string[]>;
}
