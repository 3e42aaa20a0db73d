/** fastify and express apps guarded by the SDK, in front of the real authz service. */
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarden, type Warden } from '../src/index.js';
import { wardenMiddleware } from '../src/middleware/express.js';
import { wardenPreHandler } from '../src/middleware/fastify.js';
import { startAuthz, type RunningAuthz } from './support/authz.js';

let authz: RunningAuthz;
let warden: Warden;

beforeAll(async () => {
  authz = await startAuthz();
  warden = createWarden({ authz: { address: authz.app.grpcAddress }, credentials: { apiKey: authz.adminKey } });
});
afterAll(async () => {
  await warden?.close();
  await authz?.close();
});

// A flag service: POST /projects/:project/envs/:env/flags/:flag/enable by the user named in x-user.
const flagPath = (p: Record<string, string>) => `org:acme/project:${p['project']}/env:${p['env']}/flag:${p['flag']}`;

async function expectGuarded(base: string) {
  const enable = (user: string, env: string) =>
    fetch(`${base}/projects/checkout/envs/${env}/flags/checkout-v2/enable`, { method: 'POST', headers: { 'x-user': user } });
  // Production checkout is protected and requires approval (examples/acme.yaml): the owner passes
  // (approvals:bypass), a release manager is asked for approval, anyone else is refused.
  const ok = await enable('olivia@acme.com', 'production');
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ enabled: true, decidedBy: 'owner' });
  const pending = await enable('sarah@acme.com', 'production');
  expect(pending.status).toBe(403);
  expect(await pending.json()).toMatchObject({ error: 'approval_required', decision: 'REQUIRES_APPROVAL' });
  const denied = await enable('sam@acme.com', 'production');
  expect(denied.status).toBe(403);
  expect(await denied.json()).toMatchObject({ error: 'forbidden', decision: 'DENY', reason: { code: 'PROTECTED_RESOURCE', message: expect.stringContaining('release_manager') } });
  const health = await fetch(`${base}/health`);
  expect(health.status).toBe(200);
}

describe('framework glue', () => {
  it('fastify preHandler', async () => {
    const app = Fastify();
    app.addHook(
      'preHandler',
      wardenPreHandler(warden, (request) => {
        const params = request.params as Record<string, string>;
        if (request.url === '/health') return undefined;
        return { subject: `user:${String(request.headers['x-user'])}`, action: 'flags:enable', resource: flagPath(params) };
      }),
    );
    app.post('/projects/:project/envs/:env/flags/:flag/enable', async (request) => ({ enabled: true, decidedBy: request.warden?.reason.binding?.role }));
    app.get('/health', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await expectGuarded(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
    } finally {
      await app.close();
    }
  });

  it('express middleware', async () => {
    const app = express();
    app.post(
      '/projects/:project/envs/:env/flags/:flag/enable',
      wardenMiddleware(warden, (request) => ({ subject: `user:${String(request.header('x-user'))}`, action: 'flags:enable', resource: flagPath(request.params as Record<string, string>) })),
      (_request, response) => {
        response.json({ enabled: true, decidedBy: response.locals['warden']?.reason.binding?.role });
      },
    );
    app.get('/health', (_request, response) => {
      response.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      await expectGuarded(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails closed with 503 when Warden cannot answer', async () => {
    const unreachable = createWarden({ authz: { address: '127.0.0.1:1' }, credentials: { apiKey: authz.adminKey }, timeoutMs: 300, maxAttempts: 1 });
    const app = Fastify();
    app.addHook('preHandler', wardenPreHandler(unreachable, () => ({ subject: 'user:sarah@acme.com', action: 'flags:enable', resource: 'org:acme' })));
    app.post('/x', async () => ({ ran: true }));
    const response = await app.inject({ method: 'POST', url: '/x' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: 'authorization_unavailable', message: 'the authorization service cannot answer now' });
    await app.close();
    await unreachable.close();
  });
});
