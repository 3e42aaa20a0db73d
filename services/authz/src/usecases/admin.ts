/**
 * The admin use cases. Each validates its input into a plan (admin-plans.ts: the typed change
 * set and the gate), passes the gate (admin-rules.ts), and writes through the governed write
 * (governed-write.ts), which judges the change by its effect under the writers' lock. No SQL
 * here: reads go through GrantQueries and grant views, writes through GrantWriter and ApiKeyStore.
 * PreviewChange runs the same plan and judgement and writes nothing.
 */
import { NotFoundError, PermissionDeniedError } from '@warden/errors';
import { parseResource, parseSubject } from '@warden/names';
import { isApiKeyId } from '../domain/api-key-format.js';
import { isPlatformAdmin, type Caller } from '../domain/caller.js';
import type { Catalogue } from '../domain/catalogue.js';
import type { Binding } from '../domain/model.js';
import { grantKey } from '../domain/world.js';
import type { ApiKeyStore, GrantQueries, GrantSource, GrantWriter, WriteResult } from '../ports.js';
import {
  bindingId,
  orgPath,
  planCreateOrganization,
  planDeleteRole,
  planGrant,
  planMember,
  planPutResource,
  planPutRole,
  planRevoke,
  reasonOf,
  type GrantInput,
  type Plan,
  type RoleInput,
  type Settings,
} from './admin-plans.js';
import { createAdminRules } from './admin-rules.js';
import { NO_OPTIONS, type CallOptions } from './call.js';
import { createGovernedWrite, type Preview } from './governed-write.js';
import { createWorldApply } from './world-apply.js';

export type { GrantInput, RoleInput, Settings } from './admin-plans.js';

export interface AdminDeps {
  readonly source: GrantSource;
  readonly queries: GrantQueries;
  readonly writer: GrantWriter;
  readonly keys: ApiKeyStore;
  /** Subjects the operator made platform administrators (AUTHZ_PLATFORM_ADMINS). */
  readonly platformAdmins: ReadonlySet<string>;
  /** Told of every committed write (the replica's cache applies it at once). */
  readonly onWrite?: ((result: WriteResult) => void) | undefined;
  readonly now?: () => number;
}

export interface BindingListing {
  readonly binding: Binding;
  readonly grantedBy: string | undefined;
  readonly reason: string | undefined;
  readonly createdAt: Date;
}

type Write = Pick<WriteResult, 'revision'> & { readonly changes: number };

/** A change to preview: the same inputs as the calls that make it. */
export type ChangeInput =
  | { readonly kind: 'grant'; readonly input: GrantInput }
  | { readonly kind: 'revoke'; readonly input: { bindingId: string } }
  | { readonly kind: 'add_member' | 'remove_member'; readonly input: { org: string; group: string; member: string } }
  | { readonly kind: 'put_role'; readonly input: RoleInput }
  | { readonly kind: 'delete_role'; readonly input: { org: string; name: string } }
  | { readonly kind: 'put_resource'; readonly input: { path: string; settings?: Settings | undefined } }
  | { readonly kind: 'create_api_key'; readonly input: { org: string; subject: string } };

