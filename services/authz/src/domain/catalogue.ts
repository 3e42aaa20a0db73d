/**
 * The built-in schema: the action catalogue, the system roles and the defaults of
 * Warden's resource rules. Organizations add custom roles; operators may extend
 * the catalogue. Everything here is data, read by the engine like any stored role.
 */
import { compileActions } from './actions.js';
import type { CompiledRole, Role } from './model.js';

/**
 * The actions Warden knows, by area: the built-in part of every organization's catalogue
 * (organizations declare more). The catalogue is closed: an action outside it is DENY
 * (UNKNOWN_ACTION) and a wildcard never reaches past it.
 */
export const ACTION_CATALOGUE: Readonly<Record<string, readonly string[]>> = {
  orgs: ['read', 'manage', 'delete'],
  projects: ['read', 'create', 'manage', 'delete'],
  environments: ['read', 'manage'],
  flags: ['read', 'create', 'write', 'enable', 'disable', 'rollout', 'delete', 'manage'],
  variables: ['read', 'read_value', 'write', 'delete', 'manage'],
  secrets: ['read', 'write', 'reveal', 'delete', 'manage'],
  users: ['read', 'invite', 'remove', 'manage_roles'],
  roles: ['read', 'manage'],
  groups: ['read', 'manage'],
  billing: ['read', 'manage'],
  integrations: ['read', 'manage'],
  audit: ['read', 'export', 'manage_keys', 'delete'],
  // read: see pending changes; feedback: non-binding votes and comments; manage: define approval
  // flows; break_glass: apply or take access without approval, with a review (approvals.md).
  approvals: ['read', 'request', 'feedback', 'approve', 'manage', 'bypass', 'break_glass'],
  authz: ['check', 'lookup'],
  keys: ['read', 'manage'],
};

/** In the catalogue, and never allowed to anyone, whatever is granted: audit logs cannot be deleted by users regardless of role. */
export const NEVER_GRANTABLE: ReadonlySet<string> = new Set(['audit:delete']);

/**
 * Owner-level actions: who holds one can change who may do what. Granting one (or turning
 * protection or approval off) needs an owner of the organization.
 */
export const MANAGEMENT_ACTIONS: readonly string[] = [
  'users:invite',
  'users:remove',
  'users:manage_roles',
  'roles:manage',
  'groups:manage',
  'keys:manage',
  'audit:manage_keys',
  'approvals:bypass',
  'approvals:break_glass',
];

const BUILT_IN_ACTIONS: readonly string[] = Object.entries(ACTION_CATALOGUE).flatMap(([area, verbs]) => verbs.map((verb) => `${area}:${verb}`));

/** Where a declared resource type hangs: under the organization, a project, an environment or another declared type. */
export interface ResourceType {
  readonly name: string;
  /** `org`, `project`, `env`, or the name of another declared type. */
  readonly parent: string;
}

/** The names an organization declares besides its actions: its subject types and resource types. */
export interface OrgSchema {
  /** Subject types beyond user, service and group (`identity`). */
  readonly subjectTypes: readonly string[];
  readonly resourceTypes: readonly ResourceType[];
}

export const EMPTY_SCHEMA: OrgSchema = Object.freeze({ subjectTypes: Object.freeze([]), resourceTypes: Object.freeze([]) });

/** The built-in subject types and the types every path already has. */
const BUILT_IN_SUBJECT_TYPES: readonly string[] = ['user', 'service', 'group'];

/**
 * An organization's catalogue: the built-in actions and the ones it declared, and the subject
 * and resource types it declared. Decides what an action name means (known, grantable), what a
 * pattern reaches (`expand`), which subject types exist and where a resource type hangs.
 */
export class Catalogue {
  private readonly known: ReadonlySet<string>;
  /** Known and grantable, sorted: what `*` reaches. */
  readonly actions: readonly string[];
  private readonly parents: ReadonlyMap<string, string>;

  constructor(
    readonly declared: readonly string[] = [],
    readonly schema: OrgSchema = EMPTY_SCHEMA,
  ) {
    this.known = new Set([...BUILT_IN_ACTIONS, ...declared]);
    this.actions = [...this.known].filter((action) => !NEVER_GRANTABLE.has(action)).sort();
    this.parents = new Map(schema.resourceTypes.map((t) => [t.name, t.parent]));
  }

  has(action: string): boolean {
    return this.known.has(action);
  }

  grantable(action: string): boolean {
    return this.known.has(action) && !NEVER_GRANTABLE.has(action);
  }

  /** The grantable actions a set of patterns reaches (exact names outside the catalogue reach nothing). */
  expand(patterns: readonly string[]): string[] {
    const matcher = compileActions(patterns);
    return this.actions.filter((action) => matcher.matches(action));
  }

  /** Whether subjects of this type exist in the organization (built in or declared). */
  hasSubjectType(type: string): boolean {
    return BUILT_IN_SUBJECT_TYPES.includes(type) || this.schema.subjectTypes.includes(type);
  }

  /** Where a declared resource type hangs; undefined when the organization did not declare it. */
  parentOf(type: string): string | undefined {
    return this.parents.get(type);
  }
}

/** The catalogue of an organization that declared nothing. */
export const BUILT_IN_CATALOGUE: Catalogue = new Catalogue();

/** A catalogue as stored and cached: `a` declared actions, `s` subject types, `t` [name, parent] of each resource type. */
export interface CatalogueRow {
  readonly a?: readonly string[] | null | undefined;
  readonly s?: readonly string[] | null | undefined;
  readonly t?: ReadonlyArray<readonly [string, string]> | null | undefined;
}

