/**
 * The admin use cases: every call authorized by Check on the caller, every change
 * one transaction with its changelog rows and outbox events (pg-writer.ts).
 *
 * Invariants (docs/admin.md):
 *  - no escalation: granting, denying or revoking a role (or actions) at a scope needs
 *    every action it carries, held by the caller at that scope;
 *  - only an owner grants or revokes `owner` and `admin`; an admin manages the other roles;
 *  - the last owner of an organization cannot be removed (checked inside the write,
 *    under the revision lock, so two concurrent removals cannot both pass);
 *  - a subject whose membership caps it (a viewer) is granted nothing outside its ceiling.
 */
import type pg from 'pg';
import type { PgApiKeyStore } from '../auth/api-keys.js';
import type { Caller } from '../auth/caller.js';
import { ACTION_CATALOGUE, COMPILED_SYSTEM_ROLES, isSystemRole } from '../domain/catalogue.js';
import { validateCondition } from '../domain/conditions.js';
import { decide, type GrantView } from '../domain/engine.js';
import {
  ConflictError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
} from '@warden/errors';
import type { Binding, Effect } from '../domain/model.js';
import { parseAction, parseActionPattern, parseResource, parseRoleName, parseSubject, type Action, type ResourcePath } from '@warden/names';
import type { GrantSource } from '../ports.js';
import { grantKey, parseWorld, type World } from '../domain/world.js';
import { bindingFromRow } from '../adapters/postgres/pg-grant-store.js';
import { applyWorld, withWrite, type WriteResult } from '../adapters/postgres/pg-writer.js';

