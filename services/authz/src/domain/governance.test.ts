import { describe, expect, it } from 'vitest';
import { parseAction, parseResource } from '@warden/names';
import type { Change } from './changes.js';
import { decide } from './engine.js';
import { judgeCredential, judgeChange, type Judgement } from './governance.js';
import { OrgGraph } from './org-graph.js';
import { parseWorld, type WorldFile } from './world.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const LATER = new Date(NOW + 86_400_000).toISOString();

/** An organization: olivia owns it, adam is an admin, mia a member writing checkout, victor a viewer. */
function acme(extra: Partial<WorldFile['orgs'][number]> = {}): OrgGraph {
  const base: WorldFile['orgs'][number] = {
    id: 'acme',
    roles: [
      { name: 'release_manager', actions: ['flags:*', 'variables:*', 'environments:read'] },
      { name: 'group_admin', actions: ['groups:manage', 'orgs:read'] },
      { name: 'role_admin', actions: ['roles:manage', 'orgs:read'] },
      { name: 'key_admin', actions: ['keys:manage', 'orgs:read'] },
      { name: 'approver_set', actions: ['flags:enable'] },
    ],
    groups: [
      { id: 'owners', members: [] },
      { id: 'writers', members: [] },
    ],
    projects: [{ id: 'checkout', environments: [{ id: 'dev' }, { id: 'prod', protected: true, protected_roles: ['owner', 'admin', 'release_manager'], require_approval: true }] }],
    bindings: [
      { subject: 'user:olivia', role: 'owner' },
      { subject: 'user:adam', role: 'admin' },
      { subject: 'user:mia', role: 'member' },
      { subject: 'user:mia', role: 'env_writer', scope: 'project:checkout' },
      { subject: 'user:victor', role: 'viewer' },
      { subject: 'user:gus', role: 'group_admin' },
      { subject: 'user:rob', role: 'role_admin' },
      { subject: 'user:kay', role: 'key_admin' },
      { subject: 'group:owners', role: 'owner' },
      { subject: 'group:writers', role: 'member' },
      { subject: 'group:writers', role: 'env_writer', scope: 'project:checkout' },
      { subject: 'service:robot', role: 'owner' },
      { subject: 'service:deployer', role: 'env_writer', scope: 'project:checkout/env:dev' },
    ],
  };
  const file: WorldFile = { orgs: [{ ...base, ...extra, bindings: [...(base.bindings ?? []), ...(extra.bindings ?? [])], roles: [...(base.roles ?? []), ...(extra.roles ?? [])] }] };
  const world = parseWorld(file);
  return new OrgGraph({
    org: 'acme',
    revision: 1,
    bindings: world.bindings.map((b, i) => ({ ...b, id: `b${i + 1}` })),
    memberships: world.memberships.map(({ group, member }) => ({ group, member })),
    roles: world.roles,
    declaredActions: [],
    attributes: new Map(world.resources.filter((r) => Object.keys(r.attributes).length > 0).map((r) => [r.path, r.attributes])),
  });
}

const grant = (subject: string, role: string, scope = 'org:acme', extra: Record<string, unknown> = {}): Change => ({
  kind: 'binding.put',
  binding: { org: 'acme', subject, role, actions: undefined, scope, effect: 'allow', expiresAt: undefined, condition: undefined, reason: undefined, ...extra },
});
const deny = (subject: string, actions: string[], scope = 'org:acme'): Change => ({
  kind: 'binding.put',
  binding: { org: 'acme', subject, role: undefined, actions, scope, effect: 'deny', expiresAt: undefined, condition: undefined, reason: undefined },
});
const join = (group: string, member: string): Change => ({ kind: 'member.add', org: 'acme', group, member });
const leave = (group: string, member: string): Change => ({ kind: 'member.remove', org: 'acme', group, member });
const bindingId = (graph: OrgGraph, subject: string, role: string) => graph.bindingsOf(subject).find((b) => b.role === role)!.id;

