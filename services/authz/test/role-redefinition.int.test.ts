/**
 * Redefining built-in role names (issue 14, item 4): an organization may define `owner`,
 * `admin`, `viewer`, … for itself, and DeleteRole restores the built-in. The new freedom is a
 * management change like any other, judged by its effect through the real gRPC admin API on
 * real Postgres: each attack below is refused with the code a client can act on, and writes
 * nothing; the allowed uses change exactly what they say, in one organization only.
 */
import { readFileSync } from 'node:fs';
import { Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decision, Effect } from '@warden/proto/authz/v1';
import { currentRevision } from '../src/adapters/postgres/pg-revision.js';
import { startTestApp, type TestApp } from './support/app.js';
import { exampleFile, refused } from './support/catalogue.js';

let t: TestApp;
type Client = ReturnType<TestApp['grpc']>;
const users: Record<string, Client> = {};
const as = (name: string): Client => users[name]!;
const ORG = 'org:acme';

const role = (name: string, actions: string[], extra: { membership?: boolean; ceiling?: string[]; org?: string } = {}) => ({
  org: extra.org ?? 'acme', name, description: '', actions, membership: extra.membership ?? false, ceiling: extra.ceiling ?? [], reason: 'test',
});
const grant = (subject: string, roleName: string, scope = ORG) => ({ subject, role: roleName, actions: [] as string[], scope, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'test' });

