/** The admin API's invariants, through the real gRPC server (and once over HTTP), on real Postgres. */
import { currentRevision } from '../src/adapters/postgres/pg-revision.js';
import { ClientError, Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decision, Effect } from '@warden/proto/authz/v1';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
let as: Record<'olivia' | 'adam' | 'mia' | 'ops' | 'peter' | 'bill', ReturnType<TestApp['grpc']>>;

beforeAll(async () => {
  t = await startTestApp({ AUTHZ_PLATFORM_ADMINS: 'user:ops@warden.test', AUTHZ_KEY_CACHE_MS: '0' });
  const client = async (sub: string) => t.grpc(await t.token(sub));
  as = {
    olivia: await client('olivia@acme.com'),
    adam: await client('adam@acme.com'),
    mia: await client('mia@acme.com'),
    ops: await client('ops@warden.test'),
    peter: await client('peter@initech.com'),
    bill: await client('bill@initech.com'),
  };
});
afterAll(async () => {
  await t?.close();
});

async function refused(call: Promise<unknown>, code: Status, message: RegExp): Promise<void> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error, 'the call must fail').toBeInstanceOf(ClientError);
  expect(Status[(error as ClientError).code]).toBe(Status[code]);
  expect((error as ClientError).details).toMatch(message);
}

const grant = (subject: string, role: string, scope: string, reason = 'test') => ({ subject, role, actions: [] as string[], scope, effect: Effect.EFFECT_ALLOW, condition: '', reason });
const revision = async () => currentRevision(t.db.pool);

describe('who may call', () => {
  it('refuses an unauthenticated call', async () => {
    await refused(t.grpc().admin.grantBinding(grant('user:mia@acme.com', 'env_reader', 'org:acme')), Status.UNAUTHENTICATED, /missing credentials/);
  });
  it('a member cannot manage roles', async () => {
    await refused(as.mia.admin.grantBinding(grant('user:mia@acme.com', 'env_writer', 'org:acme/project:checkout')), Status.PERMISSION_DENIED, /user:mia@acme.com may not grant role env_writer: it lacks users:manage_roles on org:acme\/project:checkout/);
  });
});

