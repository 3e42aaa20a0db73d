/**
 * The directory: read-only views of what the admin API writes, for the console and tools.
 * Every read is authorized on the caller like any other call, by the same engine:
 *
 *   resources      listed only where the caller may read them (a lookup for itself, so
 *                  exactly the resources on which Check says ALLOW for `<type>s:read`)
 *   roles          roles:read on the organization
 *   group members  groups:read on the organization
 *   API keys       keys:read on the organization (never a secret: only hashes are stored)
 *   changes        audit:read on the scope asked about
 *
 * Pages are bounded (at most MAX_PAGE_SIZE) and keyset-based, with the one page-token format.
 */
import { InvalidArgumentError } from '@warden/errors';
import { parseResource, parseSubject } from '@warden/names';
import { decodePageToken, encodePageToken } from '@warden/service-kit';
import type { Caller } from '../domain/caller.js';
import { SYSTEM_ROLES } from '../domain/catalogue.js';
import type { ApiKeyRow, ChangeRow, DirectoryQueries, GrantSource } from '../ports.js';
import { PLURAL } from './admin-plans.js';
import type { AdminRules } from './admin-rules.js';
import { NO_OPTIONS, type CallOptions } from './call.js';
import { pageSize, TYPE_RE, type Lookups, type Page } from './lookups.js';

export interface DirectoryDeps {
  readonly queries: DirectoryQueries;
  readonly source: GrantSource;
  readonly lookups: Lookups;
  readonly rules: Pick<AdminRules, 'requireAll'>;
}

export interface RoleListing {
  readonly name: string;
  readonly description: string;
  readonly actions: readonly string[];
  readonly membership: boolean;
  readonly ceiling: readonly string[];
  readonly system: boolean;
  /** The catalogue actions the role's patterns reach in this organization (the role × action matrix). */
  readonly granted: readonly string[];
}

export interface ChangeFilter {
  readonly scope: string;
  readonly actor?: string | undefined;
  readonly kind?: string | undefined;
  readonly since?: Date | undefined;
  readonly until?: Date | undefined;
  readonly page?: Page | undefined;
}

const KIND_RE = /^[a-z_]{1,32}(\.[a-z_]{0,32})?$/;
/** The service's own actors in the changelog (`system:world-file`, `system:bootstrap`). */
const SYSTEM_ACTOR_RE = /^system:[a-z][a-z0-9._-]{0,63}$/;
const isText = (value: unknown): value is string => typeof value === 'string';
const isPosition = (value: unknown): value is { revision: number; seq: number } =>
  typeof value === 'object' && value !== null && Number.isSafeInteger((value as { revision?: unknown }).revision) && Number.isSafeInteger((value as { seq?: unknown }).seq);

/** The read action of a resource type: `project` → `projects:read`, `env` → `environments:read`. */
export function readActionOf(type: string): string {
  return `${PLURAL[type] ?? `${type}s`}:read`;
}

function orgOf(org: string, field = 'org') {
  return parseResource(`org:${org}`, field);
}

