/**
 * Lookups: which resources of a type under a scope may S do A on; which subjects
 * may do A on R; which actions may S take on R. Candidates come from the store;
 * every candidate is decided by the same engine as Check, so a result is listed
 * exactly when Check says ALLOW (REQUIRES_APPROVAL is not ALLOW).
 *
 * Pages are keyset-based (the one page-token format, @warden/service-kit): the token carries
 * the last candidate examined and a hash of the query, so it stays valid across writes and
 * is refused for another query.
 */
import type { Caller } from '../domain/caller.js';
import type { ValidCheck } from '../domain/engine.js';
import { decide } from '../domain/engine.js';
import { InvalidArgumentError, PermissionDeniedError } from '@warden/errors';
import type { Attributes } from '../domain/model.js';
import { isSubjectTypeName, parseAction, parseResource, parseSubject, type ResourcePath } from '@warden/names';
import { validateCheck } from '../domain/check.js';
import { decodePageToken, encodePageToken } from '@warden/service-kit';
import type { CandidateSource, GrantSource, ViewRequest } from '../ports.js';
import type { GrantView } from '../domain/engine.js';
import { tokenGroupsFor, WithTokenGroups } from './token-groups.js';
import { NO_OPTIONS, type CallOptions } from './call.js';

export const LOOKUP_ACTION = 'authz:lookup';
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Candidates examined per call at most; a page may hold fewer results and still have a next token. */
export const MAX_SCAN = 5000;
const CHUNK = 500;
export const TYPE_RE = /^[a-z][a-z0-9_]{0,31}$/;

export interface Page {
  readonly token?: string | undefined;
  readonly limit?: number | undefined;
}

export interface PageResult<T> {
  readonly results: T[];
  readonly nextToken: string;
  readonly revision: number;
}

interface Common {
  readonly context?: Attributes | undefined;
  /** The request's properties, as in a Check: a search lists exactly what an evaluation with them would allow. */
  readonly subjectAttributes?: Attributes | undefined;
  readonly resourceAttributes?: Attributes | undefined;
  readonly actionAttributes?: Attributes | undefined;
  readonly page?: Page | undefined;
}

export interface LookupResourcesInput extends Common {
  readonly subject: string;
  readonly action: string;
  /** The type of resources to list (`flag`, `env`, `project`, …). */
  readonly resourceType: string;
  /** List only resources at or below this path. */
  readonly scope: string;
}

export interface LookupSubjectsInput extends Common {
  readonly action: string;
  readonly resource: string;
  /** Only subjects of this type (`user`, `service`, `group` or a declared one); all when unset. A type the organization does not have lists nobody. */
  readonly subjectType?: string | undefined;
}

export interface LookupActionsInput extends Common {
  readonly subject: string;
  readonly resource: string;
}

export interface Lookups {
  lookupResources(caller: Caller, input: LookupResourcesInput, options?: CallOptions): Promise<PageResult<string>>;
  lookupSubjects(caller: Caller, input: LookupSubjectsInput, options?: CallOptions): Promise<PageResult<string>>;
  lookupActions(caller: Caller, input: LookupActionsInput, options?: CallOptions): Promise<PageResult<string>>;
}

const isName = (value: unknown): value is string => typeof value === 'string';

function groupsOf(caller: Caller, subject: string): { readonly subject: string; readonly names: readonly string[] } | undefined {
  const names = tokenGroupsFor(caller, subject);
  return names === undefined ? undefined : { subject, names };
}

/** What of a lookup's input a Check takes besides its names; also part of the page token's query. */
function extras(input: Common) {
  return { context: input.context, subjectAttributes: input.subjectAttributes, resourceAttributes: input.resourceAttributes, actionAttributes: input.actionAttributes };
}
/** The extras checked like a Check's (sizes, objects). */
function validExtras(input: Common) {
  const { context, subjectAttributes, resourceAttributes, actionAttributes } = validateCheck({ subject: 'user:x', action: 'x', resource: 'org:x', ...extras(input) });
  return { context, subjectAttributes, resourceAttributes, actionAttributes };
}
const queryOf = (input: Common) => [input.context ?? null, input.subjectAttributes ?? null, input.resourceAttributes ?? null, input.actionAttributes ?? null];

/** The last candidate a page token of `query` carries; undefined for the first page. */
function decodeToken(token: string | undefined, query: readonly unknown[]): string | undefined {
  return decodePageToken(token, query, 'page.token', isName);
}

export function pageSize(page: Page | undefined): number {
  const limit = page?.limit;
  if (limit === undefined || limit === 0) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgumentError('page.limit', 'must be a non-negative integer');
  return Math.min(limit, MAX_PAGE_SIZE);
}

export interface LookupOptions {
  readonly source: GrantSource;
  readonly candidates: CandidateSource;
  readonly now?: () => number;
}

