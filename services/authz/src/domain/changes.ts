/**
 * A change set: the explicit, typed changes one write makes to the grant graph. Use cases
 * build one; the GrantWriter applies it in one transaction (with its changelog rows and
 * outbox events) or not at all. A world file is one change set of upserts.
 */
import type { ChangeRequest } from './approvals.js';
import type { OrgSchema } from './catalogue.js';
import type { Binding, ResourceAttributes, Role } from './model.js';
import type { World } from './world.js';

export type Change =
  /** Creates the resource, or replaces its attributes. */
  | { readonly kind: 'resource.put'; readonly path: string; readonly org: string; readonly attributes: ResourceAttributes }
  /** Creates the custom role, or replaces its definition. */
  | { readonly kind: 'role.put'; readonly role: Role & { readonly org: string } }
  | { readonly kind: 'role.delete'; readonly org: string; readonly name: string }
  /** Creates the binding, or updates the expiry, condition and reason of the one with the same subject, grant, scope and effect. */
  | { readonly kind: 'binding.put'; readonly binding: Omit<Binding, 'id'> & { readonly org: string } }
  | { readonly kind: 'binding.delete'; readonly id: string }
  | { readonly kind: 'member.add'; readonly org: string; readonly group: string; readonly member: string }
  | { readonly kind: 'member.remove'; readonly org: string; readonly group: string; readonly member: string }
  /** Replaces the actions, subject types and resource types the organization declares (its part of the closed catalogue). */
  | { readonly kind: 'catalogue.put'; readonly org: string; readonly actions: readonly string[]; readonly schema: OrgSchema }
  /** Replaces a subject's stored attributes in the organization's directory (empty: removes them). */
  | { readonly kind: 'directory.put'; readonly org: string; readonly subject: string; readonly attributes: Readonly<Record<string, unknown>> }
  /**
   * Writes a change request's new state (approvals.ts): inserted when `previous` is undefined,
   * else updated only if the stored one is still `previous` (same version). No effect on grants.
   */
  | { readonly kind: 'request.put'; readonly request: ChangeRequest; readonly previous: ChangeRequest | undefined };

export type ChangeKind = Change['kind'];

/** The change set that applies a world: every resource, role, membership and binding it names, upserted. */
export function changesOfWorld(world: World): Change[] {
  return [
    ...world.catalogues.map((c): Change => ({ kind: 'catalogue.put', org: c.org, actions: c.actions, schema: c.schema })),
    ...world.resources.map((r): Change => ({ kind: 'resource.put', path: r.path, org: r.org, attributes: r.attributes })),
    ...world.roles.map((role): Change => ({ kind: 'role.put', role })),
    ...world.memberships.map((m): Change => ({ kind: 'member.add', org: m.org, group: m.group, member: m.member })),
    ...world.bindings.map((binding): Change => ({ kind: 'binding.put', binding })),
    ...world.directory.map((d): Change => ({ kind: 'directory.put', org: d.org, subject: d.subject, attributes: d.attributes })),
  ];
}