export function createAdmin(deps: AdminDeps) {
  const now = deps.now ?? Date.now;
  const platform = (caller: Caller) => isPlatformAdmin(caller, deps.platformAdmins);
  const rules = createAdminRules({ source: deps.source, now, isPlatformAdmin: platform });
  const governed = createGovernedWrite({ writer: deps.writer, queries: deps.queries, now, isPlatformAdmin: platform });

  function written(result: WriteResult): Write {
    if (result.changes.length > 0) deps.onWrite?.(result);
    return { revision: result.revision, changes: result.changes.length };
  }

  async function catalogueOf(org: string, signal?: AbortSignal): Promise<Catalogue> {
    const view = await deps.source.view([{ subject: 'service:warden', resource: orgPath(org) }], signal);
    return view.catalogue(org);
  }

  /** The catalogue actions a grant of a role (or of actions) carries in the organization. */
  async function carriedBy(org: string, role: string | undefined, actions: readonly string[] | undefined, signal?: AbortSignal): Promise<string[]> {
    const view = await deps.source.view([{ subject: 'service:warden', resource: orgPath(org) }], signal);
    const patterns = role === undefined ? (actions ?? []) : (view.role(org, role)?.actions ?? []);
    return view.catalogue(org).expand(patterns);
  }

  async function gate(caller: Caller, plan: Plan, signal?: AbortSignal): Promise<void> {
    await rules.requireAll(caller, plan.gate.actions, plan.gate.resource, plan.gate.what, signal);
  }

  async function run(caller: Caller, plan: Plan, reason: string | undefined, signal?: AbortSignal): Promise<WriteResult> {
    await gate(caller, plan, signal);
    return governed.apply(caller, plan.org, plan.changes, { actor: caller.subject, reason: reasonOf(reason) }, plan.check);
  }

  async function storedBinding(id: string, signal?: AbortSignal) {
    const stored = await deps.queries.binding(bindingId(id), signal);
    if (stored === undefined) throw new NotFoundError(`binding ${id} does not exist`);
    return stored;
  }

  async function planOf(input: ChangeInput, signal?: AbortSignal): Promise<Plan> {
    switch (input.kind) {
      case 'grant':
        return planGrant(input.input, await catalogueOf(parseOrg(input.input.scope), signal), now());
      case 'revoke':
        return planRevoke(await storedBinding(input.input.bindingId, signal));
      case 'add_member':
        return planMember('member.add', input.input);
      case 'remove_member':
        return planMember('member.remove', input.input);
      case 'put_role':
        return planPutRole(input.input, await catalogueOf(orgPath(input.input.org).org, signal));
      case 'delete_role':
        return planDeleteRole(input.input);
      case 'put_resource': {
        const path = parsePath(input.input.path);
        return planPutResource(input.input, await deps.queries.existingResources([path.chain.at(-2) ?? path.path, path.path], signal));
      }
      case 'create_api_key':
        return { org: orgPath(input.input.org).org, changes: [], gate: { actions: ['keys:manage'], resource: orgPath(input.input.org), what: `create API keys in org:${input.input.org}` } };
    }
  }

  const worlds = createWorldApply({ queries: deps.queries, writer: deps.writer, governed, isPlatformAdmin: platform, onWrite: written });

  return {
    async createOrganization(caller: Caller, input: { orgId: string; owner: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      if (!platform(caller)) throw new PermissionDeniedError(`${caller.subject} may not create organizations (only platform administrators may, signed in with a token or an operator-issued key)`);
      const plan = planCreateOrganization(input, await deps.queries.orgExists(orgPath(input.orgId, 'org_id').org, options.signal));
      return written(await governed.apply(caller, plan.org, plan.changes, { actor: caller.subject, reason: reasonOf(input.reason) }));
    },

    async putResource(caller: Caller, input: { path: string; settings?: Settings | undefined; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      return written(await run(caller, await planOf({ kind: 'put_resource', input }, options.signal), input.reason, options.signal));
    },

    async putRole(caller: Caller, input: RoleInput, options: CallOptions = NO_OPTIONS): Promise<Write> {
      return written(await run(caller, await planOf({ kind: 'put_role', input }, options.signal), input.reason, options.signal));
    },

    async deleteRole(caller: Caller, input: { org: string; name: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      return written(await run(caller, planDeleteRole(input), input.reason, options.signal));
    },

    async grantBinding(caller: Caller, input: GrantInput, options: CallOptions = NO_OPTIONS): Promise<Write & { binding: Binding; created: boolean }> {
      const plan = planGrant(input, await catalogueOf(parseOrg(input.scope), options.signal), now());
      await gate(caller, plan, options.signal);
      if (plan.binding.effect === 'allow') {
        const carried = await carriedBy(plan.org, plan.binding.role, plan.binding.actions, options.signal);
        await rules.withinCeiling(input.subject, carried, orgPath(plan.org), plan.binding.role, options.signal);
      }
      const result = await governed.apply(caller, plan.org, plan.changes, { actor: caller.subject, reason: reasonOf(input.reason) }, plan.check);
      const stored = await deps.queries.bindingByGrant({ subject: input.subject, scope: plan.binding.scope, effect: plan.binding.effect, grantKey: grantKey(plan.binding) }, options.signal);
      if (stored === undefined) throw new NotFoundError(`the binding of ${input.subject} on ${plan.binding.scope} was revoked while it was being granted`);
      return { ...written(result), binding: stored.binding, created: result.changes.some((c) => c.kind === 'binding.created') };
    },

    async revokeBinding(caller: Caller, input: { bindingId: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      return written(await run(caller, planRevoke(await storedBinding(input.bindingId, options.signal)), input.reason, options.signal));
    },

    async listBindings(
      caller: Caller,
      input: { scope: string; subject?: string | undefined; after?: string | undefined; limit: number },
      options: CallOptions = NO_OPTIONS,
    ): Promise<{ bindings: BindingListing[]; revision: number; last: string | undefined }> {
      const scope = parsePath(input.scope, 'scope');
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
      return written(await run(caller, planMember('member.add', input), input.reason, options.signal));
    },

    async removeGroupMember(caller: Caller, input: { org: string; group: string; member: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      return written(await run(caller, planMember('member.remove', input), input.reason, options.signal));
    },

    async createApiKey(
      caller: Caller,
      input: { org: string; subject: string; description?: string | undefined; expiresAt?: Date | undefined; reason?: string | undefined },
      options: CallOptions = NO_OPTIONS,
    ) {
      const plan = await planOf({ kind: 'create_api_key', input }, options.signal);
      await gate(caller, plan, options.signal);
      const subject = parseSubject(input.subject, 'subject');
      if (subject.type === 'service') {
        const judged = await governed.judgeCredential(caller, plan.org, input.subject);
        const refusal = governed.refusalOf(judged);
        if (refusal !== undefined) throw refusal;
      }
      const created = await deps.keys.create(
        { org: plan.org, subject: input.subject, description: input.description, expiresAt: input.expiresAt },
        { actor: caller.subject, reason: reasonOf(input.reason) },
      );
      written(created);
      return created;
    },

    async revokeApiKey(caller: Caller, input: { keyId: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<Write> {
      const record = isApiKeyId(input.keyId) ? await deps.keys.get(input.keyId, options.signal) : undefined;
      if (record === undefined) throw new NotFoundError(`API key ${input.keyId} does not exist`);
      await rules.requireAll(caller, ['keys:manage'], orgPath(record.org), `revoke API keys in org:${record.org}`, options.signal);
      return written(await deps.keys.revoke(input.keyId, { actor: caller.subject, reason: reasonOf(input.reason) }));
    },

    /** The effect of a change and whether the caller may make it; writes nothing. */
    async previewChange(caller: Caller, change: ChangeInput, options: CallOptions = NO_OPTIONS): Promise<Preview> {
      const plan = await planOf(change, options.signal);
      await gate(caller, plan, options.signal);
      if (change.kind === 'create_api_key') {
        const judged = await governed.judgeCredential(caller, plan.org, change.input.subject);
        return { effect: judged.effect, loosened: [], allowed: judged.verdict.ok, refusal: judged.verdict.ok ? undefined : judged.verdict.problem, brokenInvariant: undefined, revision: await deps.queries.revision(options.signal) };
      }
      return governed.preview(caller, plan.org, plan.changes);
    },

    applyWorld: worlds.applyWorld,
  };
}

export type Admin = ReturnType<typeof createAdmin>;

function parsePath(value: string, field = 'path') {
  return parseResource(value, field);
}

function parseOrg(scope: string): string {
  return parseResource(scope, 'scope').org;
}
