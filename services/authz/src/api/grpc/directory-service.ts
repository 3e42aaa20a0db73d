/** DirectoryService over gRPC (and Connect JSON): transport only; usecases/directory.ts authorizes and reads. */
import type { ResourceSettings } from '@warden/proto/authz/v1/admin';
import type { DirectoryServiceImplementation } from '@warden/proto/authz/v1/directory';
import { RESERVED_SETTINGS } from '../../domain/settings.js';
import type { Directory } from '../../usecases/directory.js';
import type { CallerContext } from './auth.js';
import { optional } from './convert.js';


const stringList = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const flag = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);

/** Stored attributes → the typed settings and the free attributes. */
export function settingsToProto(attributes: Readonly<Record<string, unknown>>): ResourceSettings {
  const free: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (!(RESERVED_SETTINGS as readonly string[]).includes(key)) free[key] = value;
  }
  return {
    protected: flag(attributes.protected),
    sensitiveActions: stringList(attributes.sensitive_actions),
    protectedRoles: stringList(attributes.protected_roles),
    requireApproval: flag(attributes.require_approval),
    approvalActions: stringList(attributes.approval_actions),
    showValuesToReaders: flag(attributes.show_values_to_readers),
    visibleFromBelow: stringList(attributes.visible_from_below),
    requiredApprovals: typeof attributes.required_approvals === 'number' ? attributes.required_approvals : undefined,
    attributes: Object.keys(free).length > 0 ? free : undefined,
  };
}

export function createDirectoryServiceImpl(directory: Directory): DirectoryServiceImplementation<CallerContext> {
  return {
    async whoAmI(_request, { caller }) {
      return directory.whoAmI(caller);
    },
    async listResources(request, { caller, signal }) {
      const result = await directory.listResources(caller, { scope: request.scope, resourceType: request.resourceType, page: request.page }, { signal });
      return { resources: result.resources.map((r) => ({ path: r.path, settings: settingsToProto(r.attributes) })), nextPageToken: result.nextToken, revision: result.revision };
    },
    async listRoles(request, { caller, signal }) {
      const result = await directory.listRoles(caller, { org: request.org }, { signal });
      return { roles: result.roles.map((r) => ({ ...r, actions: [...r.actions], ceiling: [...r.ceiling], granted: [...r.granted] })), actions: [...result.actions], revision: result.revision };
    },
    async listGroupMembers(request, { caller, signal }) {
      const result = await directory.listGroupMembers(caller, { org: request.org, group: optional(request.group), page: request.page }, { signal });
      return { members: result.members, nextPageToken: result.nextToken, revision: result.revision };
    },
    async listApiKeys(request, { caller, signal }) {
      const result = await directory.listApiKeys(caller, { org: request.org, page: request.page }, { signal });
      return {
        keys: result.keys.map((k) => ({
          keyId: k.id, subject: k.subject, description: k.description ?? '', createdBy: k.createdBy,
          createdAt: k.createdAt, expiresAt: k.expiresAt ?? undefined, revokedAt: k.revokedAt ?? undefined,
        })),
        nextPageToken: result.nextToken,
        revision: result.revision,
      };
    },
    async listChanges(request, { caller, signal }) {
      const result = await directory.listChanges(
        caller,
        { scope: request.scope, actor: optional(request.actor), kind: optional(request.kind), since: request.since, until: request.until, page: request.page },
        { signal },
      );
      return {
        changes: result.changes.map((c) => ({
          revision: c.revision, seq: c.seq, at: c.at, actor: c.actor, kind: c.kind, key: c.key, resource: c.resource,
          before: c.before ?? undefined, after: c.after ?? undefined, reason: c.reason ?? '', eventId: c.eventId ?? '',
        })),
        nextPageToken: result.nextToken,
        revision: result.revision,
      };
    },
  };
}
