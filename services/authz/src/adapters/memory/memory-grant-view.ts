/**
 * An in-memory GrantView over a normalised World: for unit tests of the engine,
 * and as the brute-force oracle that store- and cache-backed answers are compared with.
 */
import { catalogueFor, catalogueRowOf, COMPILED_SYSTEM_ROLES, compileRole } from '../../domain/catalogue.js';
import type { GrantView } from '../../domain/engine.js';
import type { Binding, CompiledRole, ResourceAttributes } from '../../domain/model.js';
import type { World } from '../../domain/world.js';
import { bindingsBelowIn, closure, scopesBySubject, sortViewIndexes } from '../../domain/grant-graph.js';

export function createMemoryGrantView(world: World, revision = 1): GrantView {
  const bindings = new Map<string, Binding[]>();
  for (const [index, binding] of world.bindings.entries()) {
    const key = `${binding.subject}\u0000${binding.scope}`;
    const list = bindings.get(key) ?? [];
    list.push({ ...binding, id: `b${index + 1}` });
    bindings.set(key, list);
  }
  // Groups belong to one organization: a member's groups are kept per organization.
  const groups = new Map<string, string[]>();
  for (const { org, member, group } of world.memberships) {
    const key = `${org}\u0000${member}`;
    const list = groups.get(key) ?? [];
    list.push(group);
    groups.set(key, list);
  }
  sortViewIndexes(bindings, groups);
  const bySubject = scopesBySubject(bindings);
  const roles = new Map<string, CompiledRole>();
  for (const role of world.roles) roles.set(`${role.org}\u0000${role.name}`, compileRole(role));
  const attributes = new Map<string, ResourceAttributes>();
  for (const resource of world.resources) attributes.set(resource.path, resource.attributes);
  const directory = new Map(world.directory.map((d) => [`${d.org}\u0000${d.subject}`, d.attributes]));
  const declared = new Map(world.catalogues.map((c) => [c.org, catalogueFor(catalogueRowOf(c.actions, c.schema))]));

  return {
    revision,
    subjectsOf: (subject, org) => closure(subject, (s) => groups.get(`${org}\u0000${s}`) ?? []),
    bindingsAt: (subject, scope) => bindings.get(`${subject}\u0000${scope}`) ?? [],
    bindingsBelow: (subject, path) => bindingsBelowIn(bySubject.get(subject), path),
    role: (org, name) => roles.get(`${org}\u0000${name}`) ?? COMPILED_SYSTEM_ROLES.get(name),
    attributes: (path) => attributes.get(path),
    catalogue: (org) => declared.get(org) ?? catalogueFor(undefined),
    directory: (org, subject) => directory.get(`${org}\u0000${subject}`),
  };
}
