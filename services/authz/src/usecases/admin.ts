/**
 * The admin use cases: every call authorized by Check on the caller (admin-rules.ts), every
 * change an explicit change set the GrantWriter applies in one transaction with its
 * changelog rows and outbox events. No SQL here: reads go through GrantQueries and grant
 * views, writes through GrantWriter and ApiKeyStore.
 *
 * Invariants (docs/admin.md) beyond admin-rules.ts: the last owner of an organization cannot
 * be removed, and a role in use cannot be deleted — both checked by the write's guard, inside
 * the write under the writers' lock, so two concurrent removals cannot both pass.
 */
import { ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError } from '@warden/errors';
import { parseActionPattern, parseResource, parseRoleName, parseSubject } from '@warden/names';
import { isApiKeyId } from '../domain/api-key-format.js';
import type { Caller } from '../domain/caller.js';
import { isSystemRole } from '../domain/catalogue.js';
import type { Change } from '../domain/changes.js';
import { validateCondition } from '../domain/conditions.js';
import type { Binding, Effect } from '../domain/model.js';
import { grantKey, parseWorld } from '../domain/world.js';
import type { ApiKeyStore, GraphReader, GrantQueries, GrantSource, GrantWriter, WriteResult } from '../ports.js';
import { createAdminRules } from './admin-rules.js';
import { NO_OPTIONS, type CallOptions } from './call.js';

export interface AdminDeps {
  readonly source: GrantSource;
  readonly queries: GrantQueries;
  readonly writer: GrantWriter;
  readonly keys: ApiKeyStore;
  /** Subjects allowed to create organizations. */
  readonly platformAdmins: ReadonlySet<string>;
  /** Told of every committed write (the replica's cache applies it at once). */
  readonly onWrite?: ((result: WriteResult) => void) | undefined;
  readonly now?: () => number;
}

export interface GrantInput {
  readonly subject: string;
  readonly role?: string | undefined;
  readonly actions?: readonly string[] | undefined;
  readonly scope: string;
  readonly effect?: Effect | undefined;
  readonly expiresAt?: Date | undefined;
  readonly condition?: string | undefined;
  readonly reason?: string | undefined;
}

export interface Settings {
  readonly protected?: boolean | undefined;
  readonly sensitive_actions?: readonly string[] | undefined;
  readonly protected_roles?: readonly string[] | undefined;
  readonly require_approval?: boolean | undefined;
  readonly approval_actions?: readonly string[] | undefined;
  readonly show_values_to_readers?: boolean | undefined;
  readonly attributes?: Readonly<Record<string, unknown>> | undefined;
}

export interface BindingListing {
  readonly binding: Binding;
  readonly grantedBy: string | undefined;
  readonly reason: string | undefined;
  readonly createdAt: Date;
}

type Write = Pick<WriteResult, 'revision'> & { readonly changes: number };

const PLURAL: Readonly<Record<string, string>> = { project: 'projects', env: 'environments', flag: 'flags', variable: 'variables', secret: 'secrets' };
const MAX_REASON = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function reasonOf(reason: string | undefined): string | undefined {
  if (reason === undefined || reason === '') return undefined;
  if (reason.length > MAX_REASON) throw new InvalidArgumentError('reason', `is ${reason.length} characters long; at most ${MAX_REASON} are allowed`);
  return reason;
}