export function createDirectory(deps: DirectoryDeps) {
  const { rules } = deps;

  return {
    whoAmI(caller: Caller): { subject: string; kind: string; org: string } {
      return { subject: caller.subject, kind: caller.kind, org: caller.kind === 'api_key' ? caller.org : '' };
    },

    async listResources(caller: Caller, input: { scope: string; resourceType: string; page?: Page | undefined }, options: CallOptions = NO_OPTIONS) {
      if (!TYPE_RE.test(input.resourceType)) throw new InvalidArgumentError('resource_type', `${JSON.stringify(input.resourceType)} is not a resource type (lowercase letters, digits and _)`);
      const page = await deps.lookups.lookupResources(
        caller,
        { subject: caller.subject, action: readActionOf(input.resourceType), resourceType: input.resourceType, scope: input.scope, page: input.page },
        options,
      );
      const attributes = page.results.length === 0 ? new Map<string, Record<string, unknown>>() : await deps.queries.attributes(page.results, options.signal);
      return { resources: page.results.map((path) => ({ path, attributes: attributes.get(path) ?? {} })), nextToken: page.nextToken, revision: page.revision };
    },

    async listRoles(caller: Caller, input: { org: string }, options: CallOptions = NO_OPTIONS): Promise<{ roles: RoleListing[]; actions: readonly string[]; revision: number }> {
      const org = orgOf(input.org);
      await rules.requireAll(caller, ['roles:read'], org, `list the roles of ${org.path}`, options.signal);
      const [custom, view] = await Promise.all([deps.queries.customRoles(org.org, options.signal), deps.source.view([{ subject: 'service:warden', resource: org }], options.signal)]);
      const catalogue = view.catalogue(org.org);
      const system: RoleListing[] = SYSTEM_ROLES.map((r) => ({ name: r.name, description: r.description ?? '', actions: r.actions, membership: r.membership, ceiling: r.ceiling ?? [], system: true, granted: catalogue.expand(r.actions) }));
      const roles: RoleListing[] = custom.roles.map((r) => ({ name: r.name, description: r.description ?? '', actions: r.actions, membership: r.membership, ceiling: r.ceiling ?? [], system: false, granted: catalogue.expand(r.actions) }));
      return { roles: [...system, ...roles], actions: catalogue.actions, revision: custom.revision };
    },

    async listGroupMembers(caller: Caller, input: { org: string; group?: string | undefined; page?: Page | undefined }, options: CallOptions = NO_OPTIONS) {
      const org = orgOf(input.org);
      if (input.group !== undefined && parseSubject(input.group, 'group').type !== 'group') throw new InvalidArgumentError('group', 'must be a group subject (group:<id>)');
      await rules.requireAll(caller, ['groups:read'], org, `list the groups of ${org.path}`, options.signal);
      const limit = pageSize(input.page);
      const query = ['group_members', org.org, input.group ?? ''];
      const after = decodePageToken(input.page?.token, query, 'page.token', isText);
      const result = await deps.queries.groupMembers({ org: org.org, group: input.group, after, limit }, options.signal);
      const last = result.members.at(-1);
      return { members: result.members, nextToken: result.members.length === limit && last !== undefined ? encodePageToken(`${last.group} ${last.member}`, query) : '', revision: result.revision };
    },

    async listApiKeys(caller: Caller, input: { org: string; page?: Page | undefined }, options: CallOptions = NO_OPTIONS): Promise<{ keys: ApiKeyRow[]; nextToken: string; revision: number }> {
      const org = orgOf(input.org);
      await rules.requireAll(caller, ['keys:read'], org, `list the API keys of ${org.path}`, options.signal);
      const limit = pageSize(input.page);
      const query = ['api_keys', org.org];
      const after = decodePageToken(input.page?.token, query, 'page.token', isText);
      const result = await deps.queries.apiKeys({ org: org.org, after, limit }, options.signal);
      const last = result.keys.at(-1);
      return { keys: result.keys, nextToken: result.keys.length === limit && last !== undefined ? encodePageToken(last.id, query) : '', revision: result.revision };
    },

    async listChanges(caller: Caller, input: ChangeFilter, options: CallOptions = NO_OPTIONS): Promise<{ changes: ChangeRow[]; nextToken: string; revision: number }> {
      const scope = parseResource(input.scope, 'scope');
      if (input.actor !== undefined && !SYSTEM_ACTOR_RE.test(input.actor)) parseSubject(input.actor, 'actor');
      if (input.kind !== undefined && !KIND_RE.test(input.kind)) throw new InvalidArgumentError('kind', 'must be a change kind or its start, like binding. or resource.updated');
      if (input.since !== undefined && input.until !== undefined && input.since >= input.until) throw new InvalidArgumentError('until', 'must be after since');
      await rules.requireAll(caller, ['audit:read'], scope, `read the changes of ${scope.path}`, options.signal);
      const limit = pageSize(input.page);
      const query = ['changes', scope.path, input.actor ?? '', input.kind ?? '', input.since?.toISOString() ?? '', input.until?.toISOString() ?? ''];
      const after = decodePageToken(input.page?.token, query, 'page.token', isPosition);
      const result = await deps.queries.changes({ org: scope.org, scope: scope.path, actor: input.actor, kind: input.kind, since: input.since, until: input.until, after, limit }, options.signal);
      const last = result.changes.at(-1);
      return {
        changes: result.changes,
        nextToken: result.changes.length === limit && last !== undefined ? encodePageToken({ revision: last.revision, seq: last.seq }, query) : '',
        revision: result.revision,
      };
    },
  };
}

export type Directory = ReturnType<typeof createDirectory>;
