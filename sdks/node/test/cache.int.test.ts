/** The decision cache kept fresh by Watch: hits while nothing changes, never a decision older than a revoke it has seen. */
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Effect } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { eventually } from '@warden/testkit';
import { createWarden, type Warden } from '../src/index.js';
import { startAuthz, type RunningAuthz } from './support/authz.js';

let authz: RunningAuthz;
let warden: Warden;
const check = { subject: 'user:mia@acme.com', action: 'variables:write', resource: 'org:acme/project:search/env:staging/variable:X' };

beforeAll(async () => {
  // Watch is for platform administrators; the SDK's key acts as one here.
  authz = await startAuthz({ AUTHZ_PLATFORM_ADMINS: 'service:acme-admin' });
  warden = createWarden({ authz: { address: authz.app.grpcAddress }, credentials: { apiKey: authz.adminKey }, cache: { maxEntries: 1000, ttlMs: 60_000 } });
});
afterAll(async () => {
  await warden?.close();
  await authz?.close();
});

describe('decision cache', () => {
  it('serves repeated checks from the cache once its Watch stream is live', async () => {
    await eventually(() => warden.cache!.ready);
    expect((await warden.check(check)).decision).toBe('DENY');
    const hitsBefore = warden.cache!.hits;
    for (let i = 0; i < 20; i++) expect((await warden.check(check)).decision).toBe('DENY');
    expect(warden.cache!.hits - hitsBefore).toBe(20);
  });

  it('drops answers when a grant changes, and honours the revision a write returned at once', async () => {
    const channel = createChannel(authz.app.grpcAddress);
    const admin = createClient(AdminServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${authz.adminKey}` }) } });
    const granted = await admin.grantBinding({ subject: 'user:mia@acme.com', role: 'env_writer', actions: [], scope: 'org:acme/project:search/env:staging', effect: Effect.EFFECT_ALLOW, condition: '', reason: 'test' });
    // With the write's revision: never the cached DENY.
    expect((await warden.check({ ...check, atLeastRevision: granted.revision })).decision).toBe('ALLOW');
    // Without it, the Watch event empties the cache shortly after the commit.
    await eventually(async () => (await warden.check(check)).decision === 'ALLOW');
    const revoked = await admin.revokeBinding({ bindingId: granted.binding!.id, reason: 'test' });
    warden.noteRevision(revoked.revision);
    expect((await warden.check(check)).decision).toBe('DENY');
    channel.close();
  });
});
