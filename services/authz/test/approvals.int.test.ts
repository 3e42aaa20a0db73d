/**
 * Change requests through the real gRPC server on real Postgres (the acme world, production
 * checkout switched to require two approvals): every refusal with its precise status, the
 * content-hash binding, apply-once, expiry, listing, and the audit events in the outbox.
 */
import { ClientError, Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeContentHash } from '@warden/audit-events';
import { Decision, Effect } from '@warden/proto/authz/v1';
import { RequestState } from '@warden/proto/authz/v1/approvals';
import { WatchServiceDefinition } from '@warden/proto/authz/v1/watch';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { startTestApp, type TestApp } from './support/app.js';
import { createApprovals } from '../src/usecases/approvals.js';
import { PgGrantQueries } from '../src/adapters/postgres/pg-grant-queries.js';
import { PgGrantStore } from '../src/adapters/postgres/pg-grant-store.js';
import { PgGrantWriter } from '../src/adapters/postgres/pg-grant-writer.js';
import { PgRequestQueries } from '../src/adapters/postgres/pg-request-store.js';

const PROD = 'org:acme/project:checkout/env:production';
const FLAG = `${PROD}/flag:checkout-v2`;
const PEOPLE = ['olivia', 'adam', 'sarah', 'sam', 'alex', 'mia', 'victor', 'peter'] as const;
type Person = (typeof PEOPLE)[number];

let t: TestApp;
let as: Record<Person, ReturnType<TestApp['grpc']>>;

export async function refused(call: Promise<unknown>, code: Status, message: RegExp): Promise<void> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error, 'the call must fail').toBeInstanceOf(ClientError);
  expect(Status[(error as ClientError).code]).toBe(Status[code]);
  expect((error as ClientError).details).toMatch(message);
}

const change = { action: 'flags:enable', resource: FLAG, before: { enabled: false }, after: { enabled: true } };
const hash = changeContentHash(change);