function judge(caller: string, changes: Change[], graph = acme()): Judgement {
  return judgeChange({ caller, changes, before: graph, now: NOW });
}
function refused(j: Judgement, pattern: RegExp, kind: 'permission' | 'invariant' = 'permission'): void {
  expect(j.verdict.ok, JSON.stringify(j.verdict)).toBe(false);
  if (!j.verdict.ok) {
    expect(j.verdict.kind).toBe(kind);
    expect(j.verdict.problem).toMatch(pattern);
  }
}

describe('the effect of a change', () => {
  it('lists what a group member gains through the group, transitively', () => {
    const { effect } = judge('user:olivia', [join('group:writers', 'user:sue')]);
    // Reported at the break points: the scopes of the group's bindings (and attributed resources under them).
    const at = effect.gains.filter((g) => g.subject === 'user:sue' && g.resource === 'org:acme/project:checkout').map((g) => g.action);
    expect(at).toContain('variables:write');
    expect(effect.gains.some((g) => g.subject === 'user:sue' && g.action === 'orgs:read' && g.resource === 'org:acme')).toBe(true);
    expect(effect.losses).toEqual([]);
  });

  it('an approval-gated gain is reported as such, and a revoke as losses', () => {
    const graph = acme();
    const { effect } = judge('user:olivia', [{ kind: 'binding.delete', id: bindingId(graph, 'user:mia', 'env_writer') }], graph);
    expect(effect.losses.some((l) => l.subject === 'user:mia' && l.action === 'variables:write' && l.resource === 'org:acme/project:checkout')).toBe(true);
    expect(effect.gains).toEqual([]);
  });
});

describe('no escalation', () => {
  it('groups:manage alone cannot join a group bound owner, nor can an admin (billing:manage)', () => {
    refused(judge('user:gus', [join('group:owners', 'user:gus')]), /user:gus would gain .* which user:gus does not hold there/);
    refused(judge('user:adam', [join('group:owners', 'user:adam')]), /user:adam would gain (billing:manage|approvals:bypass|approvals:break_glass|audit:manage_keys|orgs:delete)/);
    expect(judge('user:olivia', [join('group:owners', 'user:adam')]).verdict.ok).toBe(true);
  });

  it('roles:manage alone cannot redefine the role a deny uses and so lift the deny', () => {
    const graph = acme({ bindings: [{ subject: 'user:mia', role: 'approver_set', effect: 'deny', scope: 'project:checkout' }] });
    const lifted: Change = { kind: 'role.put', role: { org: 'acme', name: 'approver_set', actions: ['flags:read'], membership: false, description: undefined, ceiling: undefined } };
    refused(judge('user:rob', [lifted], graph), /user:mia would gain flags:enable/);
  });

  it('an admin cannot make an admin or an owner, nor give a management action; an owner can', () => {
    refused(judge('user:adam', [grant('user:mia', 'admin')]), /only an owner of org:acme may grant owner-level actions/);
    refused(judge('user:adam', [grant('user:mia', 'owner')]), /user:mia would gain/);
    expect(judge('user:olivia', [grant('user:mia', 'admin')]).verdict.ok).toBe(true);
    expect(judge('user:adam', [grant('user:sue', 'member'), grant('user:sue', 'env_reader', 'org:acme/project:checkout')]).verdict.ok).toBe(true);
  });

  it('a viewer stays capped when added to a group bound member and env_writer', () => {
    const { effect, verdict } = judge('user:adam', [join('group:writers', 'user:victor')]);
    expect(verdict.ok).toBe(true);
    // Reads only: the viewer ceiling (*:read and variables:read_value) caps what the group grants.
    expect(effect.gains.filter((g) => g.subject === 'user:victor' && !g.action.endsWith(':read') && g.action !== 'variables:read_value')).toEqual([]);
    const after = acme().withChanges([join('group:writers', 'user:victor')]);
    const write = decide(after, { subject: 'user:victor', action: parseAction('variables:write'), resource: parseResource('org:acme/project:checkout/env:dev/variable:X') }, NOW);
    expect(write.reason.code).toBe('CEILING');
  });

  it('minting a credential for a subject is gaining all of it', () => {
    refused(judgeCredential({ caller: 'user:adam', subject: 'service:robot', graph: acme(), now: NOW }), /user:adam may not mint a credential for service:robot: it would gain/);
    refused(judgeCredential({ caller: 'user:kay', subject: 'service:deployer', graph: acme(), now: NOW }), /would gain .* on org:acme\/project:checkout\/env:dev/);
    expect(judgeCredential({ caller: 'user:adam', subject: 'service:deployer', graph: acme(), now: NOW }).verdict.ok).toBe(true);
  });
});

