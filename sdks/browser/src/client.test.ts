/**
 * Pure client logic (coalescing, caching, error mapping) against a fake `fetch`.
 * The real service is exercised in test/browser.int.test.ts, from headless Chromium.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWardenClient, type WardenClientOptions } from './client.js';
import { WardenAuthError, WardenRequestError, WardenUnavailableError } from './errors.js';

const PROD = 'org:acme/project:checkout/env:production/flag:checkout-v2';
const STAGING = 'org:acme/project:checkout/env:staging/flag:checkout-v2';
const DEV = 'org:acme/project:checkout/env:development/flag:checkout-v2';

interface SentItem {
  action: { name: string };
  resource: { type: string; id: string };
}
interface Sent {
  url: string;
  authorization: string | null;
  subject: unknown;
  evaluations: SentItem[];
}

/** A fake AuthZEN endpoint: `decide` answers each item unless `respond` replaces the whole response. */
function fakeAuthz(decide: (item: SentItem) => boolean = (item) => !(item.action.name === 'flags:enable' && item.resource.id === PROD), respond?: (sent: Sent) => Response | Promise<Response>) {
  const sent: Sent[] = [];
  const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as { subject: unknown; evaluations: SentItem[] };
    const request: Sent = { url: String(url), authorization: new Headers(init?.headers).get('authorization'), ...body };
    sent.push(request);
    if (respond !== undefined) return respond(request);
    return Response.json({ evaluations: body.evaluations.map((item) => ({ decision: decide(item), context: { id: 'x' } })) });
  });
  return { sent, fetch: fetch as unknown as typeof globalThis.fetch };
}

function client(fetch: typeof globalThis.fetch, options: Partial<WardenClientOptions> = {}) {
  return createWardenClient({ baseUrl: 'http://authz.test/', subject: 'user:mia@acme.com', getToken: () => 'tok-1', fetch, ...options });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('requests', () => {
  it('sends one AuthZEN evaluations request with the subject as top-level default and the bearer token', async () => {
    const authz = fakeAuthz();
    const warden = client(authz.fetch);
    expect(await warden.can('flags:enable', PROD)).toBe(false);
    expect(authz.sent).toEqual([
      {
        url: 'http://authz.test/access/v1/evaluations',
        authorization: 'Bearer tok-1',
        subject: { type: 'user', id: 'mia@acme.com' },
        evaluations: [{ action: { name: 'flags:enable' }, resource: { type: 'flag', id: PROD } }],
      },
    ]);
  });

  it('accepts the subject and resources as AuthZEN objects', async () => {
    const authz = fakeAuthz();
    const warden = client(authz.fetch, { subject: { type: 'user', id: 'sarah@acme.com' } });
    await warden.can('environments:read', { type: 'env', id: 'org:acme/project:checkout/env:staging' });
    expect(authz.sent[0]?.subject).toEqual({ type: 'user', id: 'sarah@acme.com' });
    expect(authz.sent[0]?.evaluations[0]?.resource).toEqual({ type: 'env', id: 'org:acme/project:checkout/env:staging' });
  });

  it('refuses a subject string that is not type:id', () => {
    expect(() => client(fakeAuthz().fetch, { subject: 'mia@acme.com' })).toThrow(TypeError);
  });
});

describe('coalescing', () => {
  it('turns can() calls made in the same tick into one request', async () => {
    const authz = fakeAuthz();
    const warden = client(authz.fetch);
    const answers = await Promise.all([warden.can('flags:enable', PROD), warden.can('flags:enable', STAGING), warden.can('flags:read', PROD)]);
    expect(answers).toEqual([false, true, true]);
    expect(authz.sent).toHaveLength(1);
    expect(authz.sent[0]?.evaluations.map((e) => `${e.action.name} ${e.resource.id}`)).toEqual([
      `flags:enable ${PROD}`,
      `flags:enable ${STAGING}`,
      `flags:read ${PROD}`,
    ]);
  });

  it('shares one promise between identical questions in flight, and asks the server once', async () => {
    const authz = fakeAuthz();
    const warden = client(authz.fetch, { cacheTtlMs: 0 });
    const first = warden.can('flags:enable', STAGING);
    const second = warden.can('flags:enable', STAGING);
    expect(second).toBe(first);
    await Promise.resolve();
    const third = warden.can('flags:enable', STAGING); // still in flight
    expect(third).toBe(first);
    expect(await first).toBe(true);
    expect(authz.sent).toHaveLength(1);
    expect(authz.sent[0]?.evaluations).toHaveLength(1);
  });

  it('prefetches with canMany in one request, answers in order, and fills the cache', async () => {
    const authz = fakeAuthz();
    const warden = client(authz.fetch);
    const questions = [PROD, STAGING, DEV, PROD].map((resource) => ({ action: 'flags:enable', resource }));
    expect(await warden.canMany(questions)).toEqual([false, true, true, false]);
    expect(authz.sent).toHaveLength(1);
    expect(authz.sent[0]?.evaluations).toHaveLength(3); // the duplicate is asked once
    expect(await warden.can('flags:enable', DEV)).toBe(true);
    expect(authz.sent).toHaveLength(1);
  });

  it('splits more than maxBatch questions over several requests', async () => {
    const authz = fakeAuthz();
    const warden = client(authz.fetch, { maxBatch: 2 });
    const questions = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ action: 'flags:enable', resource: `org:acme/project:checkout/env:staging/flag:${id}` }));
    expect(await warden.canMany(questions)).toEqual([true, true, true, true, true]);
    expect(authz.sent.map((s) => s.evaluations.length)).toEqual([2, 2, 1]);
  });
});

