/**
 * Admin inputs as change sets: every management call validates its input into the typed
 * changes it would make (domain/changes.ts), the gate it must pass first, and the checks its
 * write must repeat under the lock. The same plan is applied (admin.ts) or previewed.
 */
import { ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@warden/errors';
import { parseActionPattern, parseResource, parseRoleName, parseSubject, type ResourcePath } from '@warden/names';
import type { Catalogue } from '../domain/catalogue.js';
import { isSystemRole } from '../domain/catalogue.js';
import type { Change } from '../domain/changes.js';
import { validateCondition } from '../domain/conditions.js';
import type { Effect } from '../domain/model.js';
import { resourceAttributes } from '../domain/settings.js';
import { inCatalogue } from '../domain/world.js';
import type { GraphReader, StoredBinding } from '../ports.js';

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
  readonly visible_from_below?: readonly string[] | undefined;
  readonly required_approvals?: number | undefined;
  readonly attributes?: Readonly<Record<string, unknown>> | undefined;
}

export interface RoleInput {
  readonly org: string;
  readonly name: string;
  readonly description?: string | undefined;
  readonly actions: readonly string[];
  readonly membership?: boolean | undefined;
  readonly ceiling?: readonly string[] | undefined;
  readonly reason?: string | undefined;
}

/** What a management call would do: its changes, the gate, and checks to repeat under the writers' lock. */
export interface Plan {
  readonly org: string;
  readonly changes: readonly Change[];
  /** Actions the caller must hold on `resource` to attempt the change at all. */
  readonly gate: { readonly actions: readonly string[]; readonly resource: ResourcePath; readonly what: string };
  readonly check?: ((state: GraphReader) => Promise<void>) | undefined;
}

const MAX_REASON = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The action area of a resource type (`env` → `environments`); other types add an s. */
export const PLURAL: Readonly<Record<string, string>> = { project: 'projects', env: 'environments', flag: 'flags', variable: 'variables', secret: 'secrets' };

export function reasonOf(reason: string | undefined): string | undefined {
  if (reason === undefined || reason === '') return undefined;
  if (reason.length > MAX_REASON) throw new InvalidArgumentError('reason', `is ${reason.length} characters long; at most ${MAX_REASON} are allowed`);
  return reason;
}

export function orgPath(org: string, field = 'org'): ResourcePath {
  const path = parseResource(`org:${org}`, field);
  if (path.segments.length !== 1) throw new InvalidArgumentError(field, `${JSON.stringify(org)} is not an organization id`);
  return path;
}

export function bindingId(value: string): string {
  if (!UUID.test(value)) throw new InvalidArgumentError('binding_id', `${JSON.stringify(value.slice(0, 80))} is not a binding id (a UUID)`);
  return value;
}

export function planGrant(input: GrantInput, catalogue: Catalogue, now: number): Plan & { readonly binding: Extract<Change, { kind: 'binding.put' }>['binding'] } {
  const subject = parseSubject(input.subject, 'subject');
  if (!catalogue.hasSubjectType(subject.type)) throw new InvalidArgumentError('subject', `subject type ${subject.type} is not declared in the organization (subject_types)`);
  const scope = parseResource(input.scope, 'scope');
  if ((input.role === undefined || input.role === '') === (input.actions === undefined || input.actions.length === 0)) {
    throw new InvalidArgumentError('role', 'set exactly one of role and actions');
  }
  const role = input.role === undefined || input.role === '' ? undefined : parseRoleName(input.role, 'role');
  const actions = input.actions?.map((a, i) => inCatalogue(parseActionPattern(a, `actions[${i}]`), catalogue, `actions[${i}]`));
  const effect = input.effect ?? 'allow';
  if (input.expiresAt !== undefined && input.expiresAt.getTime() <= now) throw new InvalidArgumentError('expires_at', 'must be in the future');
  const condition = input.condition === undefined || input.condition === '' ? undefined : validateCondition(input.condition, 'condition');
  const binding = { org: scope.org, subject: input.subject, role, actions, scope: scope.path, effect, expiresAt: input.expiresAt, condition, reason: reasonOf(input.reason) };
  return {
    org: scope.org,
    changes: [{ kind: 'binding.put', binding }],
    binding,
    gate: { actions: ['users:manage_roles'], resource: scope, what: `${effect === 'deny' ? 'deny' : 'grant'} ${role !== undefined ? `role ${role}` : `actions [${(actions ?? []).join(', ')}]`}` },
    check: role === undefined || isSystemRole(role) ? undefined : async (state) => {
      if (!(await state.roleExists(scope.org, role))) throw new InvalidArgumentError('role', `role ${role} is not defined in organization ${scope.org}`);
    },
  };
}

export function planRevoke(stored: StoredBinding): Plan {
  const { binding } = stored;
  const scope = parseResource(binding.scope);
  return {
    org: scope.org,
    changes: [{ kind: 'binding.delete', id: binding.id }],
    gate: { actions: ['users:manage_roles'], resource: scope, what: `revoke ${binding.role !== undefined ? `role ${binding.role}` : `actions [${(binding.actions ?? []).join(', ')}]`}` },
  };
}

