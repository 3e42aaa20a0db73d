/**
 * The Cerbos side of the comparison: policies equivalent to Warden's rules for the
 * generated world, and the request a Cerbos user would send.
 *
 * Cerbos keeps no grant data: the caller sends the principal's attributes. Here the
 * principal carries its bindings (its own and its groups', flattened, as an identity
 * provider's claims would) and the resource its path. The policies then implement the
 * same rules Warden's engine applies to this world: deny bindings win, a viewer
 * membership caps writes, a protected environment admits sensitive actions only
 * through owner/admin/release_manager, and each role allows its actions on its scope
 * and below.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compileActions, DEFAULT_SENSITIVE_ACTIONS, SYSTEM_ROLES } from '@warden/authz';
import { CUSTOM_ROLES, KINDS, PROTECTED_ROLES, type BenchCheck, type GeneratedWorld, type Kind } from './world.js';

const ROLES = [...SYSTEM_ROLES.map((r) => ({ name: r.name, actions: r.actions })), ...CUSTOM_ROLES];
const UNDER = 'R.attr.path == b.scope || R.attr.path.startsWith(b.scope + "/")';

export async function writeCerbosPolicies(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const definitions = [
    ...ROLES.map((role) => ({
      name: `has_${role.name}`,
      parentRoles: ['user'],
      condition: { match: { expr: `P.attr.bindings.exists(b, b.effect == "allow" && b.role == "${role.name}" && (${UNDER}))` } },
    })),
    { name: 'denied', parentRoles: ['user'], condition: { match: { expr: `P.attr.bindings.exists(b, b.effect == "deny" && (${UNDER}))` } } },
    {
      name: 'capped_viewer',
      parentRoles: ['user'],
      condition: {
        match: {
          expr: 'P.attr.bindings.exists(b, b.effect == "allow" && b.scope == R.attr.org && b.role == "viewer") && !P.attr.bindings.exists(b, b.effect == "allow" && b.scope == R.attr.org && b.role in ["owner", "admin", "member"])',
        },
      },
    },
  ];
  await writeFile(path.join(dir, 'derived_roles.yaml'), JSON.stringify({ apiVersion: 'api.cerbos.dev/v1', derivedRoles: { name: 'warden_roles', definitions } }, null, 1));
  const ceiling = compileActions(['*:read', 'variables:read_value']);
  for (const kind of Object.keys(KINDS) as Kind[]) {
    const actions = KINDS[kind] as readonly string[];
    const rules: unknown[] = [
      { actions: ['*'], effect: 'EFFECT_DENY', derivedRoles: ['denied'] },
      { actions: actions.filter((a) => !ceiling.matches(a)), effect: 'EFFECT_DENY', derivedRoles: ['capped_viewer'] },
    ];
    for (const action of actions) {
      const granting = ROLES.filter((role) => compileActions(role.actions).matches(action)).map((r) => r.name);
      if (DEFAULT_SENSITIVE_ACTIONS.includes(action)) {
        const named = granting.filter((r) => PROTECTED_ROLES.includes(r));
        const others = granting.filter((r) => !PROTECTED_ROLES.includes(r));
        if (named.length > 0) rules.push({ actions: [action], effect: 'EFFECT_ALLOW', derivedRoles: named.map((r) => `has_${r}`) });
        if (others.length > 0) {
          rules.push({ actions: [action], effect: 'EFFECT_ALLOW', derivedRoles: others.map((r) => `has_${r}`), condition: { match: { expr: '!R.attr.protected' } } });
        }
      } else if (granting.length > 0) {
        rules.push({ actions: [action], effect: 'EFFECT_ALLOW', derivedRoles: granting.map((r) => `has_${r}`) });
      }
    }
    const policy = { apiVersion: 'api.cerbos.dev/v1', resourcePolicy: { resource: kind, version: 'default', importDerivedRoles: ['warden_roles'], rules } };
    await writeFile(path.join(dir, `${kind}.yaml`), JSON.stringify(policy, null, 1));
  }
}

export function cerbosConfig(dir: string, httpPort: number, grpcPort: number): string {
  return JSON.stringify({
    server: { httpListenAddr: `127.0.0.1:${httpPort}`, grpcListenAddr: `127.0.0.1:${grpcPort}` },
    storage: { driver: 'disk', disk: { directory: dir, watchForChanges: false } },
    audit: { enabled: false },
  });
}

// A type alias (not an interface) so it fits Cerbos's JSON attribute values.
export type PrincipalBinding = {
  readonly role: string;
  readonly scope: string;
  readonly effect: 'allow' | 'deny';
};

/** Each user's bindings and its groups' bindings, with absolute scopes (what the caller sends Cerbos). */
export function principalBindings(world: GeneratedWorld): Map<string, PrincipalBinding[]> {
  const own = new Map<string, PrincipalBinding[]>();
  const groupsOf = new Map<string, string[]>();
  for (const org of world.file.orgs) {
    for (const b of org.bindings ?? []) {
      const list = own.get(b.subject) ?? [];
      list.push({ role: b.role ?? '', scope: b.scope === undefined ? `org:${org.id}` : `org:${org.id}/${b.scope}`, effect: b.effect ?? 'allow' });
      own.set(b.subject, list);
    }
    for (const g of org.groups ?? []) for (const m of g.members ?? []) groupsOf.set(m, [...(groupsOf.get(m) ?? []), `group:${g.id}`]);
  }
  const out = new Map<string, PrincipalBinding[]>();
  for (const user of world.users) out.set(user, [...(own.get(user) ?? []), ...(groupsOf.get(user) ?? []).flatMap((g) => own.get(g) ?? [])]);
  return out;
}

export function cerbosRequest(check: BenchCheck, bindings: Map<string, PrincipalBinding[]>) {
  return {
    principal: { id: check.subject, roles: ['user'], attr: { bindings: bindings.get(check.subject) ?? [] } },
    resource: {
      kind: check.kind,
      id: check.resource,
      attr: { path: check.resource, org: `org:${check.org}`, protected: check.resource.includes('/env:production/') },
    },
    actions: [check.action],
  };
}