export interface AdminDeps {
  readonly pool: pg.Pool;
  readonly source: GrantSource;
  readonly keys: PgApiKeyStore;
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

const OWNER_ROLES = new Set(['owner', 'admin']);
const PLURAL: Readonly<Record<string, string>> = { project: 'projects', env: 'environments', flag: 'flags', variable: 'variables', secret: 'secrets' };
const MAX_REASON = 1000;


function reasonOf(reason: string | undefined): string | undefined {
  if (reason === undefined || reason === '') return undefined;
  if (reason.length > MAX_REASON) throw new InvalidArgumentError('reason', `is ${reason.length} characters long; at most ${MAX_REASON} are allowed`);
  return reason;
}

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

export function createAdmin(deps: AdminDeps) {
  const now = deps.now ?? Date.now;

  function written(result: WriteResult): Write {
    if (result.changes.length > 0) deps.onWrite?.(result);
    return { revision: result.revision, changes: result.changes.length };
  }

  async function viewFor(subject: string, resource: ResourcePath): Promise<GrantView> {
    return deps.source.view([{ subject, resource }]);
  }

  function inOrg(caller: Caller, resource: ResourcePath, field: string): void {
    if (caller.kind === 'api_key' && caller.org !== resource.org) {
      throw new PermissionDeniedError(`${field}: the API key of ${caller.subject} acts only within org:${caller.org}`);
    }
  }

  /** Throws PERMISSION_DENIED unless the caller is allowed every action on the resource; names the missing ones. */
  async function requireAll(caller: Caller, actions: readonly string[], resource: ResourcePath, what: string): Promise<void> {
    inOrg(caller, resource, 'scope');
    // Sidecar trust is for asking questions, never for changing the graph.
    if (caller.kind === 'trusted_local') throw new PermissionDeniedError('a trusted local caller may check and look up, not administer: authenticate with a key or token');
    const view = await viewFor(caller.subject, resource);
    const at = now();
    const missing = actions.filter((action) => decide(view, { subject: caller.subject, action: actionToDecide(action), resource }, at).decision !== 'ALLOW');
    if (missing.length > 0) {
      const shown = missing.slice(0, 8).join(', ') + (missing.length > 8 ? `, … (${missing.length} in all)` : '');
      throw new PermissionDeniedError(`${caller.subject} may not ${what}: it lacks ${shown} on ${resource.path}`);
    }
  }

  async function isOwner(caller: Caller, org: string): Promise<boolean> {
    if (caller.kind === 'trusted_local') return false;
    const orgPath = parseResource(`org:${org}`);
    const view = await viewFor(caller.subject, orgPath);
    const at = now();
    return view.subjectsOf(caller.subject).some((subject) =>
      view.bindingsAt(subject, orgPath.path).some((b) => b.effect === 'allow' && b.role === 'owner' && b.condition === undefined && (b.expiresAt === undefined || b.expiresAt.getTime() > at)),
    );
  }

  /** The actions a grant carries: its role's (system or custom) or its own. */
  async function actionsOf(org: string, role: string | undefined, actions: readonly string[] | undefined): Promise<string[]> {
    if (role === undefined) return expandPatterns(actions ?? []);
    const system = COMPILED_SYSTEM_ROLES.get(role);
    if (system !== undefined) return expandPatterns(system.actions);
    const { rows } = await deps.pool.query<{ actions: string[] }>('SELECT actions FROM roles WHERE org = $1 AND name = $2', [org, role]);
    if (rows[0] === undefined) throw new InvalidArgumentError('role', `role ${role} is not defined in organization ${org}`);
    return expandPatterns(rows[0].actions);
  }

  /** Permission to manage a grant (grant, deny or revoke) of `role`/`actions` at `scope`. */
  async function mayManageGrant(caller: Caller, role: string | undefined, actions: readonly string[], scope: ResourcePath, verb: string): Promise<void> {
    const what = role !== undefined ? `role ${role}` : `actions [${actions.join(', ')}]`;
    await requireAll(caller, ['users:manage_roles'], scope, `${verb} ${what}`);
    if (role !== undefined && OWNER_ROLES.has(role) && !(await isOwner(caller, scope.org))) {
      throw new PermissionDeniedError(`only an owner of org:${scope.org} may ${verb} the role ${role}; an admin manages the other roles`);
    }
    await requireAll(caller, actions, scope, `${verb} ${what} (no escalation: it would pass on actions the caller does not hold)`);
  }

  /** Refuses a grant the target's membership ceiling would make useless (a viewer gets nothing that writes). */
  async function withinCeiling(subject: string, actions: readonly string[], scope: ResourcePath, role: string | undefined): Promise<void> {
    const orgPath = parseResource(`org:${scope.org}`);
    const view = await viewFor(subject, orgPath);
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

  async function applyAs(caller: Caller, world: World, reason: string | undefined): Promise<WriteResult> {
    return applyWorld(deps.pool, world, { actor: caller.subject, reason });
  }

  return {
    async createOrganization(caller: Caller, input: { orgId: string; owner: string; reason?: string | undefined }): Promise<Write> {
      if (caller.kind === 'trusted_local' || !deps.platformAdmins.has(caller.subject)) {
        throw new PermissionDeniedError(`${caller.subject} may not create organizations (only platform administrators may)`);
      }
      const org = parseResource(`org:${input.orgId}`, 'org_id');
      parseSubject(input.owner, 'owner');
      const { rowCount } = await deps.pool.query('SELECT 1 FROM resources WHERE path = $1', [org.path]);
      if (rowCount !== 0) throw new ConflictError(`${org.path} already exists`);
      const world = parseWorld({ orgs: [{ id: input.orgId, bindings: [{ subject: input.owner, role: 'owner' }] }] });
      return written(await applyAs(caller, world, reasonOf(input.reason)));
    },

    async putResource(caller: Caller, input: { path: string; settings?: Settings | undefined; reason?: string | undefined }): Promise<Write> {
      const resource = parseResource(input.path, 'path');
      if (resource.segments.length === 1) throw new InvalidArgumentError('path', 'organizations are created with CreateOrganization');
      const type = resource.segments.at(-1)!.type;
      const parent = resource.chain.at(-2)!;
      const { rows } = await deps.pool.query<{ path: string }>('SELECT path FROM resources WHERE path = ANY($1::text[])', [[parent, resource.path]]);
      const exists = rows.some((r) => r.path === resource.path);
      if (!rows.some((r) => r.path === parent)) throw new FailedPreconditionError(`${parent} does not exist; create it first`);
      const plural = PLURAL[type] ?? `${type}s`;
      const action = type === 'project' && !exists ? 'projects:create' : `${plural}:manage`;
      await requireAll(caller, [action], parseResource(exists ? resource.path : parent), `${exists ? 'change' : 'create'} ${resource.path}`);
      const settings = input.settings ?? {};
      const file = {
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
      };
      const world = parseWorld(file);
      // Only this resource: parseWorld adds the organization's own row, which must stay as it is.
      return written(await applyAs(caller, { ...world, resources: world.resources.filter((r) => r.path === resource.path) }, reasonOf(input.reason)));
    },

    async putRole(caller: Caller, input: { org: string; name: string; description?: string | undefined; actions: readonly string[]; membership?: boolean | undefined; ceiling?: readonly string[] | undefined; reason?: string | undefined }): Promise<Write> {
      const org = parseResource(`org:${input.org}`, 'org');
      const name = parseRoleName(input.name, 'name');
      if (isSystemRole(name)) throw new InvalidArgumentError('name', `${name} is a system role and cannot be redefined`);
      if (input.actions.length === 0) throw new InvalidArgumentError('actions', 'a role needs at least one action');
      const actions = input.actions.map((a, i) => parseActionPattern(a, `actions[${i}]`));
      await requireAll(caller, ['roles:manage'], org, `define role ${name}`);
      await requireAll(caller, expandPatterns(actions), org, `define role ${name} (no escalation)`);
      const world = parseWorld({
        orgs: [{ id: input.org, roles: [{ name, actions, membership: input.membership ?? false, ...(input.description ? { description: input.description } : {}), ...(input.ceiling?.length ? { ceiling: [...input.ceiling] } : {}) }] }],
      });
      return written(await applyAs(caller, { ...world, resources: [] }, reasonOf(input.reason)));
    },

    async deleteRole(caller: Caller, input: { org: string; name: string; reason?: string | undefined }): Promise<Write> {
      const org = parseResource(`org:${input.org}`, 'org');
      const name = parseRoleName(input.name, 'name');
      if (isSystemRole(name)) throw new InvalidArgumentError('name', `${name} is a system role and cannot be deleted`);
      await requireAll(caller, ['roles:manage'], org, `delete role ${name}`);
      return written(
        await withWrite(deps.pool, { actor: caller.subject, reason: reasonOf(input.reason) }, async ({ client, record }) => {
          const { rows: used } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM bindings WHERE org = $1 AND role = $2', [input.org, name]);
          if (used[0]!.n > 0) throw new FailedPreconditionError(`role ${name} is used by ${used[0]!.n} bindings; revoke them first`);
          const { rows } = await client.query(`DELETE FROM roles WHERE org = $1 AND name = $2 RETURNING to_jsonb(roles) - 'revision' AS row`, [input.org, name]);
          if (rows.length === 0) throw new NotFoundError(`role ${name} does not exist in org:${input.org}`);
          record({ kind: 'role.deleted', key: `${input.org}/${name}`, resource: `org:${input.org}`, before: rows[0].row, after: null });
        }),
      );
    },

    async grantBinding(caller: Caller, input: GrantInput): Promise<Write & { binding: Binding; created: boolean }> {
      parseSubject(input.subject, 'subject');
      const scope = parseResource(input.scope, 'scope');
      if ((input.role === undefined || input.role === '') === (input.actions === undefined || input.actions.length === 0)) {
        throw new InvalidArgumentError('role', 'set exactly one of role and actions');
      }
      const role = input.role === undefined || input.role === '' ? undefined : parseRoleName(input.role, 'role');
      const patterns = input.actions?.map((a, i) => parseActionPattern(a, `actions[${i}]`));
      const effect = input.effect ?? 'allow';
      if (input.expiresAt !== undefined && input.expiresAt.getTime() <= now()) throw new InvalidArgumentError('expires_at', 'must be in the future');
      if (input.condition !== undefined && input.condition !== '') validateCondition(input.condition, 'condition');
      const carried = await actionsOf(scope.org, role, patterns);
      await mayManageGrant(caller, role, carried, scope, effect === 'deny' ? 'deny' : 'grant');
      if (effect === 'allow') await withinCeiling(input.subject, carried, scope, role);
      const world = parseWorld({
        orgs: [{
          id: scope.org,
          bindings: [{
            subject: input.subject,
            ...(role !== undefined ? { role } : { actions: patterns }),
            scope: scope.path,
            effect,
            ...(input.expiresAt !== undefined ? { expires_at: input.expiresAt } : {}),
            ...(input.condition ? { condition: input.condition } : {}),
            ...(input.reason ? { reason: reasonOf(input.reason) } : {}),
          }],
        }],
      }, { knownRoles: role !== undefined ? [role] : [] });
      const result = await applyAs(caller, { ...world, resources: [] }, reasonOf(input.reason));
      const key = grantKey({ role, actions: patterns });
      const { rows } = await deps.pool.query('SELECT * FROM bindings WHERE subject = $1 AND scope = $2 AND effect = $3 AND grant_key = $4', [input.subject, scope.path, effect, key]);
      return { ...written(result), binding: bindingFromRow(rows[0]), created: result.changes.some((c) => c.kind === 'binding.created') };
    },

    async revokeBinding(caller: Caller, input: { bindingId: string; reason?: string | undefined }): Promise<Write> {
      if (!/^[0-9a-f-]{36}$/i.test(input.bindingId)) throw new InvalidArgumentError('binding_id', 'is not a binding id');
      const { rows } = await deps.pool.query('SELECT * FROM bindings WHERE id = $1', [input.bindingId]);
      if (rows[0] === undefined) throw new NotFoundError(`binding ${input.bindingId} does not exist`);
      const binding = bindingFromRow(rows[0]);
      const scope = parseResource(binding.scope);
      const carried = await actionsOf(scope.org, binding.role, binding.actions);
      await mayManageGrant(caller, binding.role, carried, scope, 'revoke');
      return written(
        await withWrite(deps.pool, { actor: caller.subject, reason: reasonOf(input.reason) }, async ({ client, record }) => {
          const { rows: current } = await client.query(`SELECT to_jsonb(b) - 'revision' - 'created_at' - 'grant_key' AS row, b.* FROM bindings b WHERE id = $1 FOR UPDATE`, [input.bindingId]);
          if (current[0] === undefined) return; // revoked meanwhile: nothing to do
          if (binding.role === 'owner' && binding.effect === 'allow' && binding.scope === `org:${scope.org}`) {
            const { rows: owners } = await client.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM bindings
               WHERE org = $1 AND scope = $2 AND role = 'owner' AND effect = 'allow' AND id <> $3
                 AND condition IS NULL AND (expires_at IS NULL OR expires_at > now())`,
              [scope.org, `org:${scope.org}`, input.bindingId],
            );
            if (owners[0]!.n === 0) throw new FailedPreconditionError(`${binding.subject} is the last owner of org:${scope.org}; make another owner first`);
          }
          await client.query('DELETE FROM bindings WHERE id = $1', [input.bindingId]);
          record({ kind: 'binding.deleted', key: input.bindingId, resource: binding.scope, before: current[0].row, after: null });
        }),
      );
    },

    async listBindings(caller: Caller, input: { scope: string; subject?: string | undefined; after?: string | undefined; limit: number }): Promise<{ bindings: BindingListing[]; revision: number; last: string | undefined }> {
      const scope = parseResource(input.scope, 'scope');
      if (input.subject !== undefined) parseSubject(input.subject, 'subject');
      await requireAll(caller, ['users:read'], scope, `list the bindings of ${scope.path}`);
      const { rows } = await deps.pool.query(
        `SELECT b.*, (SELECT revision FROM warden_revision) AS current_revision FROM bindings b
         WHERE (b.scope = $1 OR (b.scope COLLATE "C" >= $1 || '/' AND b.scope COLLATE "C" < $1 || '0'))
           AND ($2::text IS NULL OR b.subject = $2)
           AND ($3::text IS NULL OR (b.scope || ' ' || b.id::text) COLLATE "C" > $3)
         ORDER BY (b.scope || ' ' || b.id::text) COLLATE "C" LIMIT $4`,
        [scope.path, input.subject ?? null, input.after ?? null, input.limit],
      );
      const last = rows.length === input.limit ? `${rows.at(-1).scope} ${rows.at(-1).id}` : undefined;
      const revision = rows[0] ? Number(rows[0].current_revision) : Number((await deps.pool.query('SELECT revision FROM warden_revision')).rows[0].revision);
      return {
        bindings: rows.map((row) => ({ binding: bindingFromRow(row), grantedBy: row.granted_by ?? undefined, reason: row.reason ?? undefined, createdAt: row.created_at })),
        revision,
        last,
      };
    },

    async addGroupMember(caller: Caller, input: { org: string; group: string; member: string; reason?: string | undefined }): Promise<Write> {
      const org = parseResource(`org:${input.org}`, 'org');
      const group = parseSubject(input.group, 'group');
      if (group.type !== 'group') throw new InvalidArgumentError('group', 'must be a group subject (group:<id>)');
      parseSubject(input.member, 'member');
      await requireAll(caller, ['groups:manage'], org, `change the members of ${input.group}`);
      const world: World = { resources: [], roles: [], bindings: [], memberships: [{ org: input.org, group: input.group, member: input.member }] };
      return written(await applyAs(caller, world, reasonOf(input.reason)));
    },

    async removeGroupMember(caller: Caller, input: { org: string; group: string; member: string; reason?: string | undefined }): Promise<Write> {
      const org = parseResource(`org:${input.org}`, 'org');
      parseSubject(input.group, 'group');
      parseSubject(input.member, 'member');
      await requireAll(caller, ['groups:manage'], org, `change the members of ${input.group}`);
      return written(
        await withWrite(deps.pool, { actor: caller.subject, reason: reasonOf(input.reason) }, async ({ client, record }) => {
          const { rows } = await client.query('DELETE FROM group_members WHERE org = $1 AND group_subject = $2 AND member = $3 RETURNING 1', [input.org, input.group, input.member]);
          if (rows.length > 0) record({ kind: 'group_member.removed', key: `${input.group}<-${input.member}`, resource: org.path, before: { group: input.group, member: input.member }, after: null });
        }),
      );
    },

    async createApiKey(caller: Caller, input: { org: string; subject: string; description?: string | undefined; expiresAt?: Date | undefined; reason?: string | undefined }) {
      const org = parseResource(`org:${input.org}`, 'org');
      await requireAll(caller, ['keys:manage'], org, `create API keys in ${org.path}`);
      const created = await deps.keys.create({ org: input.org, subject: input.subject, description: input.description, expiresAt: input.expiresAt }, { actor: caller.subject, reason: reasonOf(input.reason) });
      written(created);
      return created;
    },

    async revokeApiKey(caller: Caller, input: { keyId: string; reason?: string | undefined }): Promise<Write> {
      const record = /^[a-z2-7]{12}$/.test(input.keyId) ? await deps.keys.get(input.keyId) : undefined;
      if (record === undefined) throw new NotFoundError(`API key ${input.keyId} does not exist`);
      await requireAll(caller, ['keys:manage'], parseResource(`org:${record.org}`), `revoke API keys in org:${record.org}`);
      return written(await deps.keys.revoke(input.keyId, { actor: caller.subject, reason: reasonOf(input.reason) }));
    },
  };
}

export type Admin = ReturnType<typeof createAdmin>;
