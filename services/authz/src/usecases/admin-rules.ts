/**
 * Who may change the grant graph. Every rule is decided by the same engine as Check, over
 * the caller's own grants:
 *  - no escalation: granting, denying or revoking a role (or actions) at a scope needs every
 *    action it carries, held by the caller at that scope;
 *  - only an owner grants or revokes `owner` and `admin`; an admin manages the other roles;
 *  - a subject whose membership caps it (a viewer) is granted nothing outside its ceiling.
 */
import { FailedPreconditionError, InvalidArgumentError, PermissionDeniedError } from '@warden/errors';
import { parseAction, parseResource, type Action, type ResourcePath } from '@warden/names';
import { ACTION_CATALOGUE, COMPILED_SYSTEM_ROLES } from '../domain/catalogue.js';
import type { Caller } from '../domain/caller.js';
import { decide, type GrantView } from '../domain/engine.js';
import type { GrantQueries, GrantSource } from '../ports.js';

const OWNER_ROLES = new Set(['owner', 'admin']);

/**
 * What a set of patterns carries, as actions to check: every catalogue action it covers,
 * exact actions outside the catalogue, and the wildcard itself (`*`, `area:*`, `*:verb`),
 * which only a grant covering the whole wildcard matches. Nothing is ever dropped: an
 * empty expansion would make every "does the caller hold it all?" check pass.
 */
export function expandPatterns(patterns: readonly string[]): string[] {
  const out = new Set<string>();
  for (const pattern of patterns) {
    if (pattern === '*' || pattern === '*:*') {
      for (const [area, verbs] of Object.entries(ACTION_CATALOGUE)) for (const verb of verbs) out.add(`${area}:${verb}`);
      out.add('*');
      continue;
    }
    const [area, verb] = pattern.split(':') as [string, string];
    if (verb === '*') {
      for (const v of ACTION_CATALOGUE[area] ?? []) out.add(`${area}:${v}`);
      out.add(pattern);
    } else if (area === '*') {
      for (const [a, verbs] of Object.entries(ACTION_CATALOGUE)) {
        if (verbs.includes(verb)) out.add(`${a}:${verb}`);
      }
      out.add(pattern);
    } else {
      out.add(pattern);
    }
  }
  return [...out].sort();
}

/** An action to decide: a plain action, or a wildcard that only a grant covering all of it matches. */
export function actionToDecide(action: string): Action {
  if (action === '*') return { action, area: '*', verb: '*' };
  if (action.includes('*')) {
    const [area, verb] = action.split(':') as [string, string];
    return { action, area, verb };
  }
  return parseAction(action);
}

export interface AdminRulesDeps {
  readonly source: GrantSource;
  readonly queries: GrantQueries;
  readonly now: () => number;
}