export function catalogueRowOf(declared: readonly string[], schema: OrgSchema): CatalogueRow {
  return { a: declared, s: schema.subjectTypes, t: schema.resourceTypes.map((t) => [t.name, t.parent] as const) };
}

const catalogues = new Map<string, Catalogue>();

/**
 * The catalogue of a stored row (or of a list of declared actions): one object per distinct
 * content (views of every request share it, so a Check builds none). Bounded: when full it starts over.
 */
export function catalogueFor(row: CatalogueRow | readonly string[] | undefined | null): Catalogue {
  const r: CatalogueRow = row === undefined || row === null ? {} : Array.isArray(row) ? { a: row as readonly string[] } : (row as CatalogueRow);
  const declared = r.a ?? [];
  const subjectTypes = r.s ?? [];
  const resourceTypes = r.t ?? [];
  if (declared.length === 0 && subjectTypes.length === 0 && resourceTypes.length === 0) return BUILT_IN_CATALOGUE;
  const key = JSON.stringify([declared, subjectTypes, resourceTypes]);
  let found = catalogues.get(key);
  if (found === undefined) {
    if (catalogues.size >= 10_000) catalogues.clear();
    found = new Catalogue(declared, { subjectTypes, resourceTypes: resourceTypes.map(([name, parent]) => ({ name, parent })) });
    catalogues.set(key, found);
  }
  return found;
}

/** Sensitive actions of a protected environment when it does not list its own. */
export const DEFAULT_SENSITIVE_ACTIONS: readonly string[] = [
  'flags:enable',
  'flags:disable',
  'flags:rollout',
  'variables:write',
  'secrets:reveal',
];

/** Roles that reach sensitive actions of a protected environment when it does not list its own. */
export const DEFAULT_PROTECTED_ROLES: readonly string[] = ['owner', 'admin'];

/** Actions that need approval where `require_approval` is on and the environment lists none. */
export const DEFAULT_APPROVAL_ACTIONS: readonly string[] = [
  'flags:enable',
  'flags:disable',
  'flags:rollout',
  'variables:write',
];

/** Holding this action at a resource lets an allowed change skip approval. */
export const APPROVAL_BYPASS_ACTION = 'approvals:bypass';

/** Where `show_values_to_readers` is on, a grant of `variables:read` also grants `variables:read_value`. */
export const READ_VALUE_ACTION = 'variables:read_value';
export const READ_ACTION_FOR_VALUES = 'variables:read';

const READS = ['projects:read', 'environments:read', 'flags:read', 'variables:read', 'secrets:read'];

export const SYSTEM_ROLES: readonly Role[] = [
  {
    name: 'owner',
    description: 'Everything in the organization, including billing and approval bypass.',
    actions: ['*'],
    membership: true,
  },
  {
    name: 'admin',
    description: 'Everything but billing:manage, approvals:bypass, approvals:break_glass, audit:manage_keys and deleting the organization.',
    actions: [
      'orgs:read', 'projects:*', 'environments:*', 'flags:*', 'variables:*', 'secrets:*',
      'users:*', 'roles:*', 'groups:*', 'billing:read', 'integrations:*', 'audit:read', 'audit:export',
      'approvals:read', 'approvals:request', 'approvals:feedback', 'approvals:approve', 'approvals:manage', 'authz:*', 'keys:*',
    ],
    membership: true,
  },
  {
    name: 'member',
    description: 'Belongs to the organization; sees pending changes and only what other bindings grant.',
    actions: ['orgs:read', 'users:read', 'approvals:read'],
    membership: true,
  },
  {
    name: 'viewer',
    description: 'Reads everything (not values or secrets); can never write, whatever else is granted.',
    actions: ['orgs:read', 'users:read', ...READS.filter((a) => a !== 'secrets:read')],
    membership: true,
    ceiling: ['*:read', READ_VALUE_ACTION],
  },
  {
    name: 'contributor',
    description: 'Changes flags and variables where bound (protected environments still need a named role).',
    actions: [...READS, 'flags:*', 'variables:*', 'approvals:read', 'approvals:request', 'approvals:feedback'],
    membership: false,
  },
  {
    name: 'billing_admin',
    description: 'Reads and manages billing.',
    actions: ['orgs:read', 'billing:*'],
    membership: false,
  },
  {
    name: 'security_auditor',
    description: 'Reads and exports the audit trail and reads the configuration (not values); manages no keys.',
    actions: ['orgs:read', 'users:read', 'roles:read', 'groups:read', 'approvals:read', ...READS, 'audit:read', 'audit:export'],
    membership: false,
  },
  {
    name: 'env_reader',
    description: 'Reads an environment: flags, variable keys, secret names (not values).',
    actions: ['environments:read', 'flags:read', 'variables:read', 'secrets:read'],
    membership: false,
  },
  {
    name: 'env_writer',
    description: 'Reads and changes an environment: flags, variables (with values), secrets.',
    actions: [
      'environments:read', 'flags:read', 'flags:write', 'flags:enable', 'flags:disable', 'flags:rollout',
      'variables:read', 'variables:read_value', 'variables:write', 'secrets:read', 'secrets:write',
      'secrets:reveal', 'approvals:read', 'approvals:request',
    ],
    membership: false,
  },
];

export function compileRole(role: Role): CompiledRole {
  return {
    ...role,
    matcher: compileActions(role.actions),
    ceilingMatcher: role.ceiling ? compileActions(role.ceiling) : undefined,
  };
}

export const COMPILED_SYSTEM_ROLES: ReadonlyMap<string, CompiledRole> = new Map(
  SYSTEM_ROLES.map((role) => [role.name, compileRole(role)]),
);

export function isSystemRole(name: string): boolean {
  return COMPILED_SYSTEM_ROLES.has(name);
}