async function decision(subject: string, action: string, resource: string): Promise<Decision> {
  const r = await t.grpc(t.adminKey).authz.check({ subject, action, resource, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
  return r.decision;
}

/** The attack is refused with `code` (and `message`), and nothing is written. */
async function attack(call: () => Promise<unknown>, code: Status, message?: RegExp): Promise<void> {
  const before = await currentRevision(t.db.pool);
  await refused(call(), code, message);
  expect(await currentRevision(t.db.pool), 'a refused change writes nothing').toBe(before);
}

beforeAll(async () => {
  t = await startTestApp({ AUTHZ_PLATFORM_ADMINS: 'user:ops@warden.test', AUTHZ_KEY_CACHE_MS: '0' });
  for (const name of ['olivia@acme.com', 'adam@acme.com', 'rob@acme.com', 'eve@globex.com', 'ops@warden.test']) {
    users[name.split('@')[0]!] = t.grpc(await t.token(name));
  }
  // Rob may manage roles and nothing else.
  await as('olivia').admin.putRole(role('role_admin', ['roles:manage', 'orgs:read']));
  await as('olivia').admin.grantBinding(grant('user:rob@acme.com', 'role_admin'));
});
afterAll(async () => {
  await t?.close();
});

describe('redefining a built-in role is judged by its effect', () => {
  it('roles:manage alone cannot narrow `owner`: that takes from the owners', async () => {
    await attack(() => as('rob').admin.putRole(role('owner', ['flags:read'], { membership: true })), Status.PERMISSION_DENIED, /user:rob@acme.com may not cause this change: \S+ would lose/);
    await attack(() => as('adam').admin.putRole(role('owner', ['*'], { membership: true, ceiling: ['*:read'] })), Status.PERMISSION_DENIED, /only an owner of org:acme may take access from an owner or admin/);
  });

  it('a caller cannot widen a role it holds beyond what it holds', async () => {
    // Rob redefines his own role to carry billing:manage.
    await attack(() => as('rob').admin.putRole(role('role_admin', ['roles:manage', 'orgs:read', 'billing:manage'])), Status.PERMISSION_DENIED, /user:rob@acme.com would gain billing:manage on org:acme, which user:rob@acme.com does not hold there/);
    // The admin redefines `admin` (which it holds) to carry billing:manage, or the owner-level approvals:bypass.
    const builtInAdmin = ['orgs:read', 'projects:*', 'environments:*', 'flags:*', 'variables:*', 'secrets:*', 'users:*', 'roles:*', 'groups:*', 'billing:read', 'integrations:*', 'audit:read', 'audit:export', 'approvals:read', 'approvals:request', 'approvals:feedback', 'approvals:approve', 'approvals:manage', 'authz:*', 'keys:*'];
    await attack(() => as('adam').admin.putRole(role('admin', [...builtInAdmin, 'billing:manage'], { membership: true })), Status.PERMISSION_DENIED, /would gain billing:manage/);
    await attack(() => as('adam').admin.putRole(role('admin', [...builtInAdmin, 'approvals:bypass'], { membership: true })), Status.PERMISSION_DENIED, /would gain approvals:bypass/);
  });

  it('a built-in role others hold cannot be widened into what the caller does not hold', async () => {
    await attack(() => as('rob').admin.putRole(role('member', ['*'], { membership: true })), Status.PERMISSION_DENIED, /would gain/);
    await attack(() => as('adam').admin.putRole(role('env_writer', ['flags:*', 'billing:manage'])), Status.PERMISSION_DENIED, /would gain billing:manage/);
  });

  it('even an owner cannot redefine `owner` so that nobody is a working owner', async () => {
    await attack(() => as('olivia').admin.putRole(role('owner', ['flags:*', 'users:*'], { membership: true })), Status.FAILED_PRECONDITION, /would have no working owner/);
    await attack(() => as('olivia').admin.putRole(role('owner', ['*'], { membership: true, ceiling: ['*:read'] })), Status.FAILED_PRECONDITION, /would have no working owner/);
  });

  it('restoring a built-in (DeleteRole) is judged like any change: it cannot hand owners what the caller lacks', async () => {
    // The owner narrows `owner` (still a working owner: every management action stays).
    await as('olivia').admin.putRole(role('owner', ['orgs:*', 'projects:*', 'environments:*', 'flags:*', 'variables:*', 'secrets:*', 'users:*', 'roles:*', 'groups:*', 'keys:*', 'audit:*', 'approvals:*', 'authz:*', 'integrations:*', 'billing:read'], { membership: true }));
    expect(await decision('user:olivia@acme.com', 'billing:manage', ORG)).toBe(Decision.DECISION_DENY);
    // The admin may not restore the built-in owner: every owner would gain billing:manage, which it does not hold.
    await attack(() => as('adam').admin.deleteRole({ org: 'acme', name: 'owner', reason: 'test' }), Status.PERMISSION_DENIED, /would gain billing:manage/);
    // Nor may the narrowed owner: nobody in acme holds billing:manage any more, so nobody there can hand it out.
    await attack(() => as('olivia').admin.deleteRole({ org: 'acme', name: 'owner', reason: 'test' }), Status.PERMISSION_DENIED, /would gain billing:manage/);
    // A platform administrator can (the invariants still hold for it).
    await as('ops').admin.deleteRole({ org: 'acme', name: 'owner', reason: 'restore' });
    expect(await decision('user:olivia@acme.com', 'billing:manage', ORG)).toBe(Decision.DECISION_ALLOW);
  });

  it('another organization\'s caller reaches nothing', async () => {
    await attack(() => as('eve').admin.putRole(role('viewer', ['*'], { membership: true })), Status.PERMISSION_DENIED, /lacks roles:manage on org:acme/);
    await attack(() => as('eve').admin.deleteRole({ org: 'acme', name: 'viewer', reason: 'test' }), Status.PERMISSION_DENIED, /lacks roles:manage on org:acme/);
  });
});

describe('what a redefinition does', () => {
  it('applies in its organization only, and DeleteRole restores the built-in', async () => {
    await as('ops').admin.createOrganization({ orgId: 'umbrella', owner: 'user:ops@warden.test', reason: 'test' });
    await as('ops').admin.grantBinding(grant('user:ursula@umbrella.test', 'viewer', 'org:umbrella'));
    // Acme's viewer sees only what is assigned to it.
    await as('olivia').admin.putRole(role('viewer', ['orgs:read'], { membership: true, ceiling: ['*:read'] }));
    expect(await decision('user:victor@acme.com', 'flags:read', 'org:acme/project:search/env:production/flag:f')).toBe(Decision.DECISION_DENY);
    expect(await decision('user:victor@acme.com', 'variables:read', 'org:acme/project:checkout/env:staging/variable:V')).toBe(Decision.DECISION_ALLOW);
    // Umbrella's viewer is still the built-in one.
    const other = await t.grpc(await t.token('ops@warden.test')).authz.check({ subject: 'user:ursula@umbrella.test', action: 'flags:read', resource: 'org:umbrella/project:p/env:e/flag:f', consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
    expect(other.decision).toBe(Decision.DECISION_ALLOW);
    // Restoring: acme's viewer reads everything again.
    await as('olivia').admin.deleteRole({ org: 'acme', name: 'viewer', reason: 'restore' });
    expect(await decision('user:victor@acme.com', 'flags:read', 'org:acme/project:search/env:production/flag:f')).toBe(Decision.DECISION_ALLOW);
  });

  it('a world file that redefines built-in names goes through ApplyWorld, judged the same way', async () => {
    // A platform administrator creates Zenable from its catalogue (six built-in names redefined).
    const applied = await as('ops').admin.applyWorld({ world: readFileSync(exampleFile('zenable.yaml'), 'utf8'), reason: 'onboard zenable', apply: true });
    expect(applied.applied).toBe(true);
    const ask = t.grpc(await t.token('olga@zenable.io')).authz;
    const r = await ask.check({ subject: 'user:vic@zenable.io', action: 'billing:read', resource: 'org:zenable', consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
    expect(r.decision).toBe(Decision.DECISION_ALLOW);
    // In acme, a world file may not do what the caller could not do by hand: Rob may not narrow acme's owner.
    const narrowing = 'orgs:\n  - id: acme\n    roles:\n      - { name: owner, membership: true, actions: [flags:read] }\n';
    await attack(() => as('rob').admin.applyWorld({ world: narrowing, reason: 'test', apply: true }), Status.PERMISSION_DENIED);
  });

  it('DeleteRole of a built-in name the organization never redefined is NOT_FOUND', async () => {
    await attack(() => as('olivia').admin.deleteRole({ org: 'acme', name: 'contributor', reason: 'test' }), Status.NOT_FOUND, /org:acme does not redefine the built-in role contributor/);
  });

  it('a redefined role stays in use by its bindings: deleting the redefinition needs no revoke', async () => {
    await as('olivia').admin.putRole(role('env_reader', ['environments:read', 'variables:read']));
    expect(await decision('user:mia@acme.com', 'flags:read', 'org:acme/project:checkout/env:staging/flag:f')).toBe(Decision.DECISION_DENY);
    await as('olivia').admin.deleteRole({ org: 'acme', name: 'env_reader', reason: 'restore' });
    expect(await decision('user:mia@acme.com', 'flags:read', 'org:acme/project:checkout/env:staging/flag:f')).toBe(Decision.DECISION_ALLOW);
  });
});
