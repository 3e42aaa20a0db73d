/**
 * The example flag service's approval path, in process against a real authz (its own database
 * from @warden/testkit, the acme world, production checkout switched to need one approval for
 * enable, create and delete): a change that needs approval answers 202 and changes nothing; an
 * approved one is applied by POST /requests/:id/apply exactly as approved, once.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChannel, createClient, Metadata, type Channel } from 'nice-grpc';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, migrate, startAuthzApp, type AuthzApp } from '@warden/authz';
import { Effect } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { ApprovalsServiceDefinition } from '@warden/proto/authz/v1/approvals';
import { createWarden, type Warden } from '@warden/sdk';
import { createDatabase, type TestDatabase } from '@warden/testkit';
import { createFlagService } from '../src/flag-service.js';

const WORLD = fileURLToPath(new URL('../../acme.yaml', import.meta.url));
const PROD = 'org:acme/project:checkout/env:production';
const ROUTE = '/projects/checkout/envs/production/flags/checkout-v2';
let db: TestDatabase;
let dir: string;
let authz: AuthzApp;
let warden: Warden;
let channel: Channel;
let service: ReturnType<typeof createFlagService>;
let approver: ReturnType<typeof createClient<typeof ApprovalsServiceDefinition>>;

beforeAll(async () => {
  db = await createDatabase({ prefix: 'warden_example_' });
  await migrate(db.pool);
  dir = await mkdtemp(path.join(tmpdir(), 'warden-example-approvals-'));
  authz = await startAuthzApp(
    loadConfig({
      DATABASE_URL: db.url, AUTHZ_GRPC_PORT: '0', AUTHZ_HTTP_PORT: '0', AUTHZ_METRICS_PORT: '0', AUTHZ_WORLD_FILE: WORLD,
      AUTHZ_BOOTSTRAP_KEY_FILE: path.join(dir, 'owner.key'), AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin', AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
    }),
    pino({ level: 'silent' }),
  );
  const ownerKey = (await readFile(path.join(dir, 'owner.key'), 'utf8')).trim();
  channel = createChannel(authz.grpcAddress);
  const owner = { '*': { metadata: Metadata({ authorization: `Bearer ${ownerKey}` }) } };
  const admin = createClient(AdminServiceDefinition, channel, owner);
  await admin.putResource({
    path: PROD,
    settings: {
      protected: true, sensitiveActions: ['flags:enable', 'flags:rollout', 'variables:write', 'secrets:reveal'], protectedRoles: ['owner', 'admin', 'release_manager'],
      requireApproval: true, approvalActions: ['flags:enable', 'flags:create', 'flags:delete'], showValuesToReaders: false,
    },
    reason: 'production changes need approval',
  });
  await admin.grantBinding({ subject: 'service:approver', role: '', actions: ['approvals:approve'], scope: PROD, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'approves' });
  const key = await admin.createApiKey({ org: 'acme', subject: 'service:approver', description: 'approver', reason: 'test' });
  approver = createClient(ApprovalsServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${key.key}` }) } });
  warden = createWarden({ authz: { address: authz.grpcAddress }, credentials: { apiKey: ownerKey } });
  service = createFlagService(warden);
}, 120_000);

afterAll(async () => {
  await service?.app.close();
  await warden?.close();
  channel?.close();
  await authz?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

const as = (user: string, method: 'POST' | 'DELETE', url: string, payload?: unknown) =>
  service.app.inject({ method, url, headers: { 'x-user': user, 'content-type': 'application/json' }, payload: JSON.stringify(payload ?? {}) });

describe('the example flag service with approvals', () => {
  it('enable needs approval: 202 and nothing applied; once approved, applied exactly as approved, once', async () => {
    const pending = await as('sarah@acme.com', 'POST', `${ROUTE}/enable`, { reason: 'launch' });
    expect(pending.statusCode).toBe(202);
    const { requestId } = pending.json<{ requestId: string }>();
    expect(service.flags.get(`${PROD}/flag:checkout-v2`)).toBeUndefined();

    const early = await as('sarah@acme.com', 'POST', `/requests/${requestId}/apply`);
    expect(early.statusCode).toBe(409);

    await approver.approveRequest({ id: requestId, reason: 'ok' });
    const applied = await as('sarah@acme.com', 'POST', `/requests/${requestId}/apply`);
    expect(applied.statusCode, applied.body).toBe(200);
    expect(applied.json()).toMatchObject({ applied: true, approvers: ['service:approver'], flag: { enabled: true, rollout: 0 } });
    expect(service.flags.get(`${PROD}/flag:checkout-v2`)).toEqual({ enabled: true, rollout: 0 });

    const again = await as('sarah@acme.com', 'POST', `/requests/${requestId}/apply`);
    expect(again.statusCode).not.toBe(200);
  });

  it('creates and deletes go through the same gate', async () => {
    const created = await as('sarah@acme.com', 'POST', '/projects/checkout/envs/production/flags/new-thing', { reason: 'new' });
    expect(created.statusCode).toBe(202);
    expect(service.flags.has(`${PROD}/flag:new-thing`)).toBe(false);
    // A flag that exists is deleted only through the gate.
    service.flags.set(`${PROD}/flag:old`, { enabled: false, rollout: 0 });
    const deleted = await as('sarah@acme.com', 'DELETE', '/projects/checkout/envs/production/flags/old');
    expect(deleted.statusCode).toBe(202);
    expect(service.flags.has(`${PROD}/flag:old`)).toBe(true);
    // sam may not even ask: env_writer carries no flags:create (DENY, not approval).
    expect((await as('sam@acme.com', 'POST', '/projects/checkout/envs/production/flags/other')).statusCode).toBe(403);
  });
});