export function createAdmin(deps: AdminDeps) {
  const now = deps.now ?? Date.now;
  const rules = createAdminRules({ source: deps.source, queries: deps.queries, now });

  function written(result: WriteResult): Write {
    if (result.changes.length > 0) deps.onWrite?.(result);
    return { revision: result.revision, changes: result.changes.length };
  }

  function write(caller: Caller, changes: readonly Change[], reason: string | undefined, guard?: (state: GraphReader) => Promise<void>): Promise<WriteResult> {
    return deps.writer.apply(changes, { actor: caller.subject, reason: reasonOf(reason) }, guard);
  }

  return {
    async createOrganization(caller: Caller, input: { orgId: string; owner: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      if (caller.kind === 'trusted_local' || !deps.platformAdmins.has(caller.subject)) {
        throw new PermissionDeniedError(`${caller.subject} may not create organizations (only platform administrators may)`);
      }
      const org = parseResource(`org:${input.orgId}`, 'org_id');
      parseSubject(input.owner, 'owner');
      if ((await deps.queries.existingResources([org.path], options.signal)).size > 0) throw new ConflictError(`${org.path} already exists`);
      const world = parseWorld({ orgs: [{ id: input.orgId, bindings: [{ subject: input.owner, role: 'owner' }] }] });
      return written(await write(caller, [
        { kind: 'resource.put', path: org.path, org: org.org, attributes: {} },
        ...world.bindings.map((binding): Change => ({ kind: 'binding.put', binding })),
      ], input.reason));
    },

    async putResource(caller: Caller, input: { path: string; settings?: Settings | undefined; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      const resource = parseResource(input.path, 'path');
      if (resource.segments.length === 1) throw new InvalidArgumentError('path', 'organizations are created with CreateOrganization');
      const type = resource.segments.at(-1)!.type;
      const parent = resource.chain.at(-2)!;
      const known = await deps.queries.existingResources([parent, resource.path], options.signal);
      const exists = known.has(resource.path);
      if (!known.has(parent)) throw new FailedPreconditionError(`${parent} does not exist; create it first`);
      const plural = PLURAL[type] ?? `${type}s`;
      const action = type === 'project' && !exists ? 'projects:create' : `${plural}:manage`;
      await rules.requireAll(caller, [action], parseResource(exists ? resource.path : parent), `${exists ? 'change' : 'create'} ${resource.path}`, options.signal);
      const settings = input.settings ?? {};
      const world = parseWorld({
        orgs: [{
          id: resource.org,
          resources: [{
            path: resource.path,
            ...(settings.protected !== undefined ? { protected: settings.protected } : {}),
            ...(settings.sensitive_actions?.length ? { sensitive_actions: [...settings.sensitive_actions] } : {}),
            ...(settings.protected_roles?.length ? { protected_roles: [...settings.protected_roles] } : {}),
            ...(settings.require_approval !== undefined ? { require_approval: settings.require_approval } : {}),
            ...(settings.approval_actions?.length ? { approval_actions: [...settings.approval_actions] } : {}),
            ...(settings.show_values_to_readers !== undefined ? { show_values_to_readers: settings.show_values_to_readers } : {}),
            ...(settings.attributes !== undefined ? { attributes: { ...settings.attributes } } : {}),
          }],
        }],
      });
      // Only this resource: parseWorld adds the organization's own row, which must stay as it is.
      const attributes = world.resources.find((r) => r.path === resource.path)!.attributes;
      return written(await write(caller, [{ kind: 'resource.put', path: resource.path, org: resource.org, attributes }], input.reason));
    },

    async putRole(
      caller: Caller,
      input: { org: string; name: string; description?: string | undefined; actions: readonly string[]; membership?: boolean | undefined; ceiling?: readonly string[] | undefined; reason?: string | undefined },
      options: CallOptions = NO_OPTIONS,
    ): Promise<Write> {
      const org = parseResource(`org:${input.org}`, 'org');
      const name = parseRoleName(input.name, 'name');
      if (isSystemRole(name)) throw new InvalidArgumentError('name', `${name} is a system role and cannot be redefined`);
      if (input.actions.length === 0) throw new InvalidArgumentError('actions', 'a role needs at least one action');
      const actions = input.actions.map((a, i) => parseActionPattern(a, `actions[${i}]`));
      await rules.requireAll(caller, ['roles:manage'], org, `define role ${name}`, options.signal);
      await rules.requireAll(caller, rules.expand(actions), org, `define role ${name} (no escalation)`, options.signal);
      const [role] = parseWorld({
        orgs: [{ id: input.org, roles: [{ name, actions, membership: input.membership ?? false, ...(input.description ? { description: input.description } : {}), ...(input.ceiling?.length ? { ceiling: [...input.ceiling] } : {}) }] }],
      }).roles;
      return written(await write(caller, [{ kind: 'role.put', role: role! }], input.reason));
    },

    async deleteRole(caller: Caller, input: { org: string; name: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      const org = parseResource(`org:${input.org}`, 'org');
      const name = parseRoleName(input.name, 'name');
      if (isSystemRole(name)) throw new InvalidArgumentError('name', `${name} is a system role and cannot be deleted`);
      await rules.requireAll(caller, ['roles:manage'], org, `delete role ${name}`, options.signal);
      return written(await write(caller, [{ kind: 'role.delete', org: input.org, name }], input.reason, async (state) => {
        const used = await state.bindingsUsingRole(input.org, name);
        if (used > 0) throw new FailedPreconditionError(`role ${name} is used by ${used} bindings; revoke them first`);
        if (!(await state.roleExists(input.org, name))) throw new NotFoundError(`role ${name} does not exist in org:${input.org}`);
      }));
    },

    async grantBinding(caller: Caller, input: GrantInput, options: CallOptions = NO_OPTIONS): Promise<Write & { binding: Binding; created: boolean }> {
      parseSubject(input.subject, 'subject');
      const scope = parseResource(input.scope, 'scope');
      if ((input.role === undefined || input.role === '') === (input.actions === undefined || input.actions.length === 0)) {
        throw new InvalidArgumentError('role', 'set exactly one of role and actions');
      }
      const role = input.role === undefined || input.role === '' ? undefined : parseRoleName(input.role, 'role');
      const patterns = input.actions?.map((a, i) => parseActionPattern(a, `actions[${i}]`));
      const effect = input.effect ?? 'allow';
      if (input.expiresAt !== undefined && input.expiresAt.getTime() <= now()) throw new InvalidArgumentError('expires_at', 'must be in the future');
      const condition = input.condition === undefined || input.condition === '' ? undefined : validateCondition(input.condition, 'condition');
      const carried = await rules.actionsOf(scope.org, role, patterns, options.signal);
      await rules.mayManageGrant(caller, role, carried, scope, effect === 'deny' ? 'deny' : 'grant', options.signal);
      if (effect === 'allow') await rules.withinCeiling(input.subject, carried, scope, role, options.signal);
      const binding = { org: scope.org, subject: input.subject, role, actions: patterns, scope: scope.path, effect, expiresAt: input.expiresAt, condition, reason: reasonOf(input.reason) };
      const result = await write(caller, [{ kind: 'binding.put', binding }], input.reason);
      const stored = await deps.queries.bindingByGrant({ subject: input.subject, scope: scope.path, effect, grantKey: grantKey(binding) }, options.signal);
      if (stored === undefined) throw new ConflictError(`the binding of ${input.subject} on ${scope.path} was revoked while it was being granted`);
      return { ...written(result), binding: stored.binding, created: result.changes.some((c) => c.kind === 'binding.created') };
    },

    async revokeBinding(caller: Caller, input: { bindingId: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      if (!UUID.test(input.bindingId)) throw new InvalidArgumentError('binding_id', 'is not a binding id (a UUID)');
      const stored = await deps.queries.binding(input.bindingId, options.signal);
      if (stored === undefined) throw new NotFoundError(`binding ${input.bindingId} does not exist`);
      const { binding } = stored;
      const scope = parseResource(binding.scope);
      const carried = await rules.actionsOf(scope.org, binding.role, binding.actions, options.signal);
      await rules.mayManageGrant(caller, binding.role, carried, scope, 'revoke', options.signal);
      const lastOwner = binding.role === 'owner' && binding.effect === 'allow' && binding.scope === `org:${scope.org}`;
      return written(await write(caller, [{ kind: 'binding.delete', id: input.bindingId }], input.reason, async (state) => {
        if (!lastOwner || (await state.binding(input.bindingId)) === undefined) return; // revoked meanwhile: nothing to check
        if ((await state.ownerBindings(scope.org, { exceptId: input.bindingId, validAt: new Date(now()) })) === 0) {
          throw new FailedPreconditionError(`${binding.subject} is the last owner of org:${scope.org}; make another owner first`);
        }
      }));
    },

    async listBindings(
      caller: Caller,
      input: { scope: string; subject?: string | undefined; after?: string | undefined; limit: number },
      options: CallOptions = NO_OPTIONS,
    ): Promise<{ bindings: BindingListing[]; revision: number; last: string | undefined }> {
      const scope = parseResource(input.scope, 'scope');
      if (input.subject !== undefined) parseSubject(input.subject, 'subject');
      await rules.requireAll(caller, ['users:read'], scope, `list the bindings of ${scope.path}`, options.signal);
      const page = await deps.queries.listBindings({ scope: scope.path, subject: input.subject, after: input.after, limit: input.limit }, options.signal);
      const lastOne = page.bindings.at(-1);
      return {
        bindings: page.bindings.map(({ binding, createdAt }) => ({ binding, grantedBy: binding.grantedBy, reason: binding.reason, createdAt })),
        revision: page.revision,
        last: page.bindings.length === input.limit && lastOne !== undefined ? `${lastOne.binding.scope} ${lastOne.binding.id}` : undefined,
      };
    },

    async addGroupMember(caller: Caller, input: { org: string; group: string; member: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      const org = parseResource(`org:${input.org}`, 'org');
      const group = parseSubject(input.group, 'group');
      if (group.type !== 'group') throw new InvalidArgumentError('group', 'must be a group subject (group:<id>)');
      parseSubject(input.member, 'member');
      await rules.requireAll(caller, ['groups:manage'], org, `change the members of ${input.group}`, options.signal);
      return written(await write(caller, [{ kind: 'member.add', org: input.org, group: input.group, member: input.member }], input.reason));
    },

    async removeGroupMember(caller: Caller, input: { org: string; group: string; member: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      const org = parseResource(`org:${input.org}`, 'org');
      parseSubject(input.group, 'group');
      parseSubject(input.member, 'member');
      await rules.requireAll(caller, ['groups:manage'], org, `change the members of ${input.group}`, options.signal);
      return written(await write(caller, [{ kind: 'member.remove', org: input.org, group: input.group, member: input.member }], input.reason));
    },

    async createApiKey(
      caller: Caller,
      input: { org: string; subject: string; description?: string | undefined; expiresAt?: Date | undefined; reason?: string | undefined },
      options: CallOptions = NO_OPTIONS,
    ) {
      const org = parseResource(`org:${input.org}`, 'org');
      await rules.requireAll(caller, ['keys:manage'], org, `create API keys in ${org.path}`, options.signal);
      const created = await deps.keys.create({ org: input.org, subject: input.subject, description: input.description, expiresAt: input.expiresAt }, { actor: caller.subject, reason: reasonOf(input.reason) });
      written(created);
      return created;
    },

    async revokeApiKey(caller: Caller, input: { keyId: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      const record = isApiKeyId(input.keyId) ? await deps.keys.get(input.keyId, options.signal) : undefined;
      if (record === undefined) throw new NotFoundError(`API key ${input.keyId} does not exist`);
      await rules.requireAll(caller, ['keys:manage'], parseResource(`org:${record.org}`), `revoke API keys in org:${record.org}`, options.signal);
      return written(await deps.keys.revoke(input.keyId, { actor: caller.subject, reason: reasonOf(input.reason) }));
    },
  };
}

export type Admin = ReturnType<typeof createAdmin>;