export function planMember(kind: 'member.add' | 'member.remove', input: { org: string; group: string; member: string }): Plan {
  const org = orgPath(input.org);
  const group = parseSubject(input.group, 'group');
  if (group.type !== 'group') throw new InvalidArgumentError('group', 'must be a group subject (group:<id>)');
  if (parseSubject(input.member, 'member').id === '*') throw new InvalidArgumentError('member', `${input.member} stands for every subject of its type; bind it directly instead`);
  if (input.member === input.group) throw new InvalidArgumentError('member', 'a group cannot be a member of itself');
  return {
    org: org.org,
    changes: [{ kind, org: org.org, group: input.group, member: input.member }],
    gate: { actions: ['groups:manage'], resource: org, what: `change the members of ${input.group}` },
  };
}

export function planPutRole(input: RoleInput, catalogue: Catalogue): Plan {
  const org = orgPath(input.org);
  const name = parseRoleName(input.name, 'name');
  if (input.actions.length === 0) throw new InvalidArgumentError('actions', 'a role needs at least one action');
  if (input.description !== undefined && input.description.length > 500) throw new InvalidArgumentError('description', 'is longer than 500 characters');
  const actions = input.actions.map((a, i) => inCatalogue(parseActionPattern(a, `actions[${i}]`), catalogue, `actions[${i}]`));
  const ceiling = input.ceiling?.length ? input.ceiling.map((a, i) => parseActionPattern(a, `ceiling[${i}]`)) : undefined;
  return {
    org: org.org,
    changes: [{ kind: 'role.put', role: { org: org.org, name, description: input.description || undefined, actions, membership: input.membership ?? false, ceiling } }],
    gate: { actions: ['roles:manage'], resource: org, what: `${isSystemRole(name) ? 'redefine the built-in' : 'define'} role ${name}` },
  };
}

/**
 * Deleting a custom role (no binding may use it), or an organization's redefinition of a
 * built-in name: the built-in definition applies again to the bindings that name it.
 */
export function planDeleteRole(input: { org: string; name: string }): Plan {
  const org = orgPath(input.org);
  const name = parseRoleName(input.name, 'name');
  const builtIn = isSystemRole(name);
  return {
    org: org.org,
    changes: [{ kind: 'role.delete', org: org.org, name }],
    gate: { actions: ['roles:manage'], resource: org, what: builtIn ? `restore the built-in role ${name}` : `delete role ${name}` },
    check: async (state) => {
      if (!(await state.roleExists(org.org, name))) {
        throw new NotFoundError(builtIn ? `org:${org.org} does not redefine the built-in role ${name}` : `role ${name} does not exist in org:${org.org}`);
      }
      if (builtIn) return;
      const used = await state.bindingsUsingRole(org.org, name);
      if (used > 0) throw new FailedPreconditionError(`role ${name} is used by ${used} bindings; revoke them first`);
    },
  };
}

/** `known`: which of the resource and its parent exist. */
export function planPutResource(input: { path: string; settings?: Settings | undefined }, known: ReadonlySet<string>): Plan {
  const resource = parseResource(input.path, 'path');
  if (resource.segments.length === 1) throw new InvalidArgumentError('path', 'organizations are created with CreateOrganization');
  const type = resource.segments.at(-1)!.type;
  const parent = resource.chain.at(-2)!;
  const exists = known.has(resource.path);
  if (!known.has(parent)) throw new FailedPreconditionError(`${parent} does not exist; create it first`);
  const { attributes, ...settings } = input.settings ?? {};
  const typed = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
  const plural = PLURAL[type] ?? `${type}s`;
  return {
    org: resource.org,
    changes: [{ kind: 'resource.put', path: resource.path, org: resource.org, attributes: resourceAttributes(typed, attributes, 'settings') }],
    gate: { actions: [type === 'project' && !exists ? 'projects:create' : `${plural}:manage`], resource: parseResource(exists ? resource.path : parent), what: `${exists ? 'change' : 'create'} ${resource.path}` },
  };
}

export function planCreateOrganization(input: { orgId: string; owner: string }, exists: boolean): Plan {
  const org = orgPath(input.orgId, 'org_id');
  const owner = parseSubject(input.owner, 'owner');
  if (owner.type === 'group') throw new InvalidArgumentError('owner', 'the first owner is a user or a service, not a group (a group has no members yet)');
  if (exists) throw new ConflictError(`${org.path} already exists`);
  return {
    org: org.org,
    changes: [
      { kind: 'resource.put', path: org.path, org: org.org, attributes: {} },
      { kind: 'binding.put', binding: { org: org.org, subject: input.owner, role: 'owner', actions: undefined, scope: org.path, effect: 'allow', expiresAt: undefined, condition: undefined, reason: undefined } },
    ],
    gate: { actions: [], resource: org, what: `create ${org.path}` },
  };
}
