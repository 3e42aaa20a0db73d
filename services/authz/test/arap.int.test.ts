/**
 * The AuthZEN Access Request and Approval Profile (Draft 1) over HTTP, against the real app on
 * real Postgres: a denial for want of a binding is requestable; the PEP (service:gateway,
 * authz:check) submits it for its user; a forged, swapped or stale binding is refused with the
 * profile's problem types; an admin who could grant it approves; the task reads approved with a
 * re-evaluation result, and the re-evaluation allows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Effect } from '@warden/proto/authz/v1';
import { startTestApp, type TestApp } from './support/app.js';

const STAGING = 'org:acme/project:checkout/env:staging';
let t: TestApp;
let pep: string;

beforeAll(async () => {
  t = await startTestApp({ AUTHZ_KEY_CACHE_MS: '0' });
  // The gateway of the world file holds authz:check (role gateway); give it a key.
  pep = (await t.grpc(t.adminKey).admin.createApiKey({ org: 'acme', subject: 'service:gateway', description: 'pep', reason: 'test' })).key;
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const tuple = { subject: { type: 'user', id: 'mia@acme.com' }, action: { name: 'variables:write' }, resource: { type: 'variable', id: `${STAGING}/variable:X` } };

async function get(route: string, credential: string) {
  const response = await fetch(`${t.app.httpUrl}${route}`, { headers: { authorization: `Bearer ${credential}` } });
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Record<string, any> };
}

describe('AuthZEN Access Request and Approval Profile', () => {
  it('a NO_BINDING denial is requestable; an explicit denial is not', async () => {
    const denied = await t.post('/access/v1/evaluation', tuple, pep);
    const context = (denied.body as { decision: boolean; context: Record<string, any> }).context;
    expect((denied.body as { decision: boolean }).decision).toBe(false);
    expect(context).toMatchObject({ reason: 'no_binding', access_request: { endpoint: `${t.app.httpUrl}/access/v1/requests` } });
    expect(Date.parse(context['access_request'].expires_at) - Date.now()).toBeGreaterThan(9 * 60_000);
    // chris is denied secrets:reveal by a deny binding: not requestable.
    const deny = await t.post('/access/v1/evaluation', { subject: { type: 'user', id: 'chris@acme.com' }, action: { name: 'secrets:reveal' }, resource: { type: 'secret', id: 'org:acme/project:checkout/env:development/secret:K' } }, pep);
    expect((deny.body as { context: Record<string, unknown> }).context['access_request']).toBeUndefined();
  });

  it('refuses forged, swapped and missing bindings with the profile problem types', async () => {
    const { access_request: hint } = ((await t.post('/access/v1/evaluation', tuple, pep)).body as { context: Record<string, any> }).context;
    const denial = { expires_at: hint.expires_at, binding_token: hint.binding_token, reason: 'no_binding' };
    const forged = await t.post('/access/v1/requests', { ...tuple, denial: { ...denial, binding_token: `${hint.binding_token.slice(0, -2)}AA` } }, pep);
    expect(forged.status).toBe(400);
    expect(forged.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(forged.body).toMatchObject({ type: 'urn:openid:authzen:access-request:error:invalid_denial_binding', status: 400 });
    const swapped = await t.post('/access/v1/requests', { ...tuple, action: { name: 'secrets:reveal' }, denial }, pep);
    expect(swapped.body).toMatchObject({ type: 'urn:openid:authzen:access-request:error:invalid_denial_binding' });
    const missing = await t.post('/access/v1/requests', { ...tuple, denial: { expires_at: hint.expires_at, evaluation_id: 'x' } }, pep);
    expect(missing.body).toMatchObject({ type: 'urn:openid:authzen:access-request:error:invalid_denial_binding' });
    const moved = await t.post('/access/v1/requests', { ...tuple, denial: { ...denial, expires_at: new Date(Date.parse(hint.expires_at) + 60_000).toISOString() } }, pep);
    expect(moved.body).toMatchObject({ type: 'urn:openid:authzen:access-request:error:invalid_denial_binding' });
    // Another PEP without authz:check may not ask for mia.
    const sam = await t.post('/access/v1/requests', { ...tuple, denial }, await t.token('sam@acme.com'));
    expect(sam.status).toBe(403);
  });

  it('submit, approve by someone who could grant it, read the task, re-evaluate: allowed', async () => {
    const { access_request: hint } = ((await t.post('/access/v1/evaluation', tuple, pep)).body as { context: Record<string, any> }).context;
    const until = new Date(Date.now() + 2 * 3600_000).toISOString();
    const submitted = await t.post(
      '/access/v1/requests',
      { ...tuple, context: { business_justification: 'hotfix for INC-7' }, requested_access: { requested_until: until }, denial: { expires_at: hint.expires_at, binding_token: hint.binding_token, reason: 'no_binding' } },
      pep,
    );
    expect(submitted.status).toBe(202);
    const task = (submitted.body as { task: Record<string, any> }).task;
    expect(task).toMatchObject({ status: 'pending', links: { cancel: `${task['status_endpoint']}/cancel` } });
    expect(submitted.headers.get('location')).toBe(task['status_endpoint']);
    const path = new URL(task['status_endpoint']).pathname;

    // mia cannot approve her own; sam could not grant it; adam (admin) can.
    const id = task['id'] as string;
    await expect(t.grpc(await t.token('mia@acme.com')).approvals.approveRequest({ id, reason: '' })).rejects.toThrow(/own request/);
    await expect(t.grpc(await t.token('sam@acme.com')).approvals.approveRequest({ id, reason: '' })).rejects.toThrow(/not an eligible approver/);
    expect((await get(path, pep)).body['task'].status).toBe('pending');
    await t.grpc(await t.token('adam@acme.com')).approvals.approveRequest({ id, reason: 'ok' });

    const done = await get(path, pep);
    expect(done.body).toMatchObject({ task: { id, status: 'approved' }, result: { mode: 'reevaluate', approval: { id } } });
    expect(Date.parse(done.body['result'].approval.approved_until) - Date.parse(until)).toBeLessThan(5000);
    const again = await t.post('/access/v1/evaluation', { ...tuple, context: { approval: done.body['result'].approval } }, pep);
    expect((again.body as { decision: boolean }).decision).toBe(true);

    // Cancelling a task that finished is invalid_task_state.
    const cancel = await t.post(`${path}/cancel`, {}, pep);
    expect(cancel.status).toBe(409);
    expect(cancel.body).toMatchObject({ type: 'urn:openid:authzen:access-request:error:invalid_task_state' });
    expect((await get('/access/v1/requests/01900000-0000-7000-8000-000000000000', pep)).body).toMatchObject({ type: 'urn:openid:authzen:access-request:error:unknown_task', status: 404 });
  });

  it('an Idempotency-Key retry finds its task; the same key with other content is duplicate_request', async () => {
    const other = { ...tuple, resource: { type: 'variable', id: 'org:acme/project:search/env:development/variable:Z' } };
    const { access_request: hint } = ((await t.post('/access/v1/evaluation', other, pep)).body as { context: Record<string, any> }).context;
    const body = { ...other, denial: { expires_at: hint.expires_at, binding_token: hint.binding_token } };
    const key = { 'idempotency-key': '7b8d0f0d-65a1-4af1-9fd3-a684f08a5d13' };
    const first = await t.post('/access/v1/requests', body, pep, key);
    const retry = await t.post('/access/v1/requests', body, pep, key);
    expect(first.status).toBe(202);
    expect((retry.body as { task: { id: string } }).task.id).toBe((first.body as { task: { id: string } }).task.id);
    const changed = await t.post('/access/v1/requests', { ...body, requested_access: { requested_until: new Date(Date.now() + 7200_000).toISOString() } }, pep, key);
    expect(changed.status).toBe(409);
    expect(changed.body).toMatchObject({ type: 'urn:openid:authzen:access-request:error:duplicate_request' });
  });

  it('the PEP cancels a pending task', async () => {
    const other = { ...tuple, resource: { type: 'variable', id: 'org:acme/project:search/env:staging/variable:Y' } };
    const { access_request: hint } = ((await t.post('/access/v1/evaluation', other, pep)).body as { context: Record<string, any> }).context;
    const submitted = await t.post('/access/v1/requests', { ...other, denial: { expires_at: hint.expires_at, binding_token: hint.binding_token } }, pep);
    const path = new URL((submitted.body as { task: Record<string, string> }).task['status_endpoint']!).pathname;
    const cancelled = await t.post(`${path}/cancel`, {}, pep);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ task: { status: 'cancelled' } });
  });
});

export { Effect };
