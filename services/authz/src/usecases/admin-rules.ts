/**
 * The gate in front of every management call: may the caller attempt this kind of change at
 * all (`users:manage_roles` for bindings, `groups:manage` for members, `roles:manage` for roles,
 * `<type>:manage` for resource settings, `keys:manage` for keys)? It answers fast from the
 * grant cache and names what is missing. What the change does is judged afterwards, by its
 * effect, under the writers' lock (governed-write.ts).
 */
import { FailedPreconditionError, PermissionDeniedError } from '@warden/errors';
import { parseAction, parseResource, type ResourcePath } from '@warden/names';
import type { Caller } from '../domain/caller.js';
import { decide } from '../domain/engine.js';
import type { GrantSource } from '../ports.js';

export interface AdminRulesDeps {
  readonly source: GrantSource;
  readonly now: () => number;
  readonly isPlatformAdmin: (caller: Caller) => boolean;
}

export function createAdminRules(deps: AdminRulesDeps) {
  const { now } = deps;

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
    if (deps.isPlatformAdmin(caller)) return;
    const view = await deps.source.view([{ subject: caller.subject, resource }], signal);
    const at = now();
    const missing = actions.filter((action) => decide(view, { subject: caller.subject, action: parseAction(action), resource }, at).decision !== 'ALLOW');
    if (missing.length > 0) {
      const shown = missing.slice(0, 8).join(', ') + (missing.length > 8 ? `, … (${missing.length} in all)` : '');
      throw new PermissionDeniedError(`${caller.subject} may not ${what}: it lacks ${shown} on ${resource.path}`);
    }
  }

  /** Refuses a grant the target's membership ceiling would make useless (a viewer gets nothing that writes). */
  async function withinCeiling(subject: string, actions: readonly string[], scope: ResourcePath, role: string | undefined, signal?: AbortSignal): Promise<void> {
    const orgPath = parseResource(`org:${scope.org}`);
    const view = await deps.source.view([{ subject, resource: orgPath }], signal);
    const at = now();
    const capping = view
      .subjectsOf(subject, scope.org)
      .flatMap((s) => view.bindingsAt(s, orgPath.path))
      .filter((b) => b.effect === 'allow' && b.role !== undefined && (b.expiresAt === undefined || b.expiresAt.getTime() > at))
      .map((b) => view.role(scope.org, b.role!))
      .filter((r) => r !== undefined && r.membership && r.ceilingMatcher !== undefined);
    if (capping.length === 0) return;
    const outside = actions.filter((action) => capping.some((r) => !r!.ceilingMatcher!.matches(action)));
    if (outside.length > 0) {
      throw new FailedPreconditionError(
        `${subject} is capped by its membership (${capping.map((r) => r!.name).join(', ')}): ${role !== undefined ? `role ${role}` : 'the grant'} carries ${outside.slice(0, 6).join(', ')}${outside.length > 6 ? ', …' : ''}, which it can never be allowed`,
      );
    }
  }

  return { requireAll, withinCeiling };
}

export type AdminRules = ReturnType<typeof createAdminRules>;
