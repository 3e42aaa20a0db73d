/**
 * Access requests (just-in-time access) and break-glass through the real gRPC server on real
 * Postgres (the acme world). Attacks first: a requester approving its own request, an approver
 * who could not grant the access itself, another organization, break-glass without the action,
 * without a reason, for owner-level access, twice while a review is open.
 */
import { ClientError, Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeContentHash } from '@warden/audit-events';
import { Decision, Effect } from '@warden/proto/authz/v1';
import { RequestState } from '@warden/proto/authz/v1/approvals';
import { startTestApp, type TestApp } from './support/app.js';

const STAGING = 'org:acme/project:checkout/env:staging';
const PROD = 'org:acme/project:checkout/env:production';
const PEOPLE = ['olivia', 'adam', 'sam', 'mia', 'peter', 'dana'] as const;
type Person = (typeof PEOPLE)[number];

let t: TestApp;
let as: Record<Person, ReturnType<TestApp['grpc']>>;

async function refused(call: Promise<unknown>, code: Status, message: RegExp): Promise<void> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error, 'the call must fail').toBeInstanceOf(ClientError);
  expect(Status[(error as ClientError).code]).toBe(Status[code]);
  expect((error as ClientError).details).toMatch(message);
}

beforeAll(async () => {
  t = await startTestApp({ AUTHZ_KEY_CACHE_MS: '0', AUTHZ_PLATFORM_ADMINS: 'user:ops@warden.test' });
  as = Object.fromEntries(await Promise.all(PEOPLE.map(async (p) => [p, t.grpc(await t.token(`${p}@${p === 'peter' ? 'initech' : 'acme'}.com`))] as const))) as typeof as;
  // initech: another organization whose owner is peter.
  const ops = t.grpc(await t.token('ops@warden.test'));
  await ops.admin.createOrganization({ orgId: 'initech', owner: 'user:peter@initech.com', reason: 'tenant' });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const writerAt = (scope: string, seconds = 3600) => ({ grant: { subject: '', role: 'env_writer', actions: [], scope, durationSeconds: seconds }, reason: 'on call this week', ticket: 'OPS-1', ttlSeconds: 0 });
const decision = async (subject: string, action: string, resource: string, revision: number) =>
  (await t.grpc(t.adminKey).authz.check({ subject, action, resource, consistency: { requirement: { $case: 'atLeastRevision', value: revision } } })).decision;

describe('access requests (attacks first)', () => {
  it('the requester cannot approve its own access request', async () => {
    const { request } = await as.mia.approvals.requestAccess(writerAt(STAGING));
    await refused(as.mia.approvals.approveRequest({ id: request!.id }), Status.PERMISSION_DENIED, /may not approve its own request/);
  });

  it('an approver who could not grant the access itself is not eligible', async () => {
    const { request } = await as.mia.approvals.requestAccess(writerAt(STAGING));
    // sam writes checkout but may not manage roles.
    await refused(as.sam.approvals.approveRequest({ id: request!.id }), Status.PERMISSION_DENIED, /user:sam@acme.com is not an eligible approver/);
    // adam (admin) may not grant owner-level access: an access request for admin needs an owner.
    const admin = await as.mia.approvals.requestAccess({ ...writerAt('org:acme'), grant: { ...writerAt('org:acme').grant, role: 'admin' } });
    await refused(as.adam.approvals.approveRequest({ id: admin.request!.id }), Status.PERMISSION_DENIED, /user:adam@acme.com is not an eligible approver/);
  });

  it('another organization cannot see or approve it', async () => {
    const { request } = await as.mia.approvals.requestAccess(writerAt(STAGING));
    await refused(as.peter.approvals.approveRequest({ id: request!.id }), Status.PERMISSION_DENIED, /not an eligible approver/);
    await refused(as.peter.approvals.getRequest({ id: request!.id }), Status.PERMISSION_DENIED, /lacks approvals:read/);
    // An initech key does not even find it.
    const key = await as.peter.admin.createApiKey({ org: 'initech', subject: 'service:initech-bot', description: 'bot', reason: 'test' });
    await refused(t.grpc(key.key).approvals.approveRequest({ id: request!.id }), Status.NOT_FOUND, /does not exist/);
    // Nor can a request name a scope of another organization from a key of this one.
    await refused(t.grpc(key.key).approvals.requestAccess(writerAt(STAGING)), Status.PERMISSION_DENIED, /acts only within org:initech/);
  });

  it('bad input is INVALID_ARGUMENT and changes nothing', async () => {
    await refused(as.mia.approvals.requestAccess({ ...writerAt(STAGING), reason: '' }), Status.INVALID_ARGUMENT, /^reason: is required/);
    await refused(as.mia.approvals.requestAccess(writerAt(STAGING, 0)), Status.INVALID_ARGUMENT, /grant.duration_seconds/);
    await refused(as.mia.approvals.requestAccess({ ...writerAt(STAGING), grant: { ...writerAt(STAGING).grant, subject: 'user:sam@acme.com' } }), Status.INVALID_ARGUMENT, /grant.subject/);
    await refused(as.mia.approvals.requestAccess({ ...writerAt(STAGING), grant: { ...writerAt(STAGING).grant, role: 'nope' } }), Status.INVALID_ARGUMENT, /role nope is not defined/);
  });

  it('an admin who could grant it approves: the binding is created with its expiry, by the approver, in the same write', async () => {
    expect(await decision('user:mia@acme.com', 'variables:write', `${STAGING}/variable:X`, 0)).toBe(Decision.DECISION_DENY);
    const { request } = await as.mia.approvals.requestAccess(writerAt(STAGING, 1800));
    const before = Date.now();
    const approved = await as.adam.approvals.approveRequest({ id: request!.id, reason: 'ok for the week' });
    expect(approved.request).toMatchObject({ state: RequestState.REQUEST_STATE_APPLIED, approvals: [{ by: 'user:adam@acme.com' }] });
    expect(approved.request!.bindingId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await decision('user:mia@acme.com', 'variables:write', `${STAGING}/variable:X`, approved.revision)).toBe(Decision.DECISION_ALLOW);
    const { rows } = await t.db.pool.query(`SELECT granted_by, expires_at FROM bindings WHERE id = $1`, [approved.request!.bindingId]);
    expect(rows[0].granted_by).toBe('user:adam@acme.com');
    const expires = (rows[0].expires_at as Date).getTime();
    expect(expires).toBeGreaterThanOrEqual(before + 1800_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 1800_000);
    const events = await t.db.pool.query<{ action: string }>(`SELECT event->>'action' AS action FROM outbox WHERE revision = $1 ORDER BY id`, [approved.revision]);
    expect(events.rows.map((r) => r.action).sort()).toEqual(['binding.created', 'request.applied', 'request.approved']);
  });
});

describe('break-glass (attacks first)', () => {
  const flag = `${PROD}/flag:checkout-v2`;
  const change = { action: 'flags:enable', resource: flag, before: { enabled: false }, after: { enabled: true } };

  it('without approvals:break_glass, refused; admins do not hold it; only an owner can grant it', async () => {
    await refused(as.sam.approvals.breakGlass({ ...change, reason: 'outage', durationSeconds: 0 }), Status.PERMISSION_DENIED, /lacks approvals:break_glass/);
    await refused(as.adam.approvals.breakGlass({ ...change, reason: 'outage', durationSeconds: 0 }), Status.PERMISSION_DENIED, /lacks approvals:break_glass/);
    await refused(
      as.adam.admin.grantBinding({ subject: 'user:sam@acme.com', role: '', actions: ['approvals:break_glass'], scope: PROD, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'on call' }),
      Status.PERMISSION_DENIED,
      /user:sam@acme.com would gain approvals:break_glass on .*, which user:adam@acme.com does not hold there/,
    );
    await as.olivia.admin.grantBinding({ subject: 'user:sam@acme.com', role: '', actions: ['approvals:break_glass'], scope: 'org:acme/project:checkout', effect: Effect.EFFECT_ALLOW, condition: '', reason: 'on call' });
  });

  it('needs a reason and a bounded time', async () => {
    await refused(as.sam.approvals.breakGlass({ ...change, reason: '', durationSeconds: 0 }), Status.INVALID_ARGUMENT, /^reason: is required/);
    await refused(as.sam.approvals.breakGlass({ ...change, reason: 'x', durationSeconds: 9 * 3600 }), Status.INVALID_ARGUMENT, /duration_seconds/);
  });

  it('never grants owner-level access, nor access for someone else', async () => {
    await refused(
      as.sam.approvals.breakGlass({ action: '', resource: '', access: { subject: '', role: 'admin', actions: [], scope: 'org:acme/project:checkout', durationSeconds: 600 }, reason: 'outage', durationSeconds: 600 }),
      Status.PERMISSION_DENIED,
      /break-glass never grants owner-level actions/,
    );
    await refused(
      as.sam.approvals.breakGlass({ action: '', resource: '', access: { subject: 'user:mia@acme.com', role: 'env_writer', actions: [], scope: 'org:acme/project:checkout', durationSeconds: 600 }, reason: 'outage', durationSeconds: 600 }),
      Status.PERMISSION_DENIED,
      /break-glass grants user:sam@acme.com itself/,
    );
  });

  it('access, then a change without approval: flagged, applied once; each next break-glass waits for an owner to close the review', async () => {
    // sam is not a release manager: production's flags:enable is DENY for him; break-glass skips approval, never a denial.
    await refused(as.sam.approvals.breakGlass({ ...change, reason: 'checkout is down', durationSeconds: 600 }), Status.PERMISSION_DENIED, /break-glass skips approval, not a denial/);

    // Access without approval: a binding for sam that expires within the bound.
    expect(await decision('user:sam@acme.com', 'secrets:reveal', `${PROD}/secret:STRIPE`, 0)).toBe(Decision.DECISION_DENY);
    const access = await as.sam.approvals.breakGlass({
      action: '', resource: '', access: { subject: '', role: 'release_manager', actions: [], scope: PROD, durationSeconds: 0 }, reason: 'rotate the leaked key', durationSeconds: 900,
    });
    expect(access.request).toMatchObject({ kind: 'access', state: RequestState.REQUEST_STATE_APPLIED, breakGlass: true });
    expect(await decision('user:sam@acme.com', 'secrets:reveal', `${PROD}/secret:STRIPE`, access.revision)).toBe(Decision.DECISION_ALLOW);
    const { rows } = await t.db.pool.query(`SELECT expires_at FROM bindings WHERE id = $1`, [access.request!.bindingId]);
    expect((rows[0].expires_at as Date).getTime()).toBeLessThanOrEqual(Date.now() + 900_000);
    // Every timeline shows the flag.
    const events = await t.db.pool.query<{ after: { break_glass: boolean } }>(`SELECT event->'after' AS after FROM outbox WHERE event->>'key' = $1`, [access.request!.id]);
    expect(events.rows.length).toBeGreaterThan(0);
    expect(events.rows.every((r) => r.after.break_glass)).toBe(true);

    // The next break-glass waits for the review.
    await refused(as.sam.approvals.breakGlass({ ...change, reason: 'again', durationSeconds: 600 }), Status.FAILED_PRECONDITION, /has a review still open: an owner must close it/);
    await refused(as.sam.approvals.closeReview({ id: access.request!.id, reason: 'fine' }), Status.PERMISSION_DENIED, /only an owner/);
    await refused(as.adam.approvals.closeReview({ id: access.request!.id, reason: 'fine' }), Status.PERMISSION_DENIED, /only an owner/);
    await refused(as.olivia.approvals.closeReview({ id: access.request!.id }), Status.INVALID_ARGUMENT, /reason/);
    const closed = await as.olivia.approvals.closeReview({ id: access.request!.id, reason: 'reviewed the key rotation' });
    expect(closed.request!.reviewClosed).toMatchObject({ by: 'user:olivia@acme.com', reason: 'reviewed the key rotation' });

    // Now a release manager for a while, sam's flags:enable needs approval: break-glass takes the change without it.
    const { request } = await as.sam.approvals.breakGlass({ ...change, reason: 'checkout is down', ticket: 'INC-9', durationSeconds: 600 });
    expect(request).toMatchObject({ state: RequestState.REQUEST_STATE_APPROVED, breakGlass: true, requester: 'user:sam@acme.com' });
    expect(request!.expiresAt!.getTime() - request!.createdAt!.getTime()).toBe(600_000);
    expect(request!.history.map((s) => s.kind)).toEqual(['opened', 'break_glass']);
    const applied = await as.sam.approvals.applyRequest({ id: request!.id, contentHash: changeContentHash(change) });
    expect(applied.request!.state).toBe(RequestState.REQUEST_STATE_APPLIED);
    await refused(as.sam.approvals.breakGlass({ ...change, reason: 'once more', durationSeconds: 600 }), Status.FAILED_PRECONDITION, /review still open/);
  });
});