describe('gains below the scope of a grant', () => {
  it('a protected environment under the scope is judged on its own: the caller must hold the sensitive action there too', () => {
    const graph = acme({
      roles: [{ name: 'shipper', actions: ['flags:read', 'flags:enable'] }, { name: 'user_admin', actions: ['users:manage_roles'] }],
      projects: [{ id: 'checkout', environments: [{ id: 'dev' }, { id: 'live', protected: true, protected_roles: ['owner', 'admin', 'shipper'] }] }],
      bindings: [{ subject: 'user:mia', role: 'user_admin' }],
    });
    // mia writes checkout (env_writer) and may manage roles, but does not hold flags:enable in live.
    refused(judge('user:mia', [grant('user:sue', 'shipper', 'org:acme/project:checkout')], graph), /user:sue would gain flags:enable on org:acme\/project:checkout\/env:live, which user:mia does not hold there/);
  });
});

describe('settings', () => {
  it('turning approval or protection off needs an owner; turning them on does not', () => {
    const prod = 'org:acme/project:checkout/env:prod';
    const off: Change = { kind: 'resource.put', path: prod, org: 'acme', attributes: { protected: true, protected_roles: ['owner', 'admin', 'release_manager'], require_approval: false } };
    refused(judge('user:adam', [off]), /only an owner of org:acme may loosen the rules of .*turns approval off/);
    expect(judge('user:olivia', [off]).verdict.ok).toBe(true);
    const on: Change = { kind: 'resource.put', path: 'org:acme/project:checkout/env:dev', org: 'acme', attributes: { require_approval: true } };
    expect(judge('user:adam', [on]).verdict.ok).toBe(true);
  });

  it('a resource below a protected environment cannot unprotect itself', () => {
    const flag = 'org:acme/project:checkout/env:prod/flag:f';
    const graph = acme().withChanges([{ kind: 'resource.put', path: flag, org: 'acme', attributes: { protected: false, require_approval: false } }]);
    const enable = decide(graph, { subject: 'user:mia', action: parseAction('flags:enable'), resource: parseResource(flag) }, NOW);
    expect(enable.reason.code).toBe('PROTECTED_RESOURCE');
  });
});

describe('losses aimed at owners and admins', () => {
  it('an admin cannot deny an owner or another admin anything; an owner can deny an admin', () => {
    refused(judge('user:adam', [deny('user:olivia', ['users:manage_roles'])]), /only an owner of org:acme may take access from an owner or admin/);
    refused(judge('user:adam', [deny('user:robby', ['flags:read']), deny('service:robot', ['flags:read'])]), /owner or admin/);
    expect(judge('user:olivia', [deny('user:adam', ['keys:manage'])]).verdict.ok).toBe(true);
    expect(judge('user:adam', [deny('user:mia', ['secrets:reveal'], 'org:acme/project:checkout')]).verdict.ok).toBe(true);
  });
});