export function createLookups({ source, candidates, now = Date.now }: LookupOptions): Lookups {
  /** The caller may look up for `subject` (or for anyone, with `others`) under `resource`. */
  async function mayLookup(caller: Caller, subject: string | undefined, resource: ResourcePath, field: string, signal?: AbortSignal): Promise<void> {
    if (caller.kind === 'trusted_local') return;
    if (caller.kind === 'api_key' && resource.org !== caller.org) {
      throw new PermissionDeniedError(`${field}: the API key of ${caller.subject} acts only within org:${caller.org}`);
    }
    if (subject === caller.subject) return;
    const view = await source.view([{ subject: caller.subject, resource }], signal);
    const may = decide(view, { subject: caller.subject, action: parseAction(LOOKUP_ACTION), resource }, now());
    if (may.decision !== 'ALLOW') {
      throw new PermissionDeniedError(`${field}: looking up ${subject === undefined ? 'who has access' : `for ${subject}`} on ${resource.path} needs ${LOOKUP_ACTION} there`);
    }
  }

  /** One view for the requests; with a token's groups, they join its subject's closure (their units read too). */
  async function viewWithGroups(requests: ViewRequest[], groups: { readonly subject: string; readonly names: readonly string[] } | undefined, signal?: AbortSignal): Promise<GrantView> {
    if (groups === undefined || requests.length === 0) return source.view(requests, signal);
    const resource = requests[0]!.resource;
    const view = await source.view([...requests, ...groups.names.map((group) => ({ subject: group, resource }))], signal);
    return new WithTokenGroups(view, groups.subject, groups.names, groups.names.map(() => view));
  }

  /** Scans candidates page by page, deciding each, until `limit` results or MAX_SCAN candidates. */
  async function scan(
    next: (after: string | undefined, limit: number) => Promise<string[]>,
    toCheck: (candidate: string) => ValidCheck,
    after: string | undefined,
    limit: number,
    query: readonly unknown[],
    signal?: AbortSignal,
    /** The token's groups, when the candidates are decided for the token's own subject. */
    groups?: { readonly subject: string; readonly names: readonly string[] },
  ): Promise<PageResult<string>> {
    const results: string[] = [];
    let scanned = 0;
    let last = after;
    let revision = 0;
    for (;;) {
      const batch = await next(last, CHUNK);
      if (batch.length === 0) return { results, nextToken: '', revision };
      const checks = batch.map(toCheck);
      const view = await viewWithGroups(checks.map((c) => ({ subject: c.subject, resource: c.resource })), groups, signal);
      revision = Math.max(revision, view.revision);
      const at = now();
      for (const [i, check] of checks.entries()) {
        last = batch[i]!;
        scanned++;
        if (decide(view, check, at).decision === 'ALLOW') results.push(batch[i]!);
        if (results.length === limit || scanned >= MAX_SCAN) {
          const more = i < batch.length - 1 || (await next(last, 1)).length > 0;
          return { results, nextToken: more ? encodePageToken(last, query) : '', revision };
        }
      }
      if (batch.length < CHUNK) return { results, nextToken: '', revision };
    }
  }

  return {
    async lookupResources(caller, input, { signal } = NO_OPTIONS) {
      parseSubject(input.subject, 'subject');
      const action = parseAction(input.action, 'action');
      const scope = parseResource(input.scope, 'scope');
      if (!TYPE_RE.test(input.resourceType)) throw new InvalidArgumentError('resource_type', `${JSON.stringify(input.resourceType)} is not a resource type (lowercase letters, digits and _)`);
      await mayLookup(caller, input.subject, scope, 'subject', signal);
      const query = ['resources', input.subject, input.action, input.resourceType, input.scope, ...queryOf(input)];
      const more = validExtras(input);
      return scan(
        (after, limit) => candidates.resourcesUnder(scope.path, input.resourceType, after, limit, signal),
        (path) => ({ subject: input.subject, action, resource: parseResource(path), ...more }),
        decodeToken(input.page?.token, query),
        pageSize(input.page),
        query,
        signal,
        groupsOf(caller, input.subject),
      );
    },

    async lookupSubjects(caller, input, { signal } = NO_OPTIONS) {
      const action = parseAction(input.action, 'action');
      const resource = parseResource(input.resource, 'resource');
      if (input.subjectType !== undefined && !isSubjectTypeName(input.subjectType)) {
        throw new InvalidArgumentError('subject_type', `${JSON.stringify(input.subjectType)} is not a subject type name (lowercase letters, digits and _)`);
      }
      await mayLookup(caller, undefined, resource, 'resource', signal);
      const query = ['subjects', input.action, input.resource, input.subjectType ?? null, ...queryOf(input)];
      const more = validExtras(input);
      return scan(
        (after, limit) => candidates.subjectsOn(resource.chain, input.subjectType, after, limit, signal),
        (subject) => ({ subject, action, resource, ...more }),
        decodeToken(input.page?.token, query),
        pageSize(input.page),
        query,
        signal,
      );
    },

    async lookupActions(caller, input, { signal } = NO_OPTIONS) {
      parseSubject(input.subject, 'subject');
      const resource = parseResource(input.resource, 'resource');
      await mayLookup(caller, input.subject, resource, 'subject', signal);
      const more = validExtras(input);
      const view = await viewWithGroups([{ subject: input.subject, resource }], groupsOf(caller, input.subject), signal);
      // Every action of the organization's (closed) catalogue, built in and declared.
      const at = now();
      const allowed = view
        .catalogue(resource.org)
        .actions
        .filter((action) => decide(view, { subject: input.subject, action: parseAction(action), resource, ...more }, at).decision === 'ALLOW');
      const query = ['actions', input.subject, input.resource, ...queryOf(input)];
      const after = decodeToken(input.page?.token, query);
      const start = after === undefined ? 0 : allowed.findIndex((a) => a > after);
      const from = start < 0 ? allowed.length : start;
      const limit = pageSize(input.page);
      const results = allowed.slice(from, from + limit);
      const hasMore = from + limit < allowed.length;
      return { results, nextToken: hasMore ? encodePageToken(results.at(-1)!, query) : '', revision: view.revision };
    },
  };
}
