/** AdminService over gRPC: transport only; usecases/admin.ts decides and writes. */
import { Effect, type BindingRef } from '@warden/proto/authz/v1';
import type { AdminServiceImplementation, ResourceSettings } from '@warden/proto/authz/v1/admin';
import type { Admin, Settings } from '../../usecases/admin.js';
import { InvalidArgumentError } from '@warden/errors';
import { decodePageToken, encodePageToken } from '@warden/service-kit';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../usecases/lookups.js';
import type { CallerContext } from './auth.js';
import { bindingToProto } from './convert.js';

function settingsFromProto(settings: ResourceSettings | undefined): Settings | undefined {
  if (settings === undefined) return undefined;
  return {
    protected: settings.protected,
    sensitive_actions: settings.sensitiveActions,
    protected_roles: settings.protectedRoles,
    require_approval: settings.requireApproval,
    approval_actions: settings.approvalActions,
    show_values_to_readers: settings.showValuesToReaders,
    attributes: settings.attributes,
  };
}

function effectFromProto(effect: Effect): 'allow' | 'deny' {
  switch (effect) {
    case Effect.EFFECT_UNSPECIFIED:
    case Effect.EFFECT_ALLOW:
      return 'allow';
    case Effect.EFFECT_DENY:
      return 'deny';
    default:
      throw new InvalidArgumentError('effect', `${String(effect)} is not an effect`);
  }
}

const optional = (value: string): string | undefined => (value === '' ? undefined : value);

/** A listBindings position: `<scope> <binding id>` (the store's keyset order). */
const isListPosition = (value: unknown): value is string => typeof value === 'string' && /^\S+ [0-9a-f-]{36}$/.test(value);

export function createAdminServiceImpl(admin: Admin): AdminServiceImplementation<CallerContext> {
  return {
    async createOrganization(request, { caller, signal }) {
      return admin.createOrganization(caller, { orgId: request.orgId, owner: request.owner, reason: optional(request.reason) }, { signal });
    },
    async putResource(request, { caller, signal }) {
      return admin.putResource(caller, { path: request.path, settings: settingsFromProto(request.settings), reason: optional(request.reason) }, { signal });
    },
    async putRole(request, { caller, signal }) {
      return admin.putRole(caller, {
        org: request.org, name: request.name, description: optional(request.description), actions: request.actions,
        membership: request.membership, ceiling: request.ceiling, reason: optional(request.reason),
      }, { signal });
    },
    async deleteRole(request, { caller, signal }) {
      return admin.deleteRole(caller, { org: request.org, name: request.name, reason: optional(request.reason) }, { signal });
    },
    async grantBinding(request, { caller, signal }) {
      const result = await admin.grantBinding(caller, {
        subject: request.subject,
        role: optional(request.role),
        actions: request.actions.length > 0 ? request.actions : undefined,
        scope: request.scope,
        effect: effectFromProto(request.effect),
        expiresAt: request.expiresAt,
        condition: optional(request.condition),
        reason: optional(request.reason),
      }, { signal });
      return { binding: bindingToProto(result.binding), revision: result.revision, created: result.created };
    },
    async revokeBinding(request, { caller, signal }) {
      return admin.revokeBinding(caller, { bindingId: request.bindingId, reason: optional(request.reason) }, { signal });
    },
    async listBindings(request, { caller, signal }) {
      const limit = Math.min(request.page?.limit || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const query = ['bindings', request.scope, request.subject];
      const after = decodePageToken(request.page?.token, query, 'page.token', isListPosition);
      const result = await admin.listBindings(caller, { scope: request.scope, subject: optional(request.subject), after, limit }, { signal });
      return {
        bindings: result.bindings.map((b) => ({ binding: bindingToProto(b.binding) as BindingRef, grantedBy: b.grantedBy ?? '', reason: b.reason ?? '', createdAt: b.createdAt })),
        nextPageToken: result.last === undefined ? '' : encodePageToken(result.last, query),
        revision: result.revision,
      };
    },
    async addGroupMember(request, { caller, signal }) {
      return admin.addGroupMember(caller, { org: request.org, group: request.group, member: request.member, reason: optional(request.reason) }, { signal });
    },
    async removeGroupMember(request, { caller, signal }) {
      return admin.removeGroupMember(caller, { org: request.org, group: request.group, member: request.member, reason: optional(request.reason) }, { signal });
    },
    async createApiKey(request, { caller, signal }) {
      const created = await admin.createApiKey(caller, { org: request.org, subject: request.subject, description: optional(request.description), expiresAt: request.expiresAt, reason: optional(request.reason) }, { signal });
      return { keyId: created.record.id, key: created.key, revision: created.revision };
    },
    async revokeApiKey(request, { caller, signal }) {
      return admin.revokeApiKey(caller, { keyId: request.keyId, reason: optional(request.reason) }, { signal });
    },
  };
}
