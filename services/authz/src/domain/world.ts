/**
 * A world file: a declarative description of organizations, their projects,
 * environments and settings, custom roles, groups and bindings. Applying it is
 * idempotent (stores/postgres/pg-world-writer.ts). Parsed with zod; every problem
 * is reported with its path in the file.
 */
import { z } from 'zod';
import { Catalogue, isSystemRole, type OrgSchema, type ResourceType } from './catalogue.js';
import { validateCondition } from './conditions.js';
import { InvalidArgumentError } from '@warden/errors';
import type { Binding, ResourceAttributes, Role } from './model.js';
import { isSubjectTypeName, parseAction, parseActionPattern, parseResource, parseRoleName, parseSubject } from '@warden/names';
import { resourceAttributes } from './settings.js';
import { resourcePathOf } from './client-names.js';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/, 'ids are 1-128 letters, digits and . _ @ + -');
const actionList = z.array(z.string()).max(200);

const ruleAttributes = {
  protected: z.boolean().optional(),
  sensitive_actions: actionList.optional(),
  protected_roles: z.array(z.string()).max(50).optional(),
  require_approval: z.boolean().optional(),
  approval_actions: actionList.optional(),
  required_approvals: z.number().int().optional(),
  show_values_to_readers: z.boolean().optional(),
  visible_from_below: actionList.optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
};

const environmentSchema = z.strictObject({ id, ...ruleAttributes });
const projectSchema = z.strictObject({
  id,
  attributes: z.record(z.string(), z.unknown()).optional(),
  environments: z.array(environmentSchema).max(100).default([]),
});
const roleSchema = z.strictObject({
  name: z.string(),
  description: z.string().max(500).optional(),
  actions: z.array(z.string()).min(1).max(200),
  membership: z.boolean().default(false),
  ceiling: z.array(z.string()).max(200).optional(),
});
const groupSchema = z.strictObject({
  id,
  members: z.array(z.string()).max(10_000).default([]),
});
/** A resource as its client names it (a declared type and the client's id); `parent`: a Warden path, for types below the organization. */
const clientResource = z.strictObject({ type: z.string(), id: z.string(), parent: z.string().optional() });
const bindingSchema = z.strictObject({
  subject: z.string(),
  role: z.string().optional(),
  actions: z.array(z.string()).min(1).max(200).optional(),
  /** A resource path; relative paths (`project:checkout/env:staging`) are taken under the organization. */
  scope: z.string().optional(),
  /** Or the scope as the client names it: `{type: route, id: /todos}` (instead of `scope: 'route:%2Ftodos'`). */
  resource: clientResource.optional(),
  effect: z.enum(['allow', 'deny']).default('allow'),
  expires_at: z.union([z.string(), z.date()]).optional(),
  condition: z.string().optional(),
  reason: z.string().max(1000).optional(),
});
const resourceSchema = z.strictObject({
  /** Exactly one of `path` (a Warden path) and `resource` (the client's name). */
  path: z.string().optional(),
  resource: clientResource.optional(),
  ...ruleAttributes,
});
const orgSchema = z.strictObject({
  id,
  /** Settings of the organization resource itself (they apply down its whole tree). */
  visible_from_below: actionList.optional(),
  /** Actions the organization declares beyond the built-in catalogue (`deploys:run`, `read`, `GET`). */
  actions: z.array(z.string()).max(1000).default([]),
  /** Subject types beyond user, service and group (`identity`). */
  subject_types: z.array(z.string()).max(50).default([]),
  /** Resource types clients name, and where each hangs (docs/model.md "Resource types"). */
  resource_types: z.array(z.strictObject({ name: z.string(), parent: z.string().default('org') })).max(200).default([]),
  attributes: z.record(z.string(), z.unknown()).optional(),
  roles: z.array(roleSchema).max(500).default([]),
  groups: z.array(groupSchema).max(10_000).default([]),
  projects: z.array(projectSchema).max(10_000).default([]),
  resources: z.array(resourceSchema).max(100_000).default([]),
  bindings: z.array(bindingSchema).max(1_000_000).default([]),
  /** Stored subject attributes (email, roles, department…), read by conditions as subject.attributes. */
  directory: z.array(z.strictObject({ subject: z.string(), attributes: z.record(z.string(), z.unknown()) })).max(1_000_000).default([]),
});
export const worldSchema = z.strictObject({ orgs: z.array(orgSchema).min(1).max(1000) });

export type WorldFile = z.input<typeof worldSchema>;