describe('a working owner, for all time', () => {
  const solo = () =>
    acme().withChanges([
      { kind: 'binding.delete', id: bindingId(acme(), 'group:owners', 'owner') },
      { kind: 'binding.delete', id: bindingId(acme(), 'service:robot', 'owner') },
    ]);

  it('the last owner cannot be revoked, even with a second owner that expires', () => {
    const graph = solo().withChanges([grant('user:sue', 'owner', 'org:acme', { expiresAt: new Date(LATER) })]);
    refused(judge('user:olivia', [{ kind: 'binding.delete', id: bindingId(graph, 'user:olivia', 'owner') }], graph), /no working owner/, 'invariant');
  });

  it('an owners group emptied by its one member leaves no owner', () => {
    const graph = solo()
      .withChanges([{ kind: 'binding.delete', id: bindingId(solo(), 'user:olivia', 'owner') }])
      .withChanges([join('group:owners', 'user:olivia')]);
    refused(judge('user:olivia', [leave('group:owners', 'user:olivia')], graph), /no working owner/, 'invariant');
  });

  it('the last owner cannot put a condition or an expiry on their own binding, nor deny themselves *', () => {
    refused(judge('user:olivia', [grant('user:olivia', 'owner', 'org:acme', { condition: 'request.ip == "10.0.0.1"' })], solo()), /no working owner/, 'invariant');
    refused(judge('user:olivia', [grant('user:olivia', 'owner', 'org:acme', { expiresAt: new Date(LATER) })], solo()), /no working owner/, 'invariant');
    refused(judge('user:olivia', [deny('user:olivia', ['*'])], solo()), /no working owner/, 'invariant');
  });

  it('with another working owner, an owner may leave', () => {
    const graph = solo().withChanges([grant('user:sue', 'owner')]);
    expect(judge('user:olivia', [{ kind: 'binding.delete', id: bindingId(graph, 'user:olivia', 'owner') }], graph).verdict.ok).toBe(true);
  });
});

describe('the closed catalogue', () => {
  it('audit:delete is never allowed, not even to an owner; an unknown action is its own denial', () => {
    const graph = acme();
    const del = decide(graph, { subject: 'user:olivia', action: parseAction('audit:delete'), resource: parseResource('org:acme') }, NOW);
    expect(del).toMatchObject({ decision: 'DENY', reason: { code: 'NOT_GRANTABLE' } });
    const unknown = decide(graph, { subject: 'user:olivia', action: parseAction('rockets:launch'), resource: parseResource('org:acme') }, NOW);
    expect(unknown).toMatchObject({ decision: 'DENY', reason: { code: 'UNKNOWN_ACTION' } });
  });
});

describe('the organization\'s names and directory are owner-only (issue 14)', () => {
  const schema = { subjectTypes: ['identity'], resourceTypes: [{ name: 'todo', parent: 'org' }] };
  const directory = (subject: string, attributes: Record<string, unknown>): Change => ({ kind: 'directory.put', org: 'acme', subject, attributes });

  it('an admin cannot give itself a colleague\'s email (a condition comparing subject.attributes.email would then let it in)', () => {
    refused(judge('user:adam', [directory('user:adam', { email: 'olivia@acme.com' })]), /^only an owner of org:acme may change its directory \(the stored attributes of user:adam\)$/);
  });

  it('a subject who manages groups or roles cannot write the directory either', () => {
    refused(judge('user:gus', [directory('user:mia', { department: 'finance' })]), /only an owner of org:acme may change its directory/);
    refused(judge('user:rob', [directory('user:mia', { roles: ['admin'] })]), /only an owner of org:acme may change its directory/);
  });

  it('an admin cannot declare subject or resource types', () => {
    refused(judge('user:adam', [{ kind: 'catalogue.put', org: 'acme', actions: [], schema }]), /^only an owner of org:acme may change the subject or resource types it declares$/);
  });

  it('an owner may do both', () => {
    expect(judge('user:olivia', [directory('user:mia', { email: 'mia@acme.com' }), { kind: 'catalogue.put', org: 'acme', actions: [], schema }]).verdict.ok).toBe(true);
  });

  it('an admin cannot deny (or grant) every user at once: a user:* binding reaches owners and other admins', () => {
    refused(judge('user:adam', [grant('user:*', 'viewer', 'org:acme', { effect: 'deny' })]), /^only an owner of org:acme may grant or revoke a binding naming every subject of a type \(user:\*\)$/);
    refused(judge('user:adam', [grant('user:*', 'env_reader', 'org:acme/project:checkout')]), /naming every subject of a type/);
    expect(judge('user:olivia', [grant('user:*', 'env_reader', 'org:acme/project:checkout')]).verdict.ok).toBe(true);
  });

  it('even an owner cannot deny owner actions to user:* (the organization would have no working owner)', () => {
    // With only user owners left (no owners group, no owner service), a deny of owner to every user strands the organization.
    const users = acme().withChanges([
      { kind: 'binding.delete', id: bindingId(acme(), 'group:owners', 'owner') },
      { kind: 'binding.delete', id: bindingId(acme(), 'service:robot', 'owner') },
    ]);
    refused(judge('user:olivia', [grant('user:*', 'owner', 'org:acme', { effect: 'deny' })], users), /would have no working owner/, 'invariant');
    // service:robot, an owner, is not a user: the same deny leaves it working.
    expect(judge('user:olivia', [grant('user:*', 'owner', 'org:acme', { effect: 'deny' })]).verdict.ok).toBe(true);
  });
});

