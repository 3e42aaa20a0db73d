/** The AuthZEN 1.0 HTTP API against the real service and real Postgres, called over real HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
let gateway: string;
const PROD = 'org:acme/project:checkout/env:production';
const FLAG = `${PROD}/flag:checkout-v2`;
const user = (id: string, properties?: Record<string, unknown>) => ({ type: 'user', id, ...(properties ? { properties } : {}) });
const flag = (path = FLAG) => ({ type: 'flag', id: path });

beforeAll(async () => {
  t = await startTestApp();
  // A gateway's key, as the README shows: created through the admin API by an owner.
  const { admin } = t.grpc(t.adminKey);
  gateway = (await admin.createApiKey({ org: 'acme', subject: 'service:gateway', description: 'edge gateway', reason: 'test' })).key;
});
afterAll(async () => {
  await t?.close();
});

describe('discovery', () => {
  it('GET /.well-known/authzen-configuration names every endpoint (no credentials needed)', async () => {
    const response = await fetch(`${t.app.httpUrl}/.well-known/authzen-configuration`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      policy_decision_point: t.app.httpUrl,
      access_evaluation_endpoint: `${t.app.httpUrl}/access/v1/evaluation`,
      access_evaluations_endpoint: `${t.app.httpUrl}/access/v1/evaluations`,
      search_subject_endpoint: `${t.app.httpUrl}/access/v1/search/subject`,
      search_resource_endpoint: `${t.app.httpUrl}/access/v1/search/resource`,
      search_action_endpoint: `${t.app.httpUrl}/access/v1/search/action`,
      // AuthZEN Access Request and Approval Profile, Draft 1 (docs/approvals.md).
      access_request_endpoint: `${t.app.httpUrl}/access/v1/requests`,
    });
  });
});

describe('POST /access/v1/evaluation', () => {
  it('allows with decision true and the reason in context', async () => {
    // secrets:reveal: production checkout requires approval for flag changes (acme.yaml), not for this.
    const r = await t.post('/access/v1/evaluation', { subject: user('sarah@acme.com'), action: { name: 'secrets:reveal' }, resource: { type: 'secret', id: `${PROD}/secret:STRIPE_KEY` } }, gateway);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: true, context: { id: 'allowed', warden: { decision: 'ALLOW' } } });
  });

  it('a deny is 200 with decision false', async () => {
    const r = await t.post('/access/v1/evaluation', { subject: user('sam@acme.com'), action: { name: 'flags:enable' }, resource: flag() }, gateway);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: false, context: { id: 'protected_resource', reason_admin: { en: expect.stringContaining('release_manager') } } });
  });

  it('REQUIRES_APPROVAL is decision false, said in context', async () => {
    const { admin } = t.grpc(t.adminKey);
    await admin.putResource({ path: 'org:acme/project:search/env:production', settings: { protected: true, protectedRoles: ['owner', 'admin', 'release_manager'], requireApproval: true, sensitiveActions: [], approvalActions: [] }, reason: 'test' });
    const r = await t.post('/access/v1/evaluation', { subject: user('adam@acme.com'), action: { name: 'flags:enable' }, resource: flag('org:acme/project:search/env:production/flag:ranking') }, gateway);
    expect(r.body).toMatchObject({ decision: false, context: { id: 'approval_required', warden: { decision: 'REQUIRES_APPROVAL' } } });
  });

  it('context reaches conditions as request; subject properties as subject.attributes', async () => {
    const resource = { type: 'variable', id: 'org:acme/project:checkout/env:staging/variable:API_URL' };
    const without = await t.post('/access/v1/evaluation', { subject: user('dana@acme.com'), action: { name: 'variables:write' }, resource }, gateway);
    expect(without.body).toMatchObject({ decision: false, context: { id: 'condition_false' } });
    const withTicket = await t.post('/access/v1/evaluation', { subject: user('dana@acme.com'), action: { name: 'variables:write' }, resource, context: { ticket: 'OPS-9' } }, gateway);
    expect(withTicket.body).toMatchObject({ decision: true });

    const { admin } = t.grpc(t.adminKey);
    await admin.grantBinding({ subject: 'user:kim@acme.com', role: 'env_reader', actions: [], scope: 'org:acme/project:search', effect: 1, condition: 'subject.attributes.mfa == true', reason: 'mfa only' });
    const env = { type: 'env', id: 'org:acme/project:search/env:staging' };
    expect((await t.post('/access/v1/evaluation', { subject: user('kim@acme.com', { mfa: true }), action: { name: 'flags:read' }, resource: env }, gateway)).body).toMatchObject({ decision: true });
    expect((await t.post('/access/v1/evaluation', { subject: user('kim@acme.com', { mfa: false }), action: { name: 'flags:read' }, resource: env }, gateway)).body).toMatchObject({ decision: false });
  });

  it('echoes X-Request-ID, on success and on error', async () => {
    const ok = await t.post('/access/v1/evaluation', { subject: user('sarah@acme.com'), action: { name: 'flags:read' }, resource: flag() }, gateway, { 'x-request-id': 'bfe9eb29-ab87-4ca3-be83-a1d5d8305716' });
    expect(ok.headers.get('x-request-id')).toBe('bfe9eb29-ab87-4ca3-be83-a1d5d8305716');
    const bad = await t.post('/access/v1/evaluation', { subject: user('sarah@acme.com') }, gateway, { 'x-request-id': 'req-42' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-request-id')).toBe('req-42');
  });
});

describe('400: every malformed request, with a message saying what is wrong', () => {
  const ok = { subject: user('sarah@acme.com'), action: { name: 'flags:read' }, resource: flag() };
  const cases: Array<[string, unknown, RegExp, Record<string, string>?]> = [
    ['missing subject', { action: ok.action, resource: ok.resource }, /body must have required property 'subject'/],
    ['missing action name', { ...ok, action: {} }, /action must have required property 'name'/],
    ['subject id not a string', { ...ok, subject: { type: 'user', id: 42 } }, /subject\.id must be string/],
    ['resource not an object', { ...ok, resource: 'flag:x' }, /resource must be object/],
    ['properties not an object', { ...ok, subject: { type: 'user', id: 'a', properties: [1] } }, /subject\.properties must be object/],
    ['a subject type that is no type name', { ...ok, subject: { type: 'Robot', id: 'r2' } }, /^subject\.type: "Robot" is not a subject type/],
    ['a malformed Warden subject id', { ...ok, subject: { type: 'user', id: 'has space' } }, /^subject: id "has space"/],
    ['a resource type that does not match the path', { ...ok, resource: { type: 'env', id: FLAG } }, /^resource\.type: is "env" but resource\.id \(a Warden path\) ends in a "flag" segment$/],
    ['a malformed action', { ...ok, action: { name: 'read me' } }, /^action: "read me" is not an action/],
    ['a client id of a resource type the organization does not declare', { ...ok, resource: { type: 'record', id: 'record-1' } }, /^resource\.type: "record" is not a resource type org:acme declares/],
    ['bad JSON', '{"subject": ', /^the body is not valid JSON$/],
    ['an empty body', '', /^the body is not valid JSON$/],
    ['the wrong content type', JSON.stringify(ok), /^content-type must be application\/json$/, { 'content-type': 'text/plain' }],
  ];
  for (const [name, body, message, headers] of cases) {
    it(name, async () => {
      const r = await t.post('/access/v1/evaluation', body, gateway, headers);
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(r.text).toMatch(message);
    });
  }

  it('a Warden path whose last segment has no ":" is named whole (the message once dropped its last character)', async () => {
    const r = await t.post('/access/v1/evaluation', { ...ok, resource: { type: 'flag', id: 'org:acme/project:checkout/flag-1' } }, gateway);
    expect(r.status).toBe(400);
    expect(r.text).not.toContain('"flag-"');
    expect(r.text).toBe('resource.id: segment 3 ("flag-1") is not of the form type:id');
  });

  it('an unknown evaluations_semantic', async () => {
    const r = await t.post('/access/v1/evaluations', { ...ok, evaluations: [{}], options: { evaluations_semantic: 'first_wins' } }, gateway);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/options\.evaluations_semantic must be equal to one of the allowed values/);
  });

  it('an evaluation missing a field with no default for it is that item\'s error (AuthZEN 1.0 §7.2 "Errors")', async () => {
    const r = await t.post('/access/v1/evaluations', { action: ok.action, evaluations: [{ resource: ok.resource }, { ...ok }] }, gateway);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      evaluations: [
        { decision: false, context: { error: { status: 400, message: 'evaluations[0].subject: is required (in the item or as a top-level default)' } } },
        expect.objectContaining({ decision: true }),
      ],
    });
  });

  it('an unknown subject type or an unknown action is a deny with its reason, not an error', async () => {
    const robot = await t.post('/access/v1/evaluation', { ...ok, subject: { type: 'robot', id: 'r2' } }, gateway);
    expect(robot.status).toBe(200);
    expect(robot.body).toMatchObject({ decision: false, context: { id: 'no_binding' } });
    const read = await t.post('/access/v1/evaluation', { ...ok, action: { name: 'read' } }, gateway);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ decision: false, context: { id: 'unknown_action', reason_admin: { en: 'read is not in the action catalogue of org:acme' } } });
  });
});

describe('401 and 403', () => {
  const body = { subject: user('sarah@acme.com'), action: { name: 'flags:read' }, resource: flag() };
  it('no credentials is 401', async () => {
    const r = await t.post('/access/v1/evaluation', body);
    expect(r.status).toBe(401);
    expect(r.text).toBe('missing credentials: send "authorization: Bearer <API key or token>"');
  });
  it('a wrong key is 401 and never echoed', async () => {
    const wrong = `${gateway.slice(0, -4)}AAAA`;
    const r = await t.post('/access/v1/evaluation', body, wrong);
    expect(r.status).toBe(401);
    expect(r.text).not.toContain(wrong.slice(17));
  });
  it('a user asking about another user is 403; about itself is fine', async () => {
    const mia = await t.token('mia@acme.com');
    expect((await t.post('/access/v1/evaluation', body, mia)).status).toBe(403);
    const self = await t.post('/access/v1/evaluation', { ...body, subject: user('mia@acme.com') }, mia);
    expect(self.status).toBe(200);
    expect(self.body).toMatchObject({ decision: false });
  });
  it("a gateway key outside its organization is 403", async () => {
    const r = await t.post('/access/v1/evaluation', { ...body, resource: { type: 'org', id: 'org:globex' } }, gateway);
    expect(r.status).toBe(403);
    expect(r.text).toContain('acts only within org:acme');
  });
});

describe('POST /access/v1/evaluations', () => {
  const read = { name: 'flags:read' };
  const items = [
    { resource: flag('org:acme/project:checkout/env:development/flag:a') },
    { resource: flag('org:acme/project:checkout/env:production/flag:a') },
    { resource: flag('org:acme/project:checkout/env:staging/flag:a') },
    { resource: flag('org:acme/project:search/env:staging/flag:a') },
  ];

  it('execute_all (default): top-level defaults, per-item overrides, answers in order', async () => {
    const r = await t.post('/access/v1/evaluations', {
      subject: user('mia@acme.com'),
      action: read,
      evaluations: [...items, { action: { name: 'variables:write' }, resource: { type: 'variable', id: 'org:acme/project:checkout/env:development/variable:X' } }],
    }, gateway);
    expect(r.status).toBe(200);
    expect((r.body as { evaluations: Array<{ decision: boolean }> }).evaluations.map((e) => e.decision)).toEqual([true, false, true, false, true]);
  });

  it('deny_on_first_deny stops after the first false', async () => {
    const r = await t.post('/access/v1/evaluations', { subject: user('mia@acme.com'), action: read, options: { evaluations_semantic: 'deny_on_first_deny' }, evaluations: items }, gateway);
    expect((r.body as { evaluations: Array<{ decision: boolean }> }).evaluations.map((e) => e.decision)).toEqual([true, false]);
  });

  it('permit_on_first_permit stops after the first true', async () => {
    const r = await t.post('/access/v1/evaluations', { subject: user('mia@acme.com'), action: read, options: { evaluations_semantic: 'permit_on_first_permit' }, evaluations: [items[1], items[3], items[2], items[0]] }, gateway);
    expect((r.body as { evaluations: Array<{ decision: boolean }> }).evaluations.map((e) => e.decision)).toEqual([false, false, true]);
  });

  it('a malformed item is that item\'s error, decided closed; the others are answered', async () => {
    const r = await t.post('/access/v1/evaluations', { subject: user('mia@acme.com'), action: read, evaluations: [items[0], { resource: { type: 'flag', id: 'acme/flag:x' } }] }, gateway);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      evaluations: [{ decision: true }, { decision: false, context: { error: { status: 400, message: 'evaluations[1].resource.type: "flag" is not a resource type org:acme declares (resource_types), and evaluations[1].resource.id is not a Warden path (org:…)' } } }],
    });
  });

  it('an item the caller may not ask about is that item\'s 403, and reveals nothing; the others are answered', async () => {
    const mia = await t.token('mia@acme.com');
    const r = await t.post('/access/v1/evaluations', {
      action: read,
      evaluations: [{ subject: user('mia@acme.com'), ...items[0] }, { subject: user('sarah@acme.com'), ...items[0] }, { subject: user('mia@acme.com'), ...items[1] }],
    }, mia);
    expect(r.status).toBe(200);
    const evaluations = (r.body as { evaluations: Array<{ decision: boolean; context: { error?: { status: number; message: string } } }> }).evaluations;
    expect(evaluations.map((e) => e.decision)).toEqual([true, false, false]);
    expect(evaluations[1]!.context).toEqual({ error: { status: 403, message: expect.stringMatching(/^evaluations\[1\]: user:mia@acme.com may ask only about itself here/) } });
    expect(evaluations[2]!.context.error).toBeUndefined();
  });

  it('without an evaluations array it is a single evaluation', async () => {
    const r = await t.post('/access/v1/evaluations', { subject: user('mia@acme.com'), action: read, ...items[0] }, gateway);
    expect(r.body).toMatchObject({ decision: true });
  });
});

describe('every subject of a type (user:*)', () => {
  it('a binding naming user:* applies to any user, including one Warden never saw; revoking it takes effect at once', async () => {
    const { admin } = t.grpc(t.adminKey);
    const stranger = { subject: user('stranger-4711@example.org'), action: { name: 'flags:read' }, resource: { type: 'env', id: 'org:acme/project:search/env:staging' } };
    expect((await t.post('/access/v1/evaluation', stranger, gateway)).body).toMatchObject({ decision: false });
    const granted = await admin.grantBinding({ subject: 'user:*', role: 'env_reader', actions: [], scope: 'org:acme/project:search/env:staging', effect: 1, reason: 'everyone reads staging' });
    expect((await t.post('/access/v1/evaluation', stranger, gateway)).body).toMatchObject({ decision: true, context: { reason_admin: { en: expect.stringContaining('user:*') } } });
    // Not a service: the wildcard is of the user type only.
    expect((await t.post('/access/v1/evaluation', { ...stranger, subject: { type: 'service', id: 'stranger' } }, gateway)).body).toMatchObject({ decision: false });
    await admin.revokeBinding({ bindingId: granted.binding!.id, reason: 'test over' });
    expect((await t.post('/access/v1/evaluation', stranger, gateway)).body).toMatchObject({ decision: false });
  });

  it('a wildcard cannot be a group member or a key\'s subject', async () => {
    const { admin } = t.grpc(t.adminKey);
    await expect(admin.addGroupMember({ org: 'acme', group: 'group:release-managers', member: 'user:*', reason: 'test' })).rejects.toThrow(/stands for every subject of its type/);
    await expect(admin.createApiKey({ org: 'acme', subject: 'user:*', description: 'x', reason: 'test' })).rejects.toThrow(/stands for every subject of its type/);
  });
});

describe('search', () => {
  it('/search/subject: who can reveal secrets in production, paged', async () => {
    // secrets:reveal: production checkout requires approval for enabling flags (acme.yaml), and a search lists ALLOW only.
    const body = { subject: { type: 'user' }, action: { name: 'secrets:reveal' }, resource: { type: 'env', id: PROD } };
    const all = await t.post('/access/v1/search/subject', body, gateway);
    expect(all.status).toBe(200);
    const expected = ['adam@acme.com', 'alex@acme.com', 'olivia@acme.com', 'sarah@acme.com'];
    expect(all.body).toEqual({ results: expected.map((id) => ({ type: 'user', id })), page: { next_token: '', count: 4 } });

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r = await t.post('/access/v1/search/subject', { ...body, page: { limit: 3, ...(token ? { token } : {}) } }, gateway);
      const page = r.body as { results: Array<{ id: string }>; page: { next_token: string } };
      seen.push(...page.results.map((s) => s.id));
      token = page.page.next_token;
    } while (token !== '');
    expect(seen).toEqual(expected);
  });

  it('/search/subject refuses a token from another query', async () => {
    const first = await t.post('/access/v1/search/subject', { subject: { type: 'user' }, action: { name: 'flags:read' }, resource: { type: 'env', id: PROD }, page: { limit: 1 } }, gateway);
    const token = (first.body as { page: { next_token: string } }).page.next_token;
    expect(token).not.toBe('');
    const other = await t.post('/access/v1/search/subject', { subject: { type: 'user' }, action: { name: 'flags:enable' }, resource: { type: 'env', id: PROD }, page: { token } }, gateway);
    expect(other.status).toBe(400);
    expect(other.text).toBe('page.token: is not a token this query returned');
  });

  it('/search/resource: the environments Mia may read flags in', async () => {
    const r = await t.post('/access/v1/search/resource', { subject: user('mia@acme.com'), action: { name: 'flags:read' }, resource: { type: 'env' } }, gateway);
    expect(r.body).toEqual({
      results: [{ type: 'env', id: 'org:acme/project:checkout/env:development' }, { type: 'env', id: 'org:acme/project:checkout/env:staging' }],
      page: { next_token: '', count: 2 },
    });
    const mia = await t.token('mia@acme.com');
    const noScope = await t.post('/access/v1/search/resource', { subject: user('mia@acme.com'), action: { name: 'flags:read' }, resource: { type: 'env' } }, mia);
    expect(noScope.status).toBe(400);
    expect(noScope.text).toMatch(/^resource\.properties\.scope: is required/);
    const scoped = await t.post('/access/v1/search/resource', { subject: user('mia@acme.com'), action: { name: 'flags:read' }, resource: { type: 'env', properties: { scope: 'org:acme/project:checkout' } } }, mia);
    expect((scoped.body as { results: unknown[] }).results).toHaveLength(2);
  });

  it('/search/action: what Mia may do on a staging variable', async () => {
    const r = await t.post('/access/v1/search/action', { subject: user('mia@acme.com'), resource: { type: 'variable', id: 'org:acme/project:checkout/env:staging/variable:X' } }, gateway);
    const names = (r.body as { results: Array<{ name: string }> }).results.map((a) => a.name);
    expect(names).toContain('variables:read');
    expect(names).toContain('flags:read');
    expect(names).not.toContain('variables:write');
    expect(names).not.toContain('variables:read_value');
    expect(names).toEqual([...names].sort());
  });
});

describe('CORS for browsers (AUTHZ_CORS_ORIGINS)', () => {
  it('answers the preflight for an allowed origin only, and a cross-origin call carries its headers', async () => {
    const browserFacing = await startTestApp({ AUTHZ_CORS_ORIGINS: 'http://app.example:3000' });
    try {
      const preflight = (origin: string) =>
        fetch(`${browserFacing.app.httpUrl}/access/v1/evaluations`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
        });
      const allowed = await preflight('http://app.example:3000');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.example:3000');
      expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
      const other = await preflight('http://evil.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const call = await browserFacing.post('/access/v1/evaluation', { subject: user('sarah@acme.com'), action: { name: 'flags:read' }, resource: flag() }, browserFacing.adminKey, { origin: 'http://app.example:3000' });
      expect(call.status).toBe(200);
      expect(call.headers.get('access-control-allow-origin')).toBe('http://app.example:3000');
    } finally {
      await browserFacing.close();
    }
    // Without the setting there is no CORS at all.
    const plain = await fetch(`${t.app.httpUrl}/access/v1/evaluation`, { method: 'OPTIONS', headers: { origin: 'http://app.example:3000', 'access-control-request-method': 'POST' } });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });
});