/** A world normalised to the rows a store keeps. Binding ids are assigned by the store. */
export interface World {
  readonly resources: ReadonlyArray<{ readonly path: string; readonly org: string; readonly attributes: ResourceAttributes }>;
  readonly roles: ReadonlyArray<Role & { readonly org: string }>;
  readonly memberships: ReadonlyArray<{ readonly org: string; readonly group: string; readonly member: string }>;
  readonly bindings: ReadonlyArray<Omit<Binding, 'id'> & { readonly org: string }>;
  /** The actions and types each organization declares (only organizations whose file lists some). */
  readonly catalogues: ReadonlyArray<{ readonly org: string; readonly actions: readonly string[]; readonly schema: OrgSchema }>;
  /** Each organization's directory: stored attributes of its subjects. */
  readonly directory: ReadonlyArray<{ readonly org: string; readonly subject: string; readonly attributes: Readonly<Record<string, unknown>> }>;
}

/** The identity of what a binding grants: its role, or its sorted actions. */
export function grantKey(binding: { readonly role?: string | undefined; readonly actions?: readonly string[] | undefined }): string {
  return binding.role ?? `actions:${[...(binding.actions ?? [])].sort().join(',')}`;
}

function rules(input: z.infer<typeof environmentSchema> | z.infer<typeof resourceSchema>, where: string): ResourceAttributes {
  const { attributes, ...rest } = input as typeof input & { id?: string; path?: string };
  const { id: _id, path: _path, resource: _resource, ...typed } = rest as typeof rest & { id?: string; path?: string; resource?: unknown };
  return resourceAttributes(typed, attributes, where);
}

/**
 * A role's or binding's action pattern must reach the organization's catalogue: an exact action
 * it knows (built in or declared), or a wildcard that matches at least one.
 */
export function inCatalogue(pattern: string, catalogue: Catalogue, field: string): string {
  if (pattern.includes('*') ? catalogue.expand([pattern]).length === 0 : !catalogue.has(pattern)) {
    throw new InvalidArgumentError(field, `${JSON.stringify(pattern)} ${pattern.includes('*') ? 'reaches no action of' : 'is not in'} the organization's action catalogue; declare the actions first (actions: [...])`);
  }
  return pattern;
}

export interface ParseWorldOptions {
  /** Custom roles that exist already (in the store), so bindings may name them. */
  readonly knownRoles?: readonly string[];
}

