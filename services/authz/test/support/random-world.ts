/** fast-check arbitraries for small random worlds and checks against them. */
import fc from 'fast-check';
import type { WorldFile } from '../../src/domain/world.js';

export const ACTIONS = [
  'flags:read', 'flags:enable', 'flags:rollout', 'flags:disable', 'variables:read', 'variables:read_value',
  'variables:write', 'secrets:reveal', 'billing:manage', 'audit:read', 'approvals:bypass', 'projects:read',
] as const;
const PATTERNS = ['flags:*', '*:read', 'variables:write', 'secrets:reveal', 'flags:enable', 'audit:read', 'approvals:bypass'];
const SYSTEM = ['owner', 'admin', 'member', 'viewer', 'contributor', 'env_reader', 'env_writer', 'billing_admin', 'security_auditor'];
const CONDITIONS = ['request.ticket != ""', 'subject.attributes.mfa == true', 'resource.attributes.tier == "gold"', 'request.n > 3'];
export const USERS = ['user:u0', 'user:u1', 'user:u2', 'user:u3', 'user:u4'];
const GROUP_NAMES = ['g0', 'g1', 'g2'];
const PROJECTS = ['p0', 'p1'];
const ENVS = ['e0', 'e1', 'e2'];

const scopeArb = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(...PROJECTS).map((p) => `project:${p}`),
  fc.tuple(fc.constantFrom(...PROJECTS), fc.constantFrom(...ENVS)).map(([p, e]) => `project:${p}/env:${e}`),
);

export function worldArb(org: string): fc.Arbitrary<WorldFile> {
  // Groups belong to one organization, so each world names its own.
  const GROUPS = GROUP_NAMES.map((g) => `${org}-${g}`);
  const env = fc.record({
    protected: fc.boolean(),
    sensitive_actions: fc.option(fc.subarray(['flags:enable', 'flags:rollout', 'variables:write', 'secrets:reveal']), { nil: undefined }),
    protected_roles: fc.option(fc.subarray(['owner', 'admin', 'r0', 'env_writer']), { nil: undefined }),
    require_approval: fc.boolean(),
    show_values_to_readers: fc.boolean(),
  });
  const binding = fc.record({
    subject: fc.oneof(
      { arbitrary: fc.constantFrom(...USERS), weight: 3 },
      { arbitrary: fc.constantFrom(...GROUPS).map((g) => `group:${g}`), weight: 1 },
      // Every user at once.
      { arbitrary: fc.constant('user:*'), weight: 1 },
    ),
    grant: fc.oneof(fc.constantFrom(...SYSTEM, 'r0', 'r1').map((role) => ({ role })), fc.subarray(PATTERNS, { minLength: 1 }).map((actions) => ({ actions }))),
    scope: scopeArb,
    effect: fc.constantFrom('allow', 'allow', 'allow', 'allow', 'deny'),
    expires: fc.constantFrom(undefined, undefined, undefined, '2020-01-01T00:00:00Z', '2099-01-01T00:00:00Z'),
    condition: fc.option(fc.constantFrom(...CONDITIONS), { nil: undefined, freq: 4 }),
  });
  return fc
    .record({
      envs: fc.array(fc.tuple(fc.constantFrom(...PROJECTS), fc.constantFrom(...ENVS), env), { maxLength: 4 }),
      r0: fc.subarray(PATTERNS, { minLength: 1 }),
      r1: fc.subarray(PATTERNS, { minLength: 1 }),
      r1Ceiling: fc.option(fc.subarray(['*:read', 'flags:*'], { minLength: 1 }), { nil: undefined }),
      memberships: fc.array(fc.tuple(fc.constantFrom(...GROUPS), fc.oneof(fc.constantFrom(...USERS), fc.constantFrom(...GROUPS).map((g) => `group:${g}`))), { maxLength: 8 }),
      bindings: fc.array(binding, { minLength: 6, maxLength: 24 }),
      tier: fc.constantFrom('gold', 'free'),
    })
    .map((w) => ({
      orgs: [
        {
          id: org,
          roles: [
            { name: 'r0', actions: w.r0 },
            { name: 'r1', actions: w.r1, membership: w.r1Ceiling !== undefined, ...(w.r1Ceiling ? { ceiling: w.r1Ceiling } : {}) },
          ],
          groups: GROUPS.map((g) => ({ id: g, members: w.memberships.filter(([group]) => group === g).map(([, m]) => m) })),
          projects: PROJECTS.map((p) => ({
            id: p,
            attributes: { tier: w.tier },
            environments: ENVS.map((e) => ({ id: e, ...(w.envs.find(([pp, ee]) => pp === p && ee === e)?.[2] ?? {}) })),
          })),
          bindings: uniqueBindings(w.bindings).map((b) => ({
            subject: b.subject,
            ...b.grant,
            ...(b.scope ? { scope: b.scope } : {}),
            effect: b.effect as 'allow' | 'deny',
            ...(b.expires ? { expires_at: b.expires } : {}),
            ...(b.condition ? { condition: b.condition } : {}),
          })),
        },
      ],
    }));
}

export function checkArb(org: string) {
  const resource = fc.oneof(
    fc.constant(`org:${org}`),
    fc.constantFrom(...PROJECTS).map((p) => `org:${org}/project:${p}`),
    fc.tuple(fc.constantFrom(...PROJECTS), fc.constantFrom(...ENVS)).map(([p, e]) => `org:${org}/project:${p}/env:${e}`),
    fc.tuple(fc.constantFrom(...PROJECTS), fc.constantFrom(...ENVS)).map(([p, e]) => `org:${org}/project:${p}/env:${e}/flag:f`),
  );
  return fc.record({
    subject: fc.constantFrom(...USERS),
    action: fc.constantFrom(...ACTIONS),
    resource,
    context: fc.constantFrom(undefined, { ticket: 'T-1', n: 5 }, { ticket: '' }),
    subjectAttributes: fc.constantFrom(undefined, { mfa: true }),
  });
}

/** A world names each (subject, grant, scope, effect) once. */
function uniqueBindings<T extends { subject: string; grant: { role?: string; actions?: string[] }; scope: string | undefined; effect: string }>(bindings: T[]): T[] {
  const seen = new Set<string>();
  return bindings.filter((b) => {
    const key = [b.subject, b.grant.role ?? [...(b.grant.actions ?? [])].sort().join(','), b.scope ?? '', b.effect].join(' ');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