describe('visible_from_below: an assignment decides above its scope too', () => {
  // A granter of access at the project that cannot itself see projects.
  const world = (extra: Partial<WorldFile['orgs'][number]> = {}) =>
    acme({
      visible_from_below: ['projects:read'],
      roles: [{ name: 'granter', actions: ['users:manage_roles', 'variables:read'] }],
      bindings: [{ subject: 'user:gil', role: 'granter', scope: 'project:checkout' }],
      ...extra,
    });
  const readVariables = (subject: string, scope: string): Change => ({
    kind: 'binding.put',
    binding: { org: 'acme', subject, role: undefined, actions: ['variables:read'], scope, effect: 'allow', expiresAt: undefined, condition: undefined, reason: undefined },
  });

  it('a grant below a project is a gain of projects:read on the project, which the caller must hold', () => {
    const j = judge('user:gil', [readVariables('user:sue', 'org:acme/project:checkout/env:dev')], world());
    expect(j.effect.gains).toContainEqual({ subject: 'user:sue', action: 'projects:read', resource: 'org:acme/project:checkout', before: 'DENY', after: 'ALLOW' });
    refused(j, /user:sue would gain projects:read on org:acme\/project:checkout, which user:gil does not hold there/);
    // An admin holds it: allowed.
    expect(judge('user:adam', [readVariables('user:sue', 'org:acme/project:checkout/env:dev')], world()).verdict.ok).toBe(true);
  });

  it('revoking the last assignment below is a loss of projects:read on the project', () => {
    const graph = world();
    const j = judge('user:olivia', [{ kind: 'binding.delete', id: bindingId(graph, 'service:deployer', 'env_writer') }], graph);
    expect(j.effect.losses).toContainEqual({ subject: 'service:deployer', action: 'projects:read', resource: 'org:acme/project:checkout', before: 'ALLOW', after: 'DENY' });
  });

  it('setting it is a gain for everyone assigned below, judged like any other', () => {
    const j = judge('user:adam', [{ kind: 'resource.put', path: 'org:acme/project:checkout', org: 'acme', attributes: { visible_from_below: ['projects:read'] } }], acme());
    expect(j.effect.gains).toContainEqual({ subject: 'service:deployer', action: 'projects:read', resource: 'org:acme/project:checkout', before: 'DENY', after: 'ALLOW' });
    expect(j.verdict.ok).toBe(true);
    refused(
      judge('user:gil', [{ kind: 'resource.put', path: 'org:acme/project:checkout', org: 'acme', attributes: { visible_from_below: ['projects:read'] } }], world({ visible_from_below: undefined })),
      /service:deployer would gain projects:read on org:acme\/project:checkout, which user:gil does not hold there/,
    );
  });

  it('never applies to the organization itself', () => {
    const graph = world();
    expect(decide(graph, { subject: 'service:deployer', action: parseAction('projects:read'), resource: parseResource('org:acme') }, NOW).decision).toBe('DENY');
    expect(decide(graph, { subject: 'service:deployer', action: parseAction('projects:read'), resource: parseResource('org:acme/project:checkout') }, NOW)).toMatchObject({
      decision: 'ALLOW',
      reason: { code: 'ALLOWED', binding: { subject: 'service:deployer', scope: 'org:acme/project:checkout/env:dev' } },
    });
  });
});