describe('grants and revokes', () => {
  it('an admin grants a member role; the change has a revision, a changelog row and an audit event', async () => {
    const before = await revision();
    const response = await as.adam.admin.grantBinding(grant('user:mia@acme.com', 'env_writer', 'org:acme/project:checkout/env:staging', 'covering for sam'));
    expect(response).toMatchObject({ created: true, revision: before + 1, binding: { subject: 'user:mia@acme.com', role: 'env_writer', scope: 'org:acme/project:checkout/env:staging' } });
    const { rows } = await t.db.pool.query(`SELECT event FROM outbox WHERE revision = $1`, [response.revision]);
    expect(rows).toHaveLength(1);
    expect(rows[0].event).toMatchObject({
      actor: { type: 'user', id: 'adam@acme.com' },
      action: 'binding.created',
      resource: 'org:acme/project:checkout/env:staging',
      before: null,
      after: { subject: 'user:mia@acme.com', role: 'env_writer', granted_by: 'user:adam@acme.com' },
      reason: 'covering for sam',
    });
    // The new revision as a consistency token: the grant is visible.
    const check = await t.grpc(t.adminKey).authz.check({
      subject: 'user:mia@acme.com', action: 'variables:write', resource: 'org:acme/project:checkout/env:staging/variable:X',
      consistency: { requirement: { $case: 'atLeastRevision', value: response.revision } },
    });
    expect(check.decision).toBe(Decision.DECISION_ALLOW);
    // Granting the same again changes nothing.
    const again = await as.adam.admin.grantBinding(grant('user:mia@acme.com', 'env_writer', 'org:acme/project:checkout/env:staging', 'covering for sam'));
    expect(again).toMatchObject({ created: false, revision: response.revision });
  });

  it('no escalation: an admin cannot grant what it does not hold', async () => {
    await refused(as.adam.admin.grantBinding(grant('user:mia@acme.com', 'billing_admin', 'org:acme')), Status.PERMISSION_DENIED, /user:mia@acme.com would gain billing:manage on org:acme, which user:adam@acme.com does not hold there/);
    await refused(as.adam.admin.grantBinding({ ...grant('user:mia@acme.com', '', 'org:acme'), actions: ['approvals:bypass'] }), Status.PERMISSION_DENIED, /would gain approvals:bypass on org:acme/);
  });

  it('only an owner grants or revokes owner and admin', async () => {
    await refused(as.adam.admin.grantBinding(grant('user:mia@acme.com', 'admin', 'org:acme')), Status.PERMISSION_DENIED, /only an owner of org:acme may grant owner-level actions: user:mia@acme.com would gain/);
    const olivias = (await t.db.pool.query(`SELECT id FROM bindings WHERE subject = 'user:olivia@acme.com' AND role = 'owner'`)).rows[0].id as string;
    await refused(as.adam.admin.revokeBinding({ bindingId: olivias, reason: 'coup' }), Status.PERMISSION_DENIED, /only an owner of org:acme may take access from an owner or admin: user:olivia@acme.com would lose/);
    const made = await as.olivia.admin.grantBinding(grant('user:mia@acme.com', 'admin', 'org:acme', 'promotion'));
    expect(made.created).toBe(true);
    const undone = await as.olivia.admin.revokeBinding({ bindingId: made.binding!.id, reason: 'changed my mind' });
    expect(undone.changes).toBe(1);
  });

  it('a viewer is granted nothing that writes', async () => {
    await refused(as.olivia.admin.grantBinding(grant('user:victor@acme.com', 'env_writer', 'org:acme/project:search')), Status.FAILED_PRECONDITION, /user:victor@acme.com is capped by its membership \(viewer\): role env_writer carries .*flags:enable/);
    const ok = await as.olivia.admin.grantBinding(grant('user:victor@acme.com', 'env_reader', 'org:acme/project:search'));
    expect(ok.created).toBe(true);
  });

  it('bad input is INVALID_ARGUMENT naming the field, and changes nothing', async () => {
    const before = await revision();
    await refused(as.olivia.admin.grantBinding(grant('mia', 'env_reader', 'org:acme')), Status.INVALID_ARGUMENT, /^subject: /);
    await refused(as.olivia.admin.grantBinding(grant('user:mia@acme.com', 'no_such_role', 'org:acme')), Status.INVALID_ARGUMENT, /^role: role no_such_role is not defined in organization acme$/);
    await refused(as.olivia.admin.grantBinding({ ...grant('user:mia@acme.com', 'env_reader', 'org:acme'), condition: 'request.x ==' }), Status.INVALID_ARGUMENT, /^condition: is not a valid CEL expression/);
    await refused(as.olivia.admin.grantBinding({ ...grant('user:mia@acme.com', 'env_reader', 'org:acme'), expiresAt: new Date(Date.now() - 1000) }), Status.INVALID_ARGUMENT, /^expires_at: must be in the future$/);
    await refused(as.olivia.admin.revokeBinding({ bindingId: '00000000-0000-4000-8000-000000000000', reason: '' }), Status.NOT_FOUND, /does not exist/);
    expect(await revision()).toBe(before);
  });
});

