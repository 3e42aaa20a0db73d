/**
 * A token's groups claim (AUTHZ_JWT_GROUPS_CLAIM): for the token subject's own checks it is a
 * member of the organization's groups of those names — for that request only — against the
 * real service, real Postgres and a real JWKS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ AUTHZ_JWT_GROUPS_CLAIM: 'groups' });
});
afterAll(async () => {
  await t?.close();
});

const DEV_VARIABLE = { type: 'variable', id: 'org:acme/project:checkout/env:development/variable:API_URL' };
const write = (id: string) => ({ subject: { type: 'user', id }, action: { name: 'variables:write' }, resource: DEV_VARIABLE });

describe('groups from the token', () => {
  it('a subject whose token names checkout-devs writes development as that group does', async () => {
    const without = await t.post('/access/v1/evaluation', write('zed@acme.com'), await t.token('zed@acme.com'));
    expect(without.body).toMatchObject({ decision: false });
    const withGroup = await t.post('/access/v1/evaluation', write('zed@acme.com'), await t.token('zed@acme.com', { claims: { groups: ['checkout-devs', 'no such group', 'unknown-group'] } }));
    expect(withGroup.body).toMatchObject({ decision: true, context: { reason_admin: { en: expect.stringContaining('group:checkout-devs') } } });
  });

  it('searches agree: the actions the token\'s subject may take include what its token groups give', async () => {
    const body = { subject: { type: 'user', id: 'zed@acme.com' }, resource: DEV_VARIABLE };
    const names = (r: { body: unknown }) => (r.body as { results: Array<{ name: string }> }).results.map((x) => x.name);
    expect(names(await t.post('/access/v1/search/action', body, await t.token('zed@acme.com')))).not.toContain('variables:write');
    expect(names(await t.post('/access/v1/search/action', body, await t.token('zed@acme.com', { claims: { groups: ['checkout-devs'] } })))).toContain('variables:write');
  });

  it('only for that request: the next token without the claim is back to its own grants', async () => {
    expect((await t.post('/access/v1/evaluation', write('zed@acme.com'), await t.token('zed@acme.com'))).body).toMatchObject({ decision: false });
  });

  it('never for another subject: the token\'s groups are its own subject\'s, not a PEP\'s to lend', async () => {
    // An API key (no token groups) asking about mia: mia's stored groups only.
    const { admin } = t.grpc(t.adminKey);
    const pep = (await admin.createApiKey({ org: 'acme', subject: 'service:groups-pep', description: 'test', reason: 'test' })).key;
    await admin.grantBinding({ subject: 'service:groups-pep', role: 'gateway', actions: [], scope: 'org:acme', effect: 1, reason: 'test' });
    expect((await t.post('/access/v1/evaluation', write('zed@acme.com'), pep)).body).toMatchObject({ decision: false });
  });

  it('a group named in a token counts only in the organization that has it (another organization\'s bindings are unchanged)', async () => {
    const r = await t.post('/access/v1/evaluation', { ...write('zed@acme.com'), resource: { type: 'variable', id: 'org:globex/project:x/env:dev/variable:A' } }, await t.token('zed@acme.com', { claims: { groups: ['checkout-devs'] } }));
    expect(r.body).toMatchObject({ decision: false });
  });
});