beforeAll(async () => {
  t = await startTestApp({ AUTHZ_KEY_CACHE_MS: '0' }, (await import('pino')).pino({ level: 'error' }));
  as = Object.fromEntries(await Promise.all(PEOPLE.map(async (p) => [p, t.grpc(await t.token(`${p}@${p === 'peter' ? 'initech' : 'acme'}.com`))] as const))) as typeof as;
  const owner = t.grpc(t.adminKey);
  await owner.admin.putResource({
    path: PROD,
    settings: { protected: true, sensitiveActions: ['flags:enable', 'flags:rollout', 'variables:write', 'secrets:reveal'], protectedRoles: ['owner', 'admin', 'release_manager'], requireApproval: true, approvalActions: [], showValuesToReaders: false, requiredApprovals: 2 },
    reason: 'production needs two approvals',
  });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

async function open(who: Person = 'sarah', extra: Record<string, unknown> = {}) {
  const response = await as[who].approvals.openChangeRequest({ ...change, reason: 'launch checkout v2', ticket: 'REL-7', ...extra });
  return response.request!;
}

describe('opening', () => {
  it('sarah (release manager) is REQUIRES_APPROVAL for flags:enable on production; her request carries the hash and needs 2 approvals', async () => {
    const check = await as.sarah.authz.check({ subject: 'user:sarah@acme.com', action: 'flags:enable', resource: FLAG });
    expect(check.decision).toBe(Decision.DECISION_REQUIRES_APPROVAL);
    const request = await open();
    expect(request).toMatchObject({ requester: 'user:sarah@acme.com', state: RequestState.REQUEST_STATE_PENDING, contentHash: hash, requiredApprovals: 2, ticket: 'REL-7', before: { enabled: false }, after: { enabled: true } });
    expect(request.expiresAt!.getTime() - request.createdAt!.getTime()).toBe(24 * 3600_000);
  });

  it('refuses a request nobody needs, one that could never be allowed, malformed input, and acting for another without authz:check', async () => {
    await refused(as.olivia.approvals.openChangeRequest({ ...change, reason: 'x' }), Status.FAILED_PRECONDITION, /allowed flags:enable .* without approval: no request is needed/);
    await refused(as.mia.approvals.openChangeRequest({ ...change, reason: 'x' }), Status.PERMISSION_DENIED, /user:mia@acme.com may not flags:enable on .*even with approval/);
    await refused(as.sarah.approvals.openChangeRequest({ ...change, resource: 'org:acme//x' }), Status.INVALID_ARGUMENT, /^resource/);
    await refused(as.sarah.approvals.openChangeRequest({ ...change, action: 'flags:' }), Status.INVALID_ARGUMENT, /^action/);
    await refused(as.sarah.approvals.openChangeRequest({ ...change, ttlSeconds: -1 }), Status.INVALID_ARGUMENT, /ttl_seconds/);
    await refused(as.sam.approvals.openChangeRequest({ ...change, requester: 'user:sarah@acme.com' }), Status.PERMISSION_DENIED, /acting for user:sarah@acme.com needs authz:check/);
    await refused(t.grpc().approvals.openChangeRequest(change), Status.UNAUTHENTICATED, /credentials/);
  });
});

describe('approving (attacks first)', () => {
  it('the requester cannot approve its own request', async () => {
    const request = await open();
    await refused(as.sarah.approvals.approveRequest({ id: request.id, reason: 'lgtm' }), Status.PERMISSION_DENIED, /user:sarah@acme.com may not approve its own request/);
  });

  it('a subject without approvals:approve is not an eligible approver; nor is another organization', async () => {
    const request = await open();
    await refused(as.alex.approvals.approveRequest({ id: request.id }), Status.PERMISSION_DENIED, /user:alex@acme.com is not an eligible approver/);
    await refused(as.peter.approvals.approveRequest({ id: request.id }), Status.PERMISSION_DENIED, /not an eligible approver/);
    await refused(as.peter.approvals.getRequest({ id: request.id }), Status.PERMISSION_DENIED, /lacks approvals:read/);
  });

  it('one approver counts once; two distinct approvers approve; only the approved content applies, only by the requester, once', async () => {
    const request = await open();
    const first = await as.adam.approvals.approveRequest({ id: request.id, reason: 'looks right' });
    expect(first.request!.state).toBe(RequestState.REQUEST_STATE_PENDING);
    await refused(as.adam.approvals.approveRequest({ id: request.id }), Status.FAILED_PRECONDITION, /already approved .* 2 distinct subjects/);
    await refused(as.sarah.approvals.applyRequest({ id: request.id, contentHash: hash }), Status.FAILED_PRECONDITION, /is pending; only a approved request can be applied/);
    const second = await as.olivia.approvals.approveRequest({ id: request.id, reason: 'ship it' });
    expect(second.request!.state).toBe(RequestState.REQUEST_STATE_APPROVED);
    expect(second.request!.approvals.map((a) => a.by)).toEqual(['user:adam@acme.com', 'user:olivia@acme.com']);
    const other = changeContentHash({ ...change, after: { enabled: true, rollout: 100 } });
    await refused(as.sarah.approvals.applyRequest({ id: request.id, contentHash: other }), Status.FAILED_PRECONDITION, /differs from what request .* approved/);
    await refused(as.sarah.approvals.applyRequest({ id: request.id, contentHash: 'nope' }), Status.INVALID_ARGUMENT, /content_hash/);
    await refused(as.alex.approvals.applyRequest({ id: request.id, contentHash: hash }), Status.PERMISSION_DENIED, /only its requester user:sarah@acme.com may/);
    const applied = await as.sarah.approvals.applyRequest({ id: request.id, contentHash: hash });
    expect(applied.request!.state).toBe(RequestState.REQUEST_STATE_APPLIED);
    await refused(as.sarah.approvals.applyRequest({ id: request.id, contentHash: hash }), Status.FAILED_PRECONDITION, /already applied/);

    // The timeline: every step an audit event in the outbox, in order, with actor and reason.
    const { rows } = await t.db.pool.query<{ event: { action: string; actor: { id: string }; reason: string | null; after: { approvers: string[]; change?: unknown } } }>(
      `SELECT event FROM outbox WHERE event->>'key' = $1 ORDER BY revision`,
      [request.id],
    );
    expect(rows.map((r) => `${r.event.action} ${r.event.actor.id}`)).toEqual([
      'request.opened sarah@acme.com',
      'request.approved adam@acme.com',
      'request.approved olivia@acme.com',
      'request.applied sarah@acme.com',
    ]);
    expect(rows[0]!.event.after.change).toEqual({ before: { enabled: false }, after: { enabled: true } });
    expect(rows[3]!.event.after).toMatchObject({ approvers: ['user:adam@acme.com', 'user:olivia@acme.com'], change: { after: { enabled: true } } });
    expect(rows[1]!.event.reason).toBe('looks right');
  });

  it('one rejection rejects (with a reason); cancel is the requester or approvals:manage', async () => {
    const request = await open();
    await as.adam.approvals.approveRequest({ id: request.id });
    await refused(as.olivia.approvals.rejectRequest({ id: request.id }), Status.INVALID_ARGUMENT, /reason: is required/);
    const rejected = await as.olivia.approvals.rejectRequest({ id: request.id, reason: 'not during the freeze' });
    expect(rejected.request!.state).toBe(RequestState.REQUEST_STATE_REJECTED);
    await refused(as.sarah.approvals.applyRequest({ id: request.id, contentHash: hash }), Status.FAILED_PRECONDITION, /is rejected/);

    const another = await open();
    await refused(as.alex.approvals.cancelRequest({ id: another.id }), Status.PERMISSION_DENIED, /only its requester or a subject allowed approvals:manage/);
    expect((await as.sarah.approvals.cancelRequest({ id: another.id, reason: 'wrong flag' })).request!.state).toBe(RequestState.REQUEST_STATE_CANCELLED);
  });

  it('an expired request cannot be approved and is recorded expired', async () => {
    const request = await open('sarah', { ttlSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await as.sarah.approvals.getRequest({ id: request.id })).request!.state).toBe(RequestState.REQUEST_STATE_EXPIRED);
    await refused(as.adam.approvals.approveRequest({ id: request.id }), Status.FAILED_PRECONDITION, /expired at/);
    const { rows } = await t.db.pool.query(`SELECT state FROM change_requests WHERE id = $1`, [request.id]);
    expect(rows[0].state).toBe('expired');
  });

  it('the sweep records expired requests as expired, each with its audit event by system:approvals', async () => {
    const due = await open('sarah', { ttlSeconds: 1 });
    const live = await open();
    const pool = t.db.pool;
    const approvals = createApprovals({ source: new PgGrantStore(pool), queries: new PgGrantQueries(pool), writer: new PgGrantWriter(pool), requests: new PgRequestQueries(pool), platformAdmins: new Set(), now: () => Date.now() + 1500 });
    expect(await approvals.expireDue(1000)).toBeGreaterThanOrEqual(1);
    const { rows } = await pool.query<{ id: string; state: string }>(`SELECT id::text, state FROM change_requests WHERE id = ANY($1::uuid[])`, [[due.id, live.id]]);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.state]))).toEqual({ [due.id]: 'expired', [live.id]: 'pending' });
    const events = await pool.query(`SELECT event FROM outbox WHERE event->>'key' = $1 AND event->>'action' = 'request.expired'`, [due.id]);
    expect(events.rows[0].event).toMatchObject({ actor: { id: 'warden.approvals' }, after: { state: 'expired' } });
    expect(await approvals.expireDue(1000)).toBe(0);
  });

  it('an approval never overrides a denial: a requester whose access was revoked since may not apply', async () => {
    const request = await open('alex');
    await as.adam.approvals.approveRequest({ id: request.id });
    await as.olivia.approvals.approveRequest({ id: request.id });
    await as.olivia.admin.removeGroupMember({ org: 'acme', group: 'group:release-managers', member: 'user:alex@acme.com', reason: 'left the team' });
    await refused(as.alex.approvals.applyRequest({ id: request.id, contentHash: hash }), Status.PERMISSION_DENIED, /user:alex@acme.com may no longer flags:enable .*does not override a denial/);
    expect((await as.alex.approvals.getRequest({ id: request.id })).request!.state).toBe(RequestState.REQUEST_STATE_APPROVED);
  });

  it('unknown and malformed ids', async () => {
    await refused(as.adam.approvals.approveRequest({ id: 'x' }), Status.INVALID_ARGUMENT, /^id: /);
    await refused(as.adam.approvals.approveRequest({ id: '01900000-0000-7000-8000-000000000000' }), Status.NOT_FOUND, /does not exist/);
  });
});