/** Parses and validates a world; throws InvalidArgumentError naming the first bad place. */
export function parseWorld(input: unknown, options: ParseWorldOptions = {}): World {
  const parsed = worldSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : 'world';
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problems)` : '';
    throw new InvalidArgumentError(where, `${issue.message}${more}`);
  }
  const resources: World['resources'][number][] = [];
  const roles: World['roles'][number][] = [];
  const memberships: World['memberships'][number][] = [];
  const bindings: World['bindings'][number][] = [];
  const catalogues: World['catalogues'][number][] = [];
  const directory: World['directory'][number][] = [];
  const seenOrgs = new Set<string>();

  for (const [o, org] of parsed.data.orgs.entries()) {
    const at = `orgs.${o}`;
    if (seenOrgs.has(org.id)) throw new InvalidArgumentError(`${at}.id`, `organization ${org.id} appears twice`);
    seenOrgs.add(org.id);
    const orgPath = `org:${org.id}`;
    resources.push({
      path: orgPath,
      org: org.id,
      attributes: resourceAttributes(org.visible_from_below === undefined ? {} : { visible_from_below: org.visible_from_below }, org.attributes, `${at}.attributes`),
    });
    const declared = [...new Set(org.actions.map((a, i) => parseAction(a, `${at}.actions[${i}]`).action))].sort();
    const schema = parseSchema(org.subject_types, org.resource_types, at);
    if (declared.length > 0 || schema.subjectTypes.length > 0 || schema.resourceTypes.length > 0) catalogues.push({ org: org.id, actions: declared, schema });
    const catalogue = new Catalogue(declared, schema);
    const subjectOf = (value: string, field: string) => {
      const subject = parseSubject(value, field);
      if (!catalogue.hasSubjectType(subject.type)) throw new InvalidArgumentError(field, `subject type ${subject.type} is not declared in organization ${org.id} (subject_types: [...])`);
      return subject;
    };

    const roleNames = new Set<string>();
    for (const [r, role] of org.roles.entries()) {
      const where = `${at}.roles.${r}`;
      const name = parseRoleName(role.name, `${where}.name`);
      if (roleNames.has(name)) throw new InvalidArgumentError(`${where}.name`, `role ${name} appears twice`);
      roleNames.add(name);
      roles.push({
        org: org.id,
        name,
        description: role.description,
        actions: role.actions.map((a, i) => inCatalogue(parseActionPattern(a, `${where}.actions[${i}]`), catalogue, `${where}.actions[${i}]`)),
        membership: role.membership,
        ceiling: role.ceiling?.map((a, i) => parseActionPattern(a, `${where}.ceiling[${i}]`)),
      });
    }
    const knownRole = (name: string) => isSystemRole(name) || roleNames.has(name) || (options.knownRoles?.includes(name) ?? false);

    for (const [p, project] of org.projects.entries()) {
      const projectPath = parseResource(`${orgPath}/project:${project.id}`, `${at}.projects.${p}.id`).path;
      resources.push({ path: projectPath, org: org.id, attributes: resourceAttributes({}, project.attributes, `${at}.projects.${p}.attributes`) });
      for (const [e, env] of project.environments.entries()) {
        const where = `${at}.projects.${p}.environments.${e}`;
        const envPath = parseResource(`${projectPath}/env:${env.id}`, `${where}.id`).path;
        resources.push({ path: envPath, org: org.id, attributes: rules(env, where) });
      }
    }
    for (const [r, resource] of org.resources.entries()) {
      const where = `${at}.resources.${r}`;
      if ((resource.path === undefined) === (resource.resource === undefined)) throw new InvalidArgumentError(where, 'a resource names exactly one of path and resource');
      const path = resource.path !== undefined ? resolveScope(resource.path, orgPath, `${where}.path`) : clientPath(resource.resource!, org.id, catalogue, `${where}.resource`);
      placedAsDeclared(path, catalogue, `${where}.path`);
      resources.push({ path, org: org.id, attributes: rules(resource, where) });
    }
    const seenGroups = new Set<string>();
    for (const [g, group] of org.groups.entries()) {
      const where = `${at}.groups.${g}`;
      if (seenGroups.has(group.id)) throw new InvalidArgumentError(`${where}.id`, `group ${group.id} appears twice`);
      seenGroups.add(group.id);
      const groupSubject = `group:${group.id}`;
      parseSubject(groupSubject, `${where}.id`);
      for (const [m, member] of group.members.entries()) {
        if (subjectOf(member, `${where}.members[${m}]`).id === '*') throw new InvalidArgumentError(`${where}.members[${m}]`, `${member} stands for every subject of its type; bind it directly instead of making it a member`);
        memberships.push({ org: org.id, group: groupSubject, member });
      }
    }
    const seenEntries = new Set<string>();
    for (const [d, entry] of org.directory.entries()) {
      const where = `${at}.directory.${d}`;
      subjectOf(entry.subject, `${where}.subject`);
      if (seenEntries.has(entry.subject)) throw new InvalidArgumentError(`${where}.subject`, `${entry.subject} appears twice`);
      seenEntries.add(entry.subject);
      directory.push({ org: org.id, subject: entry.subject, attributes: directoryAttributes(entry.attributes, `${where}.attributes`) });
    }
    const seenBindings = new Map<string, number>();
    for (const [b, binding] of org.bindings.entries()) {
      const where = `${at}.bindings.${b}`;
      subjectOf(binding.subject, `${where}.subject`);
      if ((binding.role === undefined) === (binding.actions === undefined)) {
        throw new InvalidArgumentError(where, 'a binding names exactly one of role and actions');
      }
      if (binding.role !== undefined) {
        parseRoleName(binding.role, `${where}.role`);
        if (!knownRole(binding.role)) throw new InvalidArgumentError(`${where}.role`, `role ${binding.role} is not defined in organization ${org.id}`);
      }
      const expiresAt = binding.expires_at === undefined ? undefined : new Date(binding.expires_at);
      if (expiresAt !== undefined && Number.isNaN(expiresAt.getTime())) {
        throw new InvalidArgumentError(`${where}.expires_at`, `${String(binding.expires_at)} is not a date-time`);
      }
      if (binding.scope !== undefined && binding.resource !== undefined) throw new InvalidArgumentError(where, 'a binding names at most one of scope and resource');
      const scope = binding.resource !== undefined ? clientPath(binding.resource, org.id, catalogue, `${where}.resource`) : resolveScope(binding.scope ?? orgPath, orgPath, `${where}.scope`);
      const key = [binding.subject, scope, binding.effect, grantKey(binding)].join(' ');
      const earlier = seenBindings.get(key);
      if (earlier !== undefined) {
        throw new InvalidArgumentError(where, `repeats bindings.${earlier} (same subject, ${binding.role !== undefined ? 'role' : 'actions'}, scope and effect); merge them into one`);
      }
      seenBindings.set(key, b);
      bindings.push({
        org: org.id,
        subject: binding.subject,
        role: binding.role,
        actions: binding.actions?.map((a, i) => inCatalogue(parseActionPattern(a, `${where}.actions[${i}]`), catalogue, `${where}.actions[${i}]`)),
        scope,
        effect: binding.effect,
        expiresAt,
        condition: binding.condition === undefined ? undefined : validateCondition(binding.condition, `${where}.condition`),
        reason: binding.reason,
      });
    }
  }
  return { resources, roles, memberships, bindings, catalogues, directory };
}

const PATH_TYPES = ['org', 'project', 'env'];
export const MAX_DIRECTORY_BYTES = 16 * 1024;

/** A directory entry's attributes: an object of at most 16 KiB as JSON. */
export function directoryAttributes(value: unknown, field: string): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(field, 'must be an object');
  const size = Buffer.byteLength(JSON.stringify(value));
  if (size > MAX_DIRECTORY_BYTES) throw new InvalidArgumentError(field, `is ${size} bytes as JSON; at most ${MAX_DIRECTORY_BYTES} are allowed`);
  return value as Record<string, unknown>;
}

/** The declared subject and resource types, checked: identifiers, no repeats, parents that exist, no cycles. */
export function parseSchema(subjectTypes: readonly string[], resourceTypes: ReadonlyArray<{ name: string; parent?: string | undefined }>, at: string): OrgSchema {
  const subjects: string[] = [];
  for (const [i, type] of subjectTypes.entries()) {
    const field = `${at}.subject_types[${i}]`;
    if (!isSubjectTypeName(type)) throw new InvalidArgumentError(field, `${JSON.stringify(type)} is not a subject type name (lowercase letters, digits and _, at most 32)`);
    if (['user', 'service', 'group'].includes(type)) throw new InvalidArgumentError(field, `${type} is built in; declare only other types`);
    if (subjects.includes(type)) throw new InvalidArgumentError(field, `${type} appears twice`);
    subjects.push(type);
  }
  const types: ResourceType[] = [];
  const names = new Set(resourceTypes.map((t) => t.name));
  for (const [i, t] of resourceTypes.entries()) {
    const field = `${at}.resource_types[${i}]`;
    if (!isSubjectTypeName(t.name) || PATH_TYPES.includes(t.name)) throw new InvalidArgumentError(`${field}.name`, `${JSON.stringify(t.name)} is not a resource type name (lowercase letters, digits and _, at most 32; not org, project or env)`);
    if (types.some((x) => x.name === t.name)) throw new InvalidArgumentError(`${field}.name`, `${t.name} appears twice`);
    const parent = t.parent ?? 'org';
    if (!PATH_TYPES.includes(parent) && !names.has(parent)) throw new InvalidArgumentError(`${field}.parent`, `${JSON.stringify(parent)} is neither org, project, env nor a declared resource type`);
    types.push({ name: t.name, parent });
  }
  for (const t of types) {
    const seen = new Set<string>();
    for (let at2: string | undefined = t.name; at2 !== undefined && !PATH_TYPES.includes(at2); at2 = types.find((x) => x.name === at2)?.parent) {
      if (seen.has(at2)) throw new InvalidArgumentError(`${at}.resource_types`, `${t.name} hangs under itself (${[...seen].join(' → ')})`);
      seen.add(at2);
    }
  }
  return { subjectTypes: subjects.sort(), resourceTypes: types.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

/** The Warden path of a resource named as its client names it (domain/client-names.ts). */
function clientPath(resource: { type: string; id: string; parent?: string | undefined }, org: string, catalogue: Catalogue, field: string): string {
  const orgPath = `org:${org}`;
  const parent = resource.parent === undefined ? undefined : resolveScope(resource.parent, orgPath, `${field}.parent`);
  const path = resourcePathOf(org, catalogue, { type: resource.type, id: resource.id, properties: parent === undefined ? undefined : { parent } }, field);
  if (parseResource(path, field).org !== org) throw new InvalidArgumentError(field, `${path} is outside ${orgPath}`);
  return path;
}

/** A resource of a declared type sits where its type hangs (else a client's {type, id} would never reach it). */
function placedAsDeclared(path: string, catalogue: Catalogue, field: string): void {
  const segments = parseResource(path, field).segments;
  const last = segments[segments.length - 1]!;
  const parent = catalogue.parentOf(last.type);
  if (parent !== undefined && segments[segments.length - 2]?.type !== parent) {
    throw new InvalidArgumentError(field, `${path} is a ${last.type}, which the organization declares under ${parent}, but it sits under ${segments[segments.length - 2]?.type ?? 'nothing'}`);
  }
}

function resolveScope(scope: string, orgPath: string, field: string): string {
  const full = scope.startsWith('org:') ? scope : `${orgPath}/${scope}`;
  const path = parseResource(full, field);
  if (path.chain[0] !== orgPath) throw new InvalidArgumentError(field, `${scope} is outside ${orgPath}`);
  return path.path;
}