describe('cache', () => {
  it('reuses an answer for cacheTtlMs, then asks again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const authz = fakeAuthz();
    const warden = client(authz.fetch, { cacheTtlMs: 1000 });
    expect(await warden.can('flags:enable', STAGING)).toBe(true);
    vi.setSystemTime(Date.now() + 999);
    expect(await warden.can('flags:enable', STAGING)).toBe(true);
    expect(authz.sent).toHaveLength(1);
    vi.setSystemTime(Date.now() + 2);
    expect(await warden.can('flags:enable', STAGING)).toBe(true);
    expect(authz.sent).toHaveLength(2);
  });

  it('keys answers by action and resource', async () => {
    const authz = fakeAuthz();
    const warden = client(authz.fetch);
    await warden.can('flags:enable', STAGING);
    await warden.can('flags:read', STAGING);
    await warden.can('flags:enable', DEV);
    await warden.can('flags:enable', STAGING);
    expect(authz.sent).toHaveLength(3);
  });

  it('clear() forgets answers and does not cache answers of requests in flight', async () => {
    const authz = fakeAuthz();
    const warden = client(authz.fetch);
    await warden.can('flags:enable', STAGING);
    warden.clear();
    await warden.can('flags:enable', STAGING);
    expect(authz.sent).toHaveLength(2);

    const inFlight = warden.can('flags:enable', DEV);
    await new Promise((resolve) => setTimeout(resolve, 0)); // sent, not answered yet
    warden.clear();
    expect(await inFlight).toBe(true);
    await warden.can('flags:enable', DEV);
    expect(authz.sent).toHaveLength(4);
  });

  it('does not cache failures', async () => {
    let fail = true;
    const authz = fakeAuthz(undefined, (sent) =>
      fail ? new Response('store down', { status: 503 }) : Response.json({ evaluations: sent.evaluations.map(() => ({ decision: true })) }),
    );
    const warden = client(authz.fetch);
    await expect(warden.can('flags:enable', STAGING)).rejects.toBeInstanceOf(WardenUnavailableError);
    fail = false;
    expect(await warden.can('flags:enable', STAGING)).toBe(true);
    expect(authz.sent).toHaveLength(2);
  });
});

