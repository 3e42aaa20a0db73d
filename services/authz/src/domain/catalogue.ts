/**
 * The built-in schema: the action catalogue, the system roles and the defaults of
 * Warden's resource rules. Organizations add custom roles; operators may extend
 * the catalogue. Everything here is data, read by the engine like any stored role.
 */
import { compileActions } from './actions.js';
import type { CompiledRole, Role } from './model.js';

/** The actions Warden knows, by area. Roles may name others; these are documented. */
export const ACTION_CATALOGUE: Readonly<Record<string, readonly string[]>> = {
  orgs: ['read', 'manage'],
  projects: ['read', 'create', 'manage', 'delete'],
  environments: ['read', 'manage'],
  flags: ['read', 'create', 'write', 'enable', 'disable', 'rollout', 'delete'],
  variables: ['read', 'read_value', 'write', 'delete'],
  secrets: ['read', 'write', 'reveal', 'delete'],
  users: ['read', 'invite', 'remove', 'manage_roles'],
  roles: ['read', 'manage'],
  groups: ['read', 'manage'],
  billing: ['read', 'manage'],
  audit: ['read', 'export', 'manage_keys'],
  approvals: ['request', 'approve', 'bypass'],
  authz: ['check', 'lookup'],
  keys: ['read', 'manage'],
};

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
    description: 'Everything but billing:manage and approvals:bypass.',
    actions: [
      'orgs:read', 'projects:*', 'environments:*', 'flags:*', 'variables:*', 'secrets:*',
      'users:*', 'roles:*', 'groups:*', 'billing:read', 'audit:*', 'approvals:request',
      'approvals:approve', 'authz:*', 'keys:*',
    ],
    membership: true,
  },
  {
    name: 'member',
    description: 'Belongs to the organization; sees only what other bindings grant.',
    actions: ['orgs:read', 'users:read'],
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
    actions: [...READS, 'flags:*', 'variables:*', 'approvals:request'],
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
    description: 'Reads and exports the audit trail and reads the configuration (not values).',
    actions: ['orgs:read', 'users:read', 'roles:read', 'groups:read', ...READS, 'audit:*'],
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
      'secrets:reveal', 'approvals:request',
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