export function createAdminRules(deps: AdminRulesDeps) {
  const { now } = deps;

  function viewFor(subject: string, resource: ResourcePath, signal?: AbortSignal): Promise<GrantView> {
    return deps.source.view([{ subject, resource }], signal);
  }

  function inOrg(caller: Caller, resource: ResourcePath, field: string): void {
    if (caller.kind === 'api_key' && caller.org !== resource.org) {
      throw new PermissionDeniedError(`${field}: the API key of ${caller.subject} acts only within org:${caller.org}`);
    }
  }

  /** Throws PERMISSION_DENIED unless the caller is allowed every action on the resource; names the missing ones. */
  async function requireAll(caller: Caller, actions: readonly string[], resource: ResourcePath, what: string, signal?: AbortSignal): Promise<void> {
    inOrg(caller, resource, 'scope');
    // Sidecar trust is for asking questions, never for changing the graph.
    if (caller.kind === 'trusted_local') throw new PermissionDeniedError('a trusted local caller may check and look up, not administer: authenticate with a key or token');
    const view = await viewFor(caller.subject, resource, signal);
    const at = now();
    const missing = actions.filter((action) => decide(view, { subject: caller.subject, action: actionToDecide(action), resource }, at).decision !== 'ALLOW');
    if (missing.length > 0) {
      const shown = missing.slice(0, 8).join(', ') + (missing.length > 8 ? `, … (${missing.length} in all)` : '');
      throw new PermissionDeniedError(`${caller.subject} may not ${what}: it lacks ${shown} on ${resource.path}`);
    }
  }

  async function isOwner(caller: Caller, org: string, signal?: AbortSignal): Promise<boolean> {
    if (caller.kind === 'trusted_local') return false;
    const orgPath = parseResource(`org:${org}`);
    const view = await viewFor(caller.subject, orgPath, signal);
    const at = now();
    return view.subjectsOf(caller.subject).some((subject) =>
      view.bindingsAt(subject, orgPath.path).some((b) => b.effect === 'allow' && b.role === 'owner' && b.condition === undefined && (b.expiresAt === undefined || b.expiresAt.getTime() > at)),
    );
  }

  /** The actions a grant carries: its role's (system or custom) or its own. */
  async function actionsOf(org: string, role: string | undefined, actions: readonly string[] | undefined, signal?: AbortSignal): Promise<string[]> {
    if (role === undefined) return expandPatterns(actions ?? []);
    const system = COMPILED_SYSTEM_ROLES.get(role);
    if (system !== undefined) return expandPatterns(system.actions);
    const custom = await deps.queries.roleActions(org, role, signal);
    if (custom === undefined) throw new InvalidArgumentError('role', `role ${role} is not defined in organization ${org}`);
    return expandPatterns(custom);
  }

  /** Permission to manage a grant (grant, deny or revoke) of `role`/`actions` at `scope`. */
  async function mayManageGrant(caller: Caller, role: string | undefined, actions: readonly string[], scope: ResourcePath, verb: string, signal?: AbortSignal): Promise<void> {
    const what = role !== undefined ? `role ${role}` : `actions [${actions.join(', ')}]`;
    await requireAll(caller, ['users:manage_roles'], scope, `${verb} ${what}`, signal);
    if (role !== undefined && OWNER_ROLES.has(role) && !(await isOwner(caller, scope.org, signal))) {
      throw new PermissionDeniedError(`only an owner of org:${scope.org} may ${verb} the role ${role}; an admin manages the other roles`);
    }
    await requireAll(caller, actions, scope, `${verb} ${what} (no escalation: it would pass on actions the caller does not hold)`, signal);
  }

  /** Refuses a grant the target's membership ceiling would make useless (a viewer gets nothing that writes). */
  async function withinCeiling(subject: string, actions: readonly string[], scope: ResourcePath, role: string | undefined, signal?: AbortSignal): Promise<void> {
    const orgPath = parseResource(`org:${scope.org}`);
    const view = await viewFor(subject, orgPath, signal);
    const at = now();
    const memberships = view
      .subjectsOf(subject)
      .flatMap((s) => view.bindingsAt(s, orgPath.path))
      .filter((b) => b.effect === 'allow' && b.role !== undefined && (b.expiresAt === undefined || b.expiresAt.getTime() > at))
      .map((b) => view.role(scope.org, b.role!))
      .filter((r) => r !== undefined && r.membership);
    if (memberships.length === 0 || memberships.some((r) => r!.ceilingMatcher === undefined)) return;
    const outside = actions.filter((action) => !memberships.some((r) => r!.ceilingMatcher!.matches(action)));
    if (outside.length > 0) {
      throw new FailedPreconditionError(
        `${subject} is capped by its membership (${memberships.map((r) => r!.name).join(', ')}): ${role !== undefined ? `role ${role}` : 'the grant'} carries ${outside.slice(0, 6).join(', ')}${outside.length > 6 ? ', …' : ''}, which it can never be allowed`,
      );
    }
  }

  return { requireAll, isOwner, actionsOf, mayManageGrant, withinCeiling, expand: expandPatterns };
}

export type AdminRules = ReturnType<typeof createAdminRules>;
