/**
 * DirectoryService (the console's reads) over the Connect routes, against the seed world: each
 * read shows only what the caller may see, needs its read action, stays inside the caller's
 * organization, pages in bounded keyset pages, never returns a key's secret, and refuses bad
 * input precisely. And /console: served only when enabled, only its own files, with a strict CSP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
let olivia: string;
let mia: string;
let victor: string;
let ivy: string;
let gina: string;

const dir = (method: string, body: unknown, credential: string) => t.post(`/warden.authz.v1.DirectoryService/${method}`, body, credential);
type Listed = { resources?: Array<{ path: string; settings?: Record<string, unknown> }>; nextPageToken?: string };

beforeAll(async () => {
  t = await startTestApp({ AUTHZ_PLATFORM_ADMINS: 'user:root@ops.example', AUTHZ_CONSOLE: 'true' });
  [olivia, mia, victor, ivy, gina] = await Promise.all(['olivia@acme.com', 'mia@acme.com', 'victor@acme.com', 'ivy@acme.com', 'gina@globex.com'].map((u) => t.token(u)));
  const root = await t.token('root@ops.example');
  const created = await t.post('/warden.authz.v1.AdminService/CreateOrganization', { orgId: 'globex', owner: 'user:gina@globex.com', reason: 'second tenant' }, root);
  expect(created.status).toBe(200);
});
afterAll(async () => {
  await t?.close();
});

describe('DirectoryService', () => {
  it('WhoAmI names the caller and, for a key, its organization', async () => {
    expect((await dir('WhoAmI', {}, t.adminKey)).body).toEqual({ subject: 'service:acme-admin', kind: 'api_key', org: 'acme' });
    expect((await dir('WhoAmI', {}, mia)).body).toEqual({ subject: 'user:mia@acme.com', kind: 'jwt' });
  });

  it('ListResources lists only what the caller may read, with settings', async () => {
    const all = (await dir('ListResources', { scope: 'org:acme', resourceType: 'env' }, olivia)).body as Listed;
    expect(all.resources?.map((r) => r.path)).toHaveLength(6);
    const production = all.resources?.find((r) => r.path === 'org:acme/project:checkout/env:production');
    expect(production?.settings).toMatchObject({ protected: true, protectedRoles: ['owner', 'admin', 'release_manager', 'release_requester'], requireApproval: true });
    // Mia reads checkout's development (writer) and staging (reader), nothing else.
    const hers = (await dir('ListResources', { scope: 'org:acme', resourceType: 'env' }, mia)).body as Listed;
    expect(hers.resources?.map((r) => r.path)).toEqual(['org:acme/project:checkout/env:development', 'org:acme/project:checkout/env:staging']);
    // No project is readable by a plain member.
    expect(((await dir('ListResources', { scope: 'org:acme', resourceType: 'project' }, mia)).body as Listed).resources ?? []).toEqual([]);
  });

  it('pages are bounded and continue with their token', async () => {
    const first = (await dir('ListResources', { scope: 'org:acme', resourceType: 'env', page: { limit: 4 } }, olivia)).body as Listed;
    expect(first.resources).toHaveLength(4);
    const second = (await dir('ListResources', { scope: 'org:acme', resourceType: 'env', page: { limit: 4, token: first.nextPageToken } }, olivia)).body as Listed;
    expect(second.resources?.map((r) => r.path)).toEqual(['org:acme/project:search/env:production', 'org:acme/project:search/env:staging']);
    const members = (await dir('ListGroupMembers', { org: 'acme', page: { limit: 2 } }, olivia)).body as { members: unknown[]; nextPageToken: string };
    expect(members.members).toHaveLength(2);
    const rest = (await dir('ListGroupMembers', { org: 'acme', page: { limit: 2, token: members.nextPageToken } }, olivia)).body as { members: Array<{ group: string; member: string }> };
    expect(rest.members).toEqual([{ group: 'group:checkout-devs', member: 'user:chris@acme.com' }, { group: 'group:release-managers', member: 'user:alex@acme.com' }]);
    // A token is valid only for its own query.
    const wrong = await dir('ListGroupMembers', { org: 'acme', group: 'group:checkout-devs', page: { token: members.nextPageToken } }, olivia);
    expect(wrong.status).toBe(400);
  });

  it('each read needs its action: a member may not read groups, roles, keys or the changelog', async () => {
    for (const [method, body, action] of [
      ['ListGroupMembers', { org: 'acme' }, 'groups:read'],
      ['ListRoles', { org: 'acme' }, 'roles:read'],
      ['ListApiKeys', { org: 'acme' }, 'keys:read'],
      ['ListChanges', { scope: 'org:acme' }, 'audit:read'],
    ] as const) {
      const refused = await dir(method, body, mia);
      expect(refused.status, method).toBe(403);
      expect(refused.text, method).toContain(action);
    }
    // Roles come with the catalogue actions they reach (the console's matrix draws exactly these).
    const roles = (await dir('ListRoles', { org: 'acme' }, olivia)).body as { roles: Array<{ name: string; granted: string[]; system?: boolean }>; actions: string[] };
    const release = roles.roles.find((r) => r.name === 'release_manager');
    expect(release?.system).toBeUndefined();
    expect(release?.granted).toEqual(expect.arrayContaining(['flags:enable', 'flags:rollout', 'variables:read_value', 'secrets:reveal', 'approvals:request']));
    expect(release?.granted).not.toContain('secrets:write');
    expect(roles.roles.find((r) => r.name === 'owner')?.granted).toEqual(roles.actions);
    // A viewer reads what the viewer role grants (projects, environments), not roles or the audit trail.
    expect((await dir('ListResources', { scope: 'org:acme', resourceType: 'project' }, victor)).status).toBe(200);
    expect((await dir('ListRoles', { org: 'acme' }, victor)).status).toBe(403);
    expect((await dir('ListChanges', { scope: 'org:acme' }, victor)).status).toBe(403);
    // An auditor reads the changelog.
    expect((await dir('ListChanges', { scope: 'org:acme' }, ivy)).status).toBe(200);
  });

  it('stays inside the organization: another tenant\'s owner and acme\'s key are refused', async () => {
    for (const [method, body] of [
      ['ListGroupMembers', { org: 'acme' }],
      ['ListApiKeys', { org: 'acme' }],
      ['ListChanges', { scope: 'org:acme' }],
      ['ListRoles', { org: 'acme' }],
    ] as const) {
      expect((await dir(method, body, gina)).status, method).toBe(403);
    }
    expect(((await dir('ListResources', { scope: 'org:acme', resourceType: 'env' }, gina)).body as Listed).resources ?? []).toEqual([]);
    const keyAcross = await dir('ListChanges', { scope: 'org:globex' }, t.adminKey);
    expect(keyAcross.status).toBe(403);
    expect(keyAcross.text).toContain('acts only within org:acme');
    // Gina's own changelog has her organization's creation and nothing of acme's.
    const hers = (await dir('ListChanges', { scope: 'org:globex', page: { limit: 1000 } }, gina)).body as { changes: Array<{ resource: string }> };
    expect(hers.changes.length).toBeGreaterThan(0);
    expect(hers.changes.every((c) => c.resource.startsWith('org:globex'))).toBe(true);
  });

  it('ListApiKeys never returns a secret', async () => {
    const listed = await dir('ListApiKeys', { org: 'acme' }, olivia);
    expect(listed.status).toBe(200);
    expect(listed.text).toContain('service:acme-admin');
    expect(listed.text).not.toContain(t.adminKey.slice(17));
  });

  it('ListChanges filters by scope, actor, kind and time, newest first', async () => {
    const put = await t.post('/warden.authz.v1.AdminService/PutResource', { path: 'org:acme/project:search/env:staging', settings: { showValuesToReaders: true }, reason: 'DIR-1' }, t.adminKey);
    expect(put.status).toBe(200);
    type Changes = { changes: Array<{ actor: string; kind: string; resource: string; reason?: string; before?: Record<string, unknown>; after?: Record<string, unknown> }> };
    const scoped = (await dir('ListChanges', { scope: 'org:acme/project:search/env:staging', page: { limit: 1000 } }, olivia)).body as Changes;
    expect(scoped.changes[0]).toMatchObject({ actor: 'service:acme-admin', kind: 'resource.updated', resource: 'org:acme/project:search/env:staging', reason: 'DIR-1' });
    expect(scoped.changes[0]?.after).toMatchObject({ show_values_to_readers: true });
    expect(scoped.changes.every((c) => c.resource === 'org:acme/project:search/env:staging' || c.resource.startsWith('org:acme/project:search/env:staging/'))).toBe(true);
    const bindings = (await dir('ListChanges', { scope: 'org:acme/project:checkout', kind: 'binding.', page: { limit: 1000 } }, olivia)).body as Changes;
    expect(bindings.changes.length).toBeGreaterThan(5);
    expect(bindings.changes.every((c) => c.kind.startsWith('binding.') && c.resource.startsWith('org:acme/project:checkout'))).toBe(true);
    const byActor = (await dir('ListChanges', { scope: 'org:acme', actor: 'service:acme-admin' }, olivia)).body as Changes;
    expect(byActor.changes.map((c) => c.reason)).toEqual(['DIR-1']);
    const none = (await dir('ListChanges', { scope: 'org:acme', until: '2020-01-01T00:00:00Z' }, olivia)).body as Changes;
    expect(none.changes ?? []).toEqual([]);
  });

  it('refuses bad input with INVALID_ARGUMENT, naming the field', async () => {
    for (const [method, body, field] of [
      ['ListChanges', { scope: 'acme' }, 'scope'],
      ['ListChanges', { scope: 'org:acme', kind: 'DROP TABLE' }, 'kind'],
      ['ListChanges', { scope: 'org:acme', actor: 'sarah' }, 'actor'],
      ['ListChanges', { scope: 'org:acme', actor: 'system:' }, 'actor'],
      ['ListChanges', { scope: 'org:acme', since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z' }, 'until'],
      ['ListGroupMembers', { org: 'acme', group: 'user:mia@acme.com' }, 'group'],
      ['ListApiKeys', { org: 'acme', page: { token: 'garbage' } }, 'page.token'],
      ['ListResources', { scope: 'org:acme', resourceType: 'Env!' }, 'resource_type'],
    ] as const) {
      const refused = await dir(method, body, olivia);
      expect(refused.status, `${method} ${field}`).toBe(400);
      expect(refused.text, `${method} ${field}`).toContain(field.split('_')[0]);
    }
  });
});

describe('/console', () => {
  it('serves its own files, publicly, with a strict content security policy', async () => {
    const index = await fetch(`${t.app.httpUrl}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(await index.text()).toContain('<script type="module" src="main.js">');
    expect((await fetch(`${t.app.httpUrl}/console/pages/audit.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${t.app.httpUrl}/console`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
  });

  it('serves nothing but its files: no traversal, no source maps, no other paths', async () => {
    for (const path of ['/console/..%2Fpackage.json', '/console/..%2F..%2Fpackage.json', '/console/pages%2F..%2F..%2Fassets.js', '/console/api.js.map', '/console/nope.js']) {
      const response = await fetch(`${t.app.httpUrl}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).toBe('no such console file');
    }
  });

  it('is off unless enabled', async () => {
    const plain = await startTestApp();
    try {
      // No route: refused unauthenticated like any unknown path, and 404 with a credential.
      expect((await fetch(`${plain.app.httpUrl}/console/`)).status).toBe(401);
      expect((await fetch(`${plain.app.httpUrl}/console/`, { headers: { authorization: `Bearer ${plain.adminKey}` } })).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