describe('the last owner', () => {
  it('cannot be removed, even by two owners removing each other at once', async () => {
    await as.ops.admin.createOrganization({ orgId: 'initech', owner: 'user:peter@initech.com', reason: 'new customer' });
    await refused(as.olivia.admin.createOrganization({ orgId: 'globex', owner: 'user:olivia@acme.com', reason: '' }), Status.PERMISSION_DENIED, /only platform administrators/);
    await refused(as.ops.admin.createOrganization({ orgId: 'initech', owner: 'user:x@y.z', reason: '' }), Status.ALREADY_EXISTS, /org:initech already exists/);
    const bills = await as.peter.admin.grantBinding(grant('user:bill@initech.com', 'owner', 'org:initech', 'co-founder'));
    const peters = (await t.db.pool.query(`SELECT id FROM bindings WHERE subject = 'user:peter@initech.com' AND role = 'owner'`)).rows[0].id as string;
    // Each owner removes the other at the same time: exactly one may win.
    const outcomes = await Promise.allSettled([
      as.peter.admin.revokeBinding({ bindingId: bills.binding!.id, reason: 'dispute' }),
      as.bill.admin.revokeBinding({ bindingId: peters, reason: 'dispute' }),
    ]);
    const failures = outcomes.filter((o) => o.status === 'rejected');
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(failures).toHaveLength(1);
    const error = (failures[0] as PromiseRejectedResult).reason as ClientError;
    // The loser was either refused as the last owner's remover, or no longer an owner at all.
    expect([Status.FAILED_PRECONDITION, Status.PERMISSION_DENIED]).toContain(error.code);
    const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n FROM bindings WHERE org = 'initech' AND role = 'owner'`);
    expect(rows[0].n).toBe(1);
    const survivor = outcomes[0]!.status === 'fulfilled' ? as.peter : as.bill;
    const own = (await t.db.pool.query(`SELECT id FROM bindings WHERE org = 'initech' AND role = 'owner'`)).rows[0].id as string;
    await refused(survivor.admin.revokeBinding({ bindingId: own, reason: 'leaving' }), Status.FAILED_PRECONDITION, /org:initech would have no working owner .*; make another owner first/);
  });
});

describe('resources, roles, groups and keys', () => {
  it('an admin creates a project and a protected environment; a member cannot', async () => {
    await as.adam.admin.putResource({ path: 'org:acme/project:payments', reason: 'new project' });
    await as.adam.admin.putResource({
      path: 'org:acme/project:payments/env:production',
      settings: { protected: true, sensitiveActions: ['flags:enable'], protectedRoles: ['owner', 'admin', 'release_manager'], requireApproval: false, approvalActions: [], showValuesToReaders: false },
      reason: 'prod',
    });
    await refused(as.mia.admin.putResource({ path: 'org:acme/project:mias-pet-project', reason: '' }), Status.PERMISSION_DENIED, /lacks projects:create on org:acme/);
    await refused(as.adam.admin.putResource({ path: 'org:acme/project:nowhere/env:x', reason: '' }), Status.FAILED_PRECONDITION, /org:acme\/project:nowhere does not exist/);
    const { rows } = await t.db.pool.query(`SELECT attributes FROM resources WHERE path = 'org:acme/project:payments/env:production'`);
    expect(rows[0].attributes).toMatchObject({ protected: true, sensitive_actions: ['flags:enable'] });
  });

  it('custom roles: no escalation, and a role in use cannot be deleted', async () => {
    // Defining a role nobody holds changes nobody's access; granting it is judged by what it gives.
    await as.adam.admin.putRole({ org: 'acme', name: 'money', description: '', actions: ['billing:manage'], membership: false, ceiling: [], reason: '' });
    await refused(as.adam.admin.grantBinding(grant('user:mia@acme.com', 'money', 'org:acme')), Status.PERMISSION_DENIED, /user:mia@acme.com would gain billing:manage on org:acme, which user:adam@acme.com does not hold there/);
    await as.olivia.admin.deleteRole({ org: 'acme', name: 'money', reason: '' });
    await as.adam.admin.putRole({ org: 'acme', name: 'flagger', description: 'flags only', actions: ['flags:*'], membership: false, ceiling: [], reason: '' });
    await as.adam.admin.grantBinding(grant('user:mia@acme.com', 'flagger', 'org:acme/project:search/env:development'));
    await refused(as.adam.admin.deleteRole({ org: 'acme', name: 'flagger', reason: '' }), Status.FAILED_PRECONDITION, /role flagger is used by 1 bindings; revoke them first/);
    // A built-in name may be redefined, judged by its effect: an admin may not take from the owners.
    await refused(as.adam.admin.putRole({ org: 'acme', name: 'owner', description: '', actions: ['flags:*'], membership: true, ceiling: [], reason: '' }), Status.PERMISSION_DENIED, /only an owner of org:acme may take access from an owner or admin/);
  });

  it('group members: each organization has its own groups', async () => {
    await as.adam.admin.addGroupMember({ org: 'acme', group: 'group:release-managers', member: 'user:mia@acme.com', reason: 'rotation' });
    const check = await t.grpc(t.adminKey).authz.check({ subject: 'user:mia@acme.com', action: 'flags:rollout', resource: 'org:acme/project:checkout/env:production/flag:f' });
    expect(check.reason?.binding?.subject).toBe('group:release-managers');
    await as.adam.admin.removeGroupMember({ org: 'acme', group: 'group:release-managers', member: 'user:mia@acme.com', reason: 'rotation over' });
    // Another organization's group of the same name is its own: joining it gives nothing in acme.
    await as.ops.admin.createOrganization({ orgId: 'umbrella', owner: 'user:ops@warden.test', reason: 'test' });
    await as.ops.admin.addGroupMember({ org: 'umbrella', group: 'group:release-managers', member: 'user:ops@warden.test', reason: '' });
    const outsider = await t.grpc(t.adminKey).authz.check({ subject: 'user:ops@warden.test', action: 'flags:rollout', resource: 'org:acme/project:checkout/env:production/flag:f' });
    expect(outsider.decision).toBe(Decision.DECISION_DENY);
  });

  it('API keys: created by keys:manage, act only in their organization, and stop working when revoked', async () => {
    await refused(as.mia.admin.createApiKey({ org: 'acme', subject: 'service:ci', description: '', reason: '' }), Status.PERMISSION_DENIED, /lacks keys:manage on org:acme/);
    await refused(as.adam.admin.createApiKey({ org: 'acme', subject: 'user:mia@acme.com', description: '', reason: '' }), Status.INVALID_ARGUMENT, /API keys are for service subjects/);
    const created = await as.adam.admin.createApiKey({ org: 'acme', subject: 'service:checkout-deployer', description: 'deploys', reason: 'ci' });
    expect(created.key).toMatch(/^wdn_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    const { rows } = await t.db.pool.query('SELECT * FROM api_keys WHERE id = $1', [created.keyId]);
    expect(JSON.stringify(rows[0])).not.toContain(created.key.slice(18));
    const deployer = t.grpc(created.key);
    const own = await deployer.authz.check({ subject: 'service:checkout-deployer', action: 'flags:enable', resource: 'org:acme/project:checkout/env:staging/flag:f' });
    expect(own.decision).toBe(Decision.DECISION_ALLOW);
    await refused(deployer.authz.check({ subject: 'user:sarah@acme.com', action: 'flags:enable', resource: 'org:acme/project:checkout/env:staging/flag:f' }), Status.PERMISSION_DENIED, /service:checkout-deployer may ask only about itself here/);
    await as.adam.admin.revokeApiKey({ keyId: created.keyId, reason: 'rotated' });
    await refused(deployer.authz.check({ subject: 'service:checkout-deployer', action: 'flags:read', resource: 'org:acme' }), Status.UNAUTHENTICATED, /the API key is not valid/);
  });
});

describe('the admin API over HTTP (Connect-style JSON)', () => {
  it('GrantBinding with proto3 JSON; errors as {code, message}', async () => {
    const ok = await t.post('/warden.authz.v1.AdminService/GrantBinding', { subject: 'user:sarah@acme.com', role: 'env_reader', scope: 'org:acme/project:search', reason: 'http' }, await t.token('adam@acme.com'));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ binding: { subject: 'user:sarah@acme.com', role: 'env_reader', scope: 'org:acme/project:search', effect: 'EFFECT_ALLOW' }, created: true });
    const denied = await t.post('/warden.authz.v1.AdminService/GrantBinding', { subject: 'user:sarah@acme.com', role: 'admin', scope: 'org:acme' }, await t.token('adam@acme.com'));
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 'permission_denied', message: expect.stringMatching(/^only an owner of org:acme may grant owner-level actions: user:sarah@acme.com would gain /) });
    const unauthenticated = await t.post('/warden.authz.v1.AdminService/GrantBinding', {});
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body).toMatchObject({ code: 'unauthenticated' });
    const check = await t.post('/warden.authz.v1.AuthzService/Check', { subject: 'user:sarah@acme.com', action: 'flags:read', resource: 'org:acme/project:search/env:staging' }, t.adminKey);
    expect(check.body).toMatchObject({ decision: 'DECISION_ALLOW' });
  });
});