describe('decisions fail closed', () => {
  it('answers false for an item without decision true; an item with context.error rejects that question alone', async () => {
    const authz = fakeAuthz(undefined, () =>
      Response.json({
        evaluations: [
          { decision: true, context: { error: { status: 400, message: 'resource.id: not a Warden path' } } },
          { decision: 'true' },
          {},
          { decision: true },
          { decision: false, context: { error: { status: 403, message: 'subject: may ask only about itself here' } } },
        ],
      }),
    );
    const warden = client(authz.fetch);
    const resource = (id: string) => `org:acme/project:checkout/env:staging/flag:${id}`;
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((id) => warden.can('flags:enable', resource(id)).then((v) => v, (error: unknown) => error));
    await expect(a).resolves.toBeInstanceOf(WardenRequestError);
    expect(await Promise.all([b, c, d])).toEqual([false, false, true]);
    const refused = await e;
    expect(refused).toBeInstanceOf(WardenAuthError);
    expect((refused as WardenAuthError).status).toBe(403);
    expect(authz.sent).toHaveLength(1);
  });
});

describe('errors', () => {
  const cases = [
    { status: 401, body: 'invalid token: "exp" claim timestamp check failed', type: WardenAuthError },
    { status: 403, body: 'subject: user:mia@acme.com may ask only about itself here', type: WardenAuthError },
    { status: 400, body: 'subject.id must be string', type: WardenRequestError },
    { status: 404, body: 'no route for POST /x', type: WardenRequestError },
    { status: 429, body: 'slow down', type: WardenUnavailableError },
    { status: 500, body: 'internal error', type: WardenUnavailableError },
    { status: 503, body: '', type: WardenUnavailableError },
  ];
  for (const { status, body, type } of cases) {
    it(`maps HTTP ${status} to ${type.name} with the status and the server's message`, async () => {
      const warden = client(fakeAuthz(undefined, () => new Response(body, { status })).fetch);
      const error: unknown = await warden.can('flags:enable', PROD).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject({ name: type.name, status, message: body === '' ? `authz answered HTTP ${status}` : body });
    });
  }

  it('maps a network failure to WardenUnavailableError with the cause', async () => {
    const failure = new TypeError('Failed to fetch');
    const warden = client(vi.fn(() => Promise.reject(failure)));
    const error: unknown = await warden.can('flags:enable', PROD).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenUnavailableError);
    expect((error as Error).cause).toBe(failure);
    expect((error as WardenUnavailableError).status).toBeUndefined();
  });

  it('maps a timeout to WardenUnavailableError', async () => {
    const hang = ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)))) as unknown as typeof fetch;
    const warden = client(hang, { timeoutMs: 20 });
    await expect(warden.can('flags:enable', PROD)).rejects.toBeInstanceOf(WardenUnavailableError);
  });

  it('maps an answer that is not an AuthZEN evaluations response to WardenUnavailableError', async () => {
    const html = client(fakeAuthz(undefined, () => new Response('<html>portal</html>', { status: 200 })).fetch);
    await expect(html.can('flags:enable', PROD)).rejects.toBeInstanceOf(WardenUnavailableError);
    const short = client(fakeAuthz(undefined, () => Response.json({ evaluations: [] })).fetch);
    await expect(short.can('flags:enable', PROD)).rejects.toBeInstanceOf(WardenUnavailableError);
  });

  it('rejects every question of the request with the token callback error, unchanged', async () => {
    const authz = fakeAuthz();
    const signedOut = new Error('signed out');
    const throwing = client(authz.fetch, {
      getToken: () => {
        throw signedOut;
      },
    });
    const results = await Promise.allSettled([throwing.can('flags:enable', PROD), throwing.can('flags:enable', STAGING)]);
    expect(results).toEqual([
      { status: 'rejected', reason: signedOut },
      { status: 'rejected', reason: signedOut },
    ]);
    const rejecting = client(authz.fetch, { getToken: () => Promise.reject(signedOut) });
    await expect(rejecting.can('flags:enable', PROD)).rejects.toBe(signedOut);
    expect(authz.sent).toHaveLength(0);
  });

  it('asks the token callback once per request and sends what it returns', async () => {
    const authz = fakeAuthz();
    let n = 0;
    const warden = client(authz.fetch, { getToken: () => Promise.resolve(`tok-${++n}`), cacheTtlMs: 0 });
    await Promise.all([warden.can('flags:enable', PROD), warden.can('flags:enable', STAGING)]);
    await warden.can('flags:enable', PROD);
    expect(authz.sent.map((s) => s.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });
});