describe('concurrency and Watch', () => {
  it('concurrent applies of one approved request: exactly one succeeds', async () => {
    const request = await open();
    await as.adam.approvals.approveRequest({ id: request.id });
    await as.olivia.approvals.approveRequest({ id: request.id });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => as.sarah.approvals.applyRequest({ id: request.id, contentHash: hash })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(Status[(r.reason as ClientError).code]).toBe('FAILED_PRECONDITION');
    const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n FROM outbox WHERE event->>'key' = $1 AND event->>'action' = 'request.applied'`, [request.id]);
    expect(rows[0].n).toBe(1);
  });

  it('concurrent approvals by the same approver count once', async () => {
    const request = await open();
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => as.adam.approvals.approveRequest({ id: request.id })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await as.sarah.approvals.getRequest({ id: request.id })).request!.approvals).toHaveLength(1);
  });

  // Also the regression test of the change feed's pump (it stopped for good after a revision committed with no watcher).
  it('Watch streams every request step of the organization', async () => {
    const channel = createChannel(t.app.grpcAddress);
    const watch = createClient(WatchServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${await t.token('olivia@acme.com')}` }) } });
    const abort = new AbortController();
    const kinds: string[] = [];
    let failure: unknown;
    const seen = (async () => {
      try {
        for await (const event of watch.watch({ afterRevision: 0, fromNow: true, org: 'acme' }, { signal: abort.signal })) {
          for (const c of event.changes) kinds.push(`${c.kind} ${c.actor}`);
          if (kinds.some((k) => k.startsWith('request.cancelled'))) return;
        }
      } catch (error) {
        if (!abort.signal.aborted) failure = error;
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const request = await open();
    await as.adam.approvals.approveRequest({ id: request.id });
    await as.sarah.approvals.cancelRequest({ id: request.id, reason: 'changed my mind' });
    await Promise.race([seen, new Promise((r) => setTimeout(r, 5000))]);
    abort.abort();
    channel.close();
    expect(failure).toBeUndefined();
    expect(kinds).toEqual(['request.opened user:sarah@acme.com', 'request.approved user:adam@acme.com', 'request.cancelled user:sarah@acme.com']);
  });
});

