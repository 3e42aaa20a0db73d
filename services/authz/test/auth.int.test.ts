/** Authentication on every front door (gRPC and HTTP), with real keys, a real JWKS endpoint and real servers. */
import { Writable } from 'node:stream';
import { ClientError, Status } from 'nice-grpc';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decision } from '@warden/proto/authz/v1';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
let logs = '';
const check = { subject: 'user:sarah@acme.com', action: 'flags:read', resource: 'org:acme/project:checkout/env:production' };

beforeAll(async () => {
  const sink = new Writable({ write(chunk, _encoding, done) { logs += chunk.toString(); done(); } });
  t = await startTestApp({ AUTHZ_KEY_CACHE_MS: '0' }, pino({ level: 'info' }, sink));
});
afterAll(async () => {
  await t?.close();
});

/** Calls every front door with a credential; returns [gRPC status name, HTTP status] per door. */
async function everyDoor(credential: string | undefined, header?: string) {
  const grpc = t.grpc(credential);
  const grpcStatus = async (call: Promise<unknown>) => call.then(() => 'OK', (e: unknown) => (e instanceof ClientError ? Status[e.code] : String(e)));
  const http = async (route: string, body: unknown) => {
    const response = await fetch(`${t.app.httpUrl}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(header !== undefined ? { authorization: header } : credential !== undefined ? { authorization: `Bearer ${credential}` } : {}) },
      body: JSON.stringify(body),
    });
    return response.status;
  };
  return {
    grpcCheck: await grpcStatus(grpc.authz.check(check)),
    grpcLookup: await grpcStatus(grpc.authz.lookupSubjects({ action: 'flags:read', resource: check.resource, subjectType: 'user' })),
    grpcAdmin: await grpcStatus(grpc.admin.listBindings({ scope: 'org:acme', subject: '' })),
    authzen: await http('/access/v1/evaluation', { subject: { type: 'user', id: 'sarah@acme.com' }, action: { name: 'flags:read' }, resource: { type: 'env', id: check.resource } }),
    authzenSearch: await http('/access/v1/search/subject', { subject: { type: 'user' }, action: { name: 'flags:read' }, resource: { type: 'env', id: check.resource } }),
    connect: await http('/warden.authz.v1.AdminService/ListBindings', { scope: 'org:acme' }),
  };
}

const UNAUTHENTICATED = { grpcCheck: 'UNAUTHENTICATED', grpcLookup: 'UNAUTHENTICATED', grpcAdmin: 'UNAUTHENTICATED', authzen: 401, authzenSearch: 401, connect: 401 };

describe('every front door refuses callers who do not prove who they are', () => {
  it('no credentials', async () => {
    expect(await everyDoor(undefined)).toEqual(UNAUTHENTICATED);
  });
  it('not a bearer credential', async () => {
    expect(await everyDoor(undefined, `Basic ${Buffer.from('a:b').toString('base64')}`)).toEqual(UNAUTHENTICATED);
  });
  it('an unknown API key', async () => {
    expect(await everyDoor(`wdn_aaaaaaaaaaaa_${'A'.repeat(43)}`)).toEqual(UNAUTHENTICATED);
  });
  it('a known key id with the wrong secret', async () => {
    expect(await everyDoor(`${t.adminKey.slice(0, 17)}${'B'.repeat(43)}`)).toEqual(UNAUTHENTICATED);
  });
  it('tokens: expired, wrong audience, wrong issuer, signed by someone else', async () => {
    for (const token of [
      await t.token('olivia@acme.com', { expiresIn: '-1m' }),
      await t.token('olivia@acme.com', { audience: 'someone-else' }),
      await t.token('olivia@acme.com', { issuer: 'https://evil.example' }),
      await t.token('olivia@acme.com', { foreignKey: true }),
    ]) {
      expect(await everyDoor(token)).toEqual(UNAUTHENTICATED);
    }
  });
  it('says why, precisely, without echoing the credential', async () => {
    const expired = await t.token('olivia@acme.com', { expiresIn: '-1m' });
    const error = await t.grpc(expired).authz.check(check).catch((e: unknown) => e as ClientError);
    expect((error as ClientError).details).toBe('the token has expired');
    const audience = await t.post('/access/v1/evaluation', {}, await t.token('olivia@acme.com', { audience: 'x' }));
    expect(audience.text).toBe("the token's aud claim is not accepted");
  });
});

describe('who a caller may ask about', () => {
  it('an owner key and an owner token pass every door', async () => {
    const ok = { grpcCheck: 'OK', grpcLookup: 'OK', grpcAdmin: 'OK', authzen: 200, authzenSearch: 200, connect: 200 };
    expect(await everyDoor(t.adminKey)).toEqual(ok);
    expect(await everyDoor(await t.token('olivia@acme.com'))).toEqual(ok);
  });
  it('a stranger with a valid token is PERMISSION_DENIED / 403 at every door', async () => {
    const mallory = await t.token('mallory@evil.example');
    expect(await everyDoor(mallory)).toEqual({ grpcCheck: 'PERMISSION_DENIED', grpcLookup: 'PERMISSION_DENIED', grpcAdmin: 'PERMISSION_DENIED', authzen: 403, authzenSearch: 403, connect: 403 });
  });
  it('a member may ask only about itself (it may list bindings: members hold users:read)', async () => {
    const mia = await t.token('mia@acme.com');
    expect(await everyDoor(mia)).toEqual({ grpcCheck: 'PERMISSION_DENIED', grpcLookup: 'PERMISSION_DENIED', grpcAdmin: 'OK', authzen: 403, authzenSearch: 403, connect: 200 });
    const self = await t.grpc(mia).authz.check({ ...check, subject: 'user:mia@acme.com' });
    expect(self.decision).toBe(Decision.DECISION_DENY);
  });
  it('failures are logged with the key id, never the secret', async () => {
    const wrong = `${t.adminKey.slice(0, 17)}${'C'.repeat(43)}`;
    await t.grpc(wrong).authz.check(check).catch(() => undefined);
    await t.post('/access/v1/evaluation', {}, wrong);
    const keyId = t.adminKey.slice(4, 16);
    expect(logs).toContain(`"keyId":"${keyId}"`);
    expect(logs).toContain('unauthenticated call refused');
    expect(logs).toContain('unauthenticated request refused');
    expect(logs).not.toContain('C'.repeat(43));
    expect(logs).not.toContain(t.adminKey.slice(17));
  });
});

describe('sidecar mode (AUTHZ_TRUST_LOOPBACK, explicit opt-in)', () => {
  it('trusts loopback callers without credentials to check and look up, never to administer', async () => {
    const sidecar = await startTestApp({ AUTHZ_TRUST_LOOPBACK: 'true' });
    try {
      const doors = await (async () => {
        const grpc = sidecar.grpc();
        const grpcStatus = async (call: Promise<unknown>) => call.then(() => 'OK', (e: unknown) => (e instanceof ClientError ? Status[e.code] : String(e)));
        return {
          check: await grpcStatus(grpc.authz.check(check)),
          lookup: await grpcStatus(grpc.authz.lookupSubjects({ action: 'flags:read', resource: check.resource, subjectType: '' })),
          admin: await grpcStatus(grpc.admin.listBindings({ scope: 'org:acme', subject: '' })),
          authzen: (await sidecar.post('/access/v1/evaluation', { subject: { type: 'user', id: 'sarah@acme.com' }, action: { name: 'flags:read' }, resource: { type: 'env', id: check.resource } })).status,
        };
      })();
      expect(doors).toEqual({ check: 'OK', lookup: 'OK', admin: 'PERMISSION_DENIED', authzen: 200 });
    } finally {
      await sidecar.close();
    }
  });
});
