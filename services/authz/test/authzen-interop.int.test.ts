/**
 * The OpenID AuthZEN interop scenarios, replayed against a started authz (real Postgres, real
 * HTTP) loaded with the world files in examples/authzen/. The expected decisions are the
 * scenarios' published ones, vendored unchanged from github.com/openid/authzen (commit
 * e287920eed842b227e38531c1735b712337ca44d): interop/authzen-todo-backend/test/
 * decisions-authorization-api-1_0-02.json and interop/authzen-api-gateways/test-harness/test/
 * decisions.json. Nothing stands between the PEP's request and Warden.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/authzen');

interface Decisions {
  evaluation: Array<{ request: unknown; expected: boolean }>;
  evaluations?: Array<{ request: unknown; expected: Array<{ decision: boolean }> }>;
}
const decisions = (file: string): Decisions => JSON.parse(readFileSync(path.join(EXAMPLES, file), 'utf8')) as Decisions;
const label = (request: unknown): string => {
  const r = request as { subject: { id: string }; action: { name: string }; resource?: { type: string; id: string; properties?: unknown } };
  return `${r.subject.id.slice(0, 10)}… ${r.action.name} ${r.resource === undefined ? '(batch)' : `${r.resource.type}:${r.resource.id}${r.resource.properties ? ` ${JSON.stringify(r.resource.properties)}` : ''}`}`;
};

async function startWith(world: string, org: string, pep: string, env: Record<string, string> = {}): Promise<{ t: TestApp; key: string }> {
  const t = await startTestApp({ AUTHZ_WORLD_FILE: path.join(EXAMPLES, world), AUTHZ_BOOTSTRAP_KEY_SUBJECT: pep, AUTHZ_BOOTSTRAP_KEY_ORG: org, ...env });
  return { t, key: t.adminKey };
}

const RICK = 'CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs';
const MORTY = 'CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs';
const SUMMER = 'CiRmZDI2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs';
const BETH = 'CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs';

describe('Todo interop (AuthZEN 1.0-02 payloads), examples/authzen/todo.yaml', () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    ({ t, key } = await startWith('todo.yaml', 'todo', 'service:todo-backend', { AUTHZ_JWT_ORG_CLAIM: 'org' }));
  });
  afterAll(async () => {
    await t?.close();
  });

  const published = decisions('todo-1.0-02.decisions.json');
  it('the vendored data holds every published decision (40 evaluations, 3 batches)', () => {
    expect(published.evaluation).toHaveLength(40);
    expect(published.evaluations).toHaveLength(3);
  });
  for (const [i, { request, expected }] of published.evaluation.entries()) {
    it(`evaluation ${i}: ${label(request)} → ${expected}`, async () => {
      const r = await t.post('/access/v1/evaluation', request, key);
      expect(r.status, r.text).toBe(200);
      expect((r.body as { decision: boolean }).decision).toBe(expected);
    });
  }
  for (const [i, { request, expected }] of (published.evaluations ?? []).entries()) {
    it(`evaluations ${i}: ${label(request)} → ${expected.map((e) => e.decision).join(', ')}`, async () => {
      const r = await t.post('/access/v1/evaluations', request, key);
      expect(r.status, r.text).toBe(200);
      expect((r.body as { evaluations: Array<{ decision: boolean }> }).evaluations.map((e) => e.decision)).toEqual(expected.map((e) => e.decision));
    });
  }

  it('search agrees with evaluation, properties included: who may update morty\'s todo', async () => {
    const r = await t.post('/access/v1/search/subject', {
      subject: { type: 'user' },
      action: { name: 'can_update_todo' },
      resource: { type: 'todo', id: '7240d0db-8ff0-41ec-98b2-34a096273b91', properties: { ownerID: 'morty@the-citadel.com' } },
    }, key);
    expect(r.status, r.text).toBe(200);
    // The evil genius, the owner of the todo, and the organization's owner (who holds everything).
    expect((r.body as { results: Array<{ type: string; id: string }> }).results).toEqual([RICK, MORTY, 'ops@example.com'].map((id) => ({ type: 'user', id })));
    // Without the todo's owner in the request, no editor qualifies.
    const bare = await t.post('/access/v1/search/subject', { subject: { type: 'user' }, action: { name: 'can_update_todo' }, resource: { type: 'todo', id: '7240d0db-8ff0-41ec-98b2-34a096273b91' } }, key);
    expect((bare.body as { results: unknown[] }).results).toEqual([RICK, 'ops@example.com'].map((id) => ({ type: 'user', id })));
  });

  it('a request property cannot override the directory: summer claiming morty\'s email is still not the owner', async () => {
    const r = await t.post('/access/v1/evaluation', {
      subject: { type: 'user', id: SUMMER, properties: { email: 'morty@the-citadel.com' } },
      action: { name: 'can_delete_todo' },
      resource: { type: 'todo', id: '7240d0db-8ff0-41ec-98b2-34a096273b91', properties: { ownerID: 'morty@the-citadel.com' } },
    }, key);
    expect(r.body).toMatchObject({ decision: false, context: { id: 'condition_false' } });
  });

  it('a user\'s own token names the organization (AUTHZ_JWT_ORG_CLAIM): client names map there; without it they need Warden paths', async () => {
    const ask = { subject: { type: 'user', id: MORTY }, action: { name: 'can_delete_todo' }, resource: { type: 'todo', id: '7240d0db-8ff0-41ec-98b2-34a096273b91', properties: { ownerID: 'morty@the-citadel.com' } } };
    const withOrg = await t.post('/access/v1/evaluation', ask, await t.token(MORTY, { claims: { org: 'todo' } }));
    expect(withOrg.status, withOrg.text).toBe(200);
    expect(withOrg.body).toMatchObject({ decision: true });
    const without = await t.post('/access/v1/evaluation', ask, await t.token(MORTY));
    expect(without.status).toBe(400);
    expect(without.text).toMatch(/client ids are mapped in the organization of the API key or token/);
  });

  it('user:* lets any user read profiles, and only that', async () => {
    const nobody = { type: 'user', id: 'auth0|5f1c2a' };
    expect((await t.post('/access/v1/evaluation', { subject: nobody, action: { name: 'can_read_user' }, resource: { type: 'user', id: 'rick@the-citadel.com' } }, key)).body).toMatchObject({ decision: true });
    expect((await t.post('/access/v1/evaluation', { subject: nobody, action: { name: 'can_read_todos' }, resource: { type: 'todo', id: 'todo-1' } }, key)).body).toMatchObject({ decision: false });
  });

  it('an action outside the catalogue is a deny with its own reason', async () => {
    const r = await t.post('/access/v1/evaluation', { subject: { type: 'user', id: RICK }, action: { name: 'can_launch_rockets' }, resource: { type: 'todo', id: 'todo-1' } }, key);
    expect(r.body).toMatchObject({ decision: false, context: { id: 'unknown_action' } });
  });

  it('an unknown subject type in a search is an empty 200', async () => {
    const r = await t.post('/access/v1/search/subject', { subject: { type: 'robot' }, action: { name: 'can_read_todos' }, resource: { type: 'todo', id: 'todo-1' } }, key);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ page: { next_token: '', count: 0 }, results: [] });
  });
});

describe('API-gateway interop, examples/authzen/api-gateway.yaml', () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    ({ t, key } = await startWith('api-gateway.yaml', 'gateway', 'service:gateway'));
  });
  afterAll(async () => {
    await t?.close();
  });

  const published = decisions('api-gateway.decisions.json');
  it('the vendored data holds every published decision (25 evaluations)', () => {
    expect(published.evaluation).toHaveLength(25);
  });
  for (const [i, { request, expected }] of published.evaluation.entries()) {
    it(`evaluation ${i}: ${label(request)} → ${expected}`, async () => {
      const r = await t.post('/access/v1/evaluation', request, key);
      expect(r.status, r.text).toBe(200);
      expect((r.body as { decision: boolean }).decision).toBe(expected);
    });
  }

  it('the same cases as one batch: the gateway\'s names in, one decision per item out', async () => {
    const r = await t.post('/access/v1/evaluations', { evaluations: published.evaluation.map((e) => e.request) }, key);
    expect(r.status, r.text).toBe(200);
    expect((r.body as { evaluations: Array<{ decision: boolean }> }).evaluations.map((e) => e.decision)).toEqual(published.evaluation.map((e) => e.expected));
  });

  it('results come back in the caller\'s form: routes beth may GET, writers of /todos, beth\'s actions on /todos', async () => {
    const routes = await t.post('/access/v1/search/resource', { subject: { type: 'identity', id: BETH }, action: { name: 'GET' }, resource: { type: 'route' } }, key);
    expect(routes.status, routes.text).toBe(200);
    expect((routes.body as { results: unknown[] }).results).toEqual([{ type: 'route', id: '/todos' }, { type: 'route', id: '/users/{userId}' }]);

    const writers = await t.post('/access/v1/search/subject', { subject: { type: 'identity' }, action: { name: 'POST' }, resource: { type: 'route', id: '/todos' } }, key);
    expect((writers.body as { results: unknown[] }).results).toEqual([RICK, MORTY, SUMMER].map((id) => ({ type: 'identity', id })));

    const actions = await t.post('/access/v1/search/action', { subject: { type: 'identity', id: BETH }, resource: { type: 'route', id: '/todos' } }, key);
    expect((actions.body as { results: unknown[] }).results).toEqual([{ name: 'GET' }]);
  });

  it('an unknown route is a deny, an undeclared resource type a 400 naming it, a Warden path still works', async () => {
    const unknown = await t.post('/access/v1/evaluation', { subject: { type: 'identity', id: RICK }, action: { name: 'GET' }, resource: { type: 'route', id: '/admin' } }, key);
    expect(unknown.body).toMatchObject({ decision: false, context: { id: 'no_binding' } });
    const undeclared = await t.post('/access/v1/evaluation', { subject: { type: 'identity', id: RICK }, action: { name: 'GET' }, resource: { type: 'page', id: '/todos' } }, key);
    expect(undeclared.status).toBe(400);
    expect(undeclared.text).toMatch(/^resource\.type: "page" is not a resource type org:gateway declares/);
    const warden = await t.post('/access/v1/evaluation', { subject: { type: 'identity', id: RICK }, action: { name: 'PUT' }, resource: { type: 'route', id: 'org:gateway/route:%2Ftodos%2F{todoId}' } }, key);
    expect(warden.body).toMatchObject({ decision: true });
  });
});

describe('AuthZEN 1.0 certification fixture, examples/authzen/certification.yaml', () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    ({ t, key } = await startWith('certification.yaml', 'cert', 'service:harness'));
  });
  afterAll(async () => {
    await t?.close();
  });
  const user = (id: string, properties?: Record<string, unknown>) => ({ type: 'user', id, ...(properties ? { properties } : {}) });
  const record = (id: string, properties?: Record<string, unknown>) => ({ type: 'record', id, ...(properties ? { properties } : {}) });

  // certification/authorization-api-1_0-scenario.md, "Required Policy Behaviour", rules 1-8.
  const rules: Array<[string, unknown, boolean]> = [
    ['1', { subject: user('alice'), action: { name: 'read' }, resource: record('record-1') }, true],
    ['2', { subject: user('alice'), action: { name: 'write' }, resource: record('record-1') }, true],
    ['3', { subject: user('bob'), action: { name: 'read' }, resource: record('record-1') }, true],
    ['4', { subject: user('bob'), action: { name: 'write' }, resource: record('record-1') }, false],
    ['5', { subject: user('alice'), action: { name: 'write' }, resource: record('record-2', { status: 'archived' }) }, false],
    ['6', { subject: user('bob', { role: 'admin' }), action: { name: 'write' }, resource: record('record-2', { status: 'archived' }) }, true],
    ['7', { subject: user('alice'), action: { name: 'delete', properties: { soft: true } }, resource: record('record-1') }, true],
    ['8', { subject: user('alice'), action: { name: 'delete', properties: { soft: false } }, resource: record('record-1') }, false],
  ];
  for (const [rule, request, expected] of rules) {
    it(`rule ${rule} → ${expected}`, async () => {
      const r = await t.post('/access/v1/evaluation', request, key);
      expect(r.status, r.text).toBe(200);
      expect((r.body as { decision: boolean }).decision).toBe(expected);
    });
  }

  it('the eight rules as one batch with top-level defaults', async () => {
    const r = await t.post('/access/v1/evaluations', { subject: user('alice'), evaluations: rules.map(([, request]) => request) }, key);
    expect((r.body as { evaluations: Array<{ decision: boolean }> }).evaluations.map((e) => e.decision)).toEqual(rules.map(([, , expected]) => expected));
  });

  it('search requirements S1-S6', async () => {
    const ids = (body: unknown) => (body as { results: Array<{ id?: string; name?: string }> }).results.map((x) => x.id ?? x.name);
    expect(ids((await t.post('/access/v1/search/subject', { subject: { type: 'user' }, action: { name: 'read' }, resource: record('record-1') }, key)).body)).toEqual(expect.arrayContaining(['alice', 'bob']));
    expect(ids((await t.post('/access/v1/search/resource', { subject: user('alice'), action: { name: 'read' }, resource: { type: 'record' } }, key)).body)).toEqual(expect.arrayContaining(['record-1']));
    expect(ids((await t.post('/access/v1/search/action', { subject: user('alice'), resource: record('record-1') }, key)).body)).toEqual(['read', 'write']);
    expect(ids((await t.post('/access/v1/search/subject', { subject: { type: 'user' }, action: { name: 'write' }, resource: record('record-2', { status: 'archived' }) }, key)).body)).toContain('bob');
    expect(ids((await t.post('/access/v1/search/resource', { subject: user('bob', { role: 'admin' }), action: { name: 'write' }, resource: { type: 'record' } }, key)).body)).toEqual(['record-2']);
    expect(ids((await t.post('/access/v1/search/action', { subject: user('bob', { role: 'admin' }), resource: record('record-2', { status: 'archived' }) }, key)).body)).toContain('write');
  });

  it('empty results, not errors, for an unknown identifier or type on all three searches (§ "Empty results")', async () => {
    const empty = { page: { next_token: '', count: 0 }, results: [] };
    for (const [route, body] of [
      ['/access/v1/search/action', { subject: user('nonexistent-user'), resource: record('record-1') }],
      ['/access/v1/search/subject', { subject: { type: 'spaceship' }, action: { name: 'read' }, resource: record('record-1') }],
      ['/access/v1/search/subject', { subject: { type: 'user' }, action: { name: 'read' }, resource: { type: 'spaceship', id: 'x' } }],
      ['/access/v1/search/resource', { subject: user('alice'), action: { name: 'read' }, resource: { type: 'spaceship' } }],
      ['/access/v1/search/resource', { subject: { type: 'spaceship', id: 'x' }, action: { name: 'read' }, resource: { type: 'record' } }],
      ['/access/v1/search/action', { subject: user('alice'), resource: { type: 'spaceship', id: 'x' } }],
    ] as const) {
      const r = await t.post(route, body, key);
      expect(r.status, `${route} ${JSON.stringify(body)}: ${r.text}`).toBe(200);
      expect(r.body).toEqual(empty);
    }
  });

  it('missing required fields are 400, unknown fields are ignored', async () => {
    expect((await t.post('/access/v1/evaluation', { action: { name: 'read' }, resource: record('record-1') }, key)).status).toBe(400);
    expect((await t.post('/access/v1/evaluation', { subject: { type: 'user' }, action: { name: 'read' }, resource: record('record-1') }, key)).status).toBe(400);
    expect((await t.post('/access/v1/search/subject', { subject: { type: 'user' }, resource: record('record-1') }, key)).status).toBe(400);
    expect((await t.post('/access/v1/search/action', { subject: user('alice') }, key)).status).toBe(400);
    const extra = await t.post('/access/v1/evaluation', { subject: user('alice'), action: { name: 'read' }, resource: record('record-1'), surprise: { x: 1 } }, key);
    expect(extra.body).toMatchObject({ decision: true });
  });
});