describe('listing', () => {
  it('members list pending changes at a scope; viewers may not', async () => {
    const request = await open();
    const listed = await as.mia.approvals.listRequests({ scope: 'org:acme/project:checkout', state: RequestState.REQUEST_STATE_PENDING, limit: 100, pageToken: '' });
    expect(listed.requests.map((r) => r.id)).toContain(request.id);
    expect(listed.requests.every((r) => r.state === RequestState.REQUEST_STATE_PENDING)).toBe(true);
    await refused(as.victor.approvals.listRequests({ scope: 'org:acme', state: 0, limit: 10, pageToken: '' }), Status.PERMISSION_DENIED, /user:victor@acme.com may not list the requests of org:acme: it lacks approvals:read/);
    const page = await as.mia.approvals.listRequests({ scope: 'org:acme', state: 0, limit: 2, pageToken: '' });
    expect(page.requests).toHaveLength(2);
    const next = await as.mia.approvals.listRequests({ scope: 'org:acme', state: 0, limit: 2, pageToken: page.nextPageToken });
    expect(next.requests[0]!.id < page.requests[1]!.id).toBe(true);
  });

  it('a PEP (authz:check on the resource) reads a request it may act on, and lists nothing without approvals:read', async () => {
    const request = await open();
    const gateway = t.grpc((await t.grpc(t.adminKey).admin.createApiKey({ org: 'acme', subject: 'service:gateway', description: 'pep', reason: 'test' })).key);
    expect((await gateway.approvals.getRequest({ id: request.id })).request!.id).toBe(request.id);
    await refused(gateway.approvals.listRequests({ scope: 'org:acme', state: 0, limit: 10, pageToken: '' }), Status.PERMISSION_DENIED, /lacks approvals:read/);
    await refused(as.victor.approvals.getRequest({ id: request.id }), Status.PERMISSION_DENIED, /user:victor@acme.com may not read request .*: it lacks approvals:read/);
  });

  it('over the Connect HTTP route too', async () => {
    const request = await open();
    const response = await t.post('/warden.authz.v1.ApprovalsService/GetRequest', { id: request.id }, await t.token('mia@acme.com'));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ request: { id: request.id, contentHash: hash } });
    const bad = await t.post('/warden.authz.v1.ApprovalsService/ApproveRequest', { id: request.id }, await t.token('sarah@acme.com'));
    expect(bad.status).toBe(403);
  });
});

describe('the required approvals setting is governed', () => {
  it('reads back through the directory (the console keeps it when it edits other settings)', async () => {
    const response = await t.post('/warden.authz.v1.DirectoryService/ListResources', { scope: 'org:acme/project:checkout', resourceType: 'env' }, await t.token('olivia@acme.com'));
    const prod = (response.body as { resources: Array<{ path: string; settings?: { requiredApprovals?: number } }> }).resources.find((r) => r.path === PROD);
    expect(prod?.settings?.requiredApprovals).toBe(2);
  });

  it('lowering it needs an owner; an admin may not', async () => {
    await refused(
      as.adam.admin.putResource({ path: PROD, settings: { protected: true, sensitiveActions: ['flags:enable', 'flags:rollout', 'variables:write', 'secrets:reveal'], protectedRoles: ['owner', 'admin', 'release_manager'], requireApproval: true, approvalActions: [], showValuesToReaders: false, requiredApprovals: 1 } }),
      Status.PERMISSION_DENIED,
      /only an owner of org:acme may loosen the rules of .*needs 1 approval\(s\) instead of 2/,
    );
    await refused(as.olivia.admin.putResource({ path: PROD, settings: { protectedRoles: [], sensitiveActions: [], approvalActions: [], requiredApprovals: 11 } }), Status.INVALID_ARGUMENT, /required_approvals/);
  });
});

export { Effect };
