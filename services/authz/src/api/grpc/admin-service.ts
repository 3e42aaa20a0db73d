/** AdminService over gRPC: transport only; usecases/admin.ts decides and writes. */
import { Effect, type BindingRef } from '@warden/proto/authz/v1';
import type {
  AdminServiceImplementation,
  ChangeEffect as PbChangeEffect,
  GrantBindingRequest,
  PreviewChangeRequest,
  ResourceSettings,
} from '@warden/proto/authz/v1/admin';
import type { AccessChange } from '../../domain/effect.js';
import type { Admin, ChangeInput, GrantInput, Settings } from '../../usecases/admin.js';
import { listed } from '../../usecases/governed-write.js';
import type { Preview } from '../../usecases/governed-write.js';
import { InvalidArgumentError } from '@warden/errors';
import { decodePageToken, encodePageToken } from '@warden/service-kit';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../usecases/lookups.js';
import type { CallerContext } from './auth.js';
import { bindingToProto, decisionToProto, optional } from './convert.js';

function settingsFromProto(settings: ResourceSettings | undefined): Settings | undefined {
  if (settings === undefined) return undefined;
  return {
    protected: settings.protected,
    sensitive_actions: settings.sensitiveActions,
    protected_roles: settings.protectedRoles,
    require_approval: settings.requireApproval,
    approval_actions: settings.approvalActions,
    show_values_to_readers: settings.showValuesToReaders,
    visible_from_below: settings.visibleFromBelow,
    required_approvals: settings.requiredApprovals,
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


function grantFromProto(request: GrantBindingRequest): GrantInput {
  return {
    subject: request.subject,
    role: optional(request.role),
    actions: request.actions.length > 0 ? request.actions : undefined,
    scope: request.scope,
    effect: effectFromProto(request.effect),
    expiresAt: request.expiresAt,
    condition: optional(request.condition),
    reason: optional(request.reason),
  };
}

function changeFromProto(request: PreviewChangeRequest): ChangeInput {
  const change = request.change;
  switch (change?.$case) {
    case 'grant':
      return { kind: 'grant', input: grantFromProto(change.value) };
    case 'revoke':
      return { kind: 'revoke', input: { bindingId: change.value.bindingId } };
    case 'addMember':
      return { kind: 'add_member', input: change.value };
    case 'removeMember':
      return { kind: 'remove_member', input: change.value };
    case 'putRole':
      return { kind: 'put_role', input: { ...change.value, description: optional(change.value.description) } };
    case 'deleteRole':
      return { kind: 'delete_role', input: change.value };
    case 'putResource':
      return { kind: 'put_resource', input: { path: change.value.path, settings: settingsFromProto(change.value.settings) } };
    case 'createApiKey':
      return { kind: 'create_api_key', input: { org: change.value.org, subject: change.value.subject } };
    default:
      throw new InvalidArgumentError('change', 'is required: one of grant, revoke, add_member, remove_member, put_role, delete_role, put_resource, create_api_key');
  }
}

function accessToProto(change: AccessChange) {
  return { subject: change.subject, action: change.action, resource: change.resource, before: decisionToProto(change.before), after: decisionToProto(change.after) };
}

export function effectToProto(effect: Preview['effect'], loosened: Preview['loosened']): PbChangeEffect {
  const gains = listed(effect.gains);
  const losses = listed(effect.losses);
  return {
    gains: gains.map(accessToProto),
    losses: losses.map(accessToProto),
    loosened: loosened.map((l) => ({ resource: l.resource, how: [...l.how] })),
    truncated: gains.length < effect.gains.length || losses.length < effect.losses.length,
    gainsTotal: effect.gains.length,
    lossesTotal: effect.losses.length,
  };
}

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
      const result = await admin.grantBinding(caller, grantFromProto(request), { signal });
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
    async previewChange(request, { caller, signal }) {
      const preview = await admin.previewChange(caller, changeFromProto(request), { signal });
      return {
        effect: effectToProto(preview.effect, preview.loosened),
        allowed: preview.allowed,
        refusal: preview.refusal ?? '',
        brokenInvariant: preview.brokenInvariant ?? '',
        revision: preview.revision,
      };
    },
    async applyWorld(request, { caller, signal }) {
      const result = await admin.applyWorld(caller, { world: request.world, reason: optional(request.reason), apply: request.apply }, { signal });
      return {
        orgs: result.orgs.map((p) => ({
          org: p.org,
          create: p.create,
          effect: effectToProto(p.effect, []),
          drift: p.drift.map((d) => ({ ...d })),
          allowed: p.allowed,
          refusal: p.refusal ?? '',
          brokenInvariant: p.brokenInvariant ?? '',
          changes: p.changes,
        })),
        applied: result.applied,
        revision: result.revision,
      };
    },
  };
}
