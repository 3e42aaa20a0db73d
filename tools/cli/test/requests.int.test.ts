/**
 * `warden requests|access|breakglass` against a real authz (its own database, the example world,
 * production checkout switched to require approval): open, refuse self-approval, approve, list,
 * refuse a different change, apply, show the timeline; access requests; break-glass refusals;
 * bad input exits 2, refusals 5.
 */
import path from 'node:path';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Effect } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { startCliAuthz, type CliAuthz } from './support/authz.js';

const PROD = 'org:acme/project:checkout/env:production';
const FLAG = `${PROD}/flag:checkout-v2`;
let authz: CliAuthz;
const keys: Record<'requester' | 'approver', string> = { requester: '', approver: '' };

beforeAll(async () => {
  authz = await startCliAuthz('requests');
  const { app, ownerKey } = authz;
  const channel = createChannel(app.grpcAddress);
  const admin = createClient(AdminServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${ownerKey}` }) } });
  await admin.putResource({
    path: PROD,
    settings: { protected: true, sensitiveActions: ['flags:enable', 'flags:rollout', 'variables:write', 'secrets:reveal'], protectedRoles: ['owner', 'admin', 'release_manager'], requireApproval: true, approvalActions: [], showValuesToReaders: false },
    reason: 'production needs approval',
  });
  await admin.grantBinding({ subject: 'service:requester', role: 'release_manager', actions: [], scope: PROD, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'ships' });
  await admin.grantBinding({ subject: 'service:approver', role: '', actions: ['approvals:approve', 'approvals:read'], scope: 'org:acme', effect: Effect.EFFECT_ALLOW, condition: '', reason: 'approves' });
  for (const who of ['requester', 'approver'] as const) keys[who] = (await admin.createApiKey({ org: 'acme', subject: `service:${who}`, description: who, reason: 'test' })).key;
  channel.close();
}, 60_000);

afterAll(async () => {
  await authz?.stop();
});

const warden = (args: string[], key?: string) => authz.warden(args, key);

describe('warden requests', () => {
  it('open, refuse self-approval, approve, list, refuse a different change, apply once, show the timeline', async () => {
    const opened = await warden(['requests', 'open', 'flags:enable', FLAG, '--before', '{"enabled":false}', '--after', '{"enabled":true}', '--reason', 'launch', '--ticket', 'REL-1', '--json'], keys.requester);
    expect(opened.code, opened.stderr).toBe(0);
    const id = (JSON.parse(opened.stdout) as { request: { id: string; state: string } }).request.id;
    expect(JSON.parse(opened.stdout)).toMatchObject({ request: { state: 'REQUEST_STATE_PENDING', requester: 'service:requester' } });

    const self = await warden(['requests', 'approve', id], keys.requester);
    expect(self.code).toBe(5);
    expect(self.stderr).toMatch(/PERMISSION_DENIED: service:requester may not approve its own request/);

    const approved = await warden(['requests', 'approve', id, '--reason', 'ok'], keys.approver);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/approved/);

    const listed = await warden(['requests', 'list', 'org:acme/project:checkout', '--state', 'approved', '--json'], keys.approver);
    expect((JSON.parse(listed.stdout) as { requests: { id: string }[] }).requests.map((r) => r.id)).toContain(id);

    const different = await warden(['requests', 'apply', id, '--before', '{"enabled":false}', '--after', '{"enabled":true,"rollout":100}'], keys.requester);
    expect(different.code).toBe(5);
    expect(different.stderr).toMatch(/FAILED_PRECONDITION: the change differs from what request/);

    const applied = await warden(['requests', 'apply', id, '--before', '{"enabled":false}', '--after', '{"enabled":true}'], keys.requester);
    expect(applied.code, applied.stderr).toBe(0);
    const again = await warden(['requests', 'apply', id, '--before', '{"enabled":false}', '--after', '{"enabled":true}'], keys.requester);
    expect(again.stderr).toMatch(/already applied/);

    const shown = await warden(['requests', 'show', id], keys.approver);
    expect(shown.stdout).toMatch(/opened +service:requester +— launch/);
    expect(shown.stdout).toMatch(/approved +service:approver +— ok/);
    expect(shown.stdout).toMatch(/applied +service:requester/);
  });

  it('bad input exits 2; an unknown request 5', async () => {
    expect((await warden(['requests', 'list', 'org:acme', '--state', 'nope'])).code).toBe(2);
    expect((await warden(['requests', 'show', 'not-an-id'])).code).toBe(2);
    expect((await warden(['requests', 'show', '01900000-0000-7000-8000-000000000000'])).code).toBe(5);
  });
});

describe('warden access and breakglass', () => {
  it('an access request is approved by someone who could grant it, creating an expiring binding', async () => {
    const asked = await warden(['access', 'request', 'env_reader', 'org:acme/project:search', '--for', '2h', '--reason', 'debugging search', '--json'], keys.requester);
    expect(asked.code, asked.stderr).toBe(0);
    const id = (JSON.parse(asked.stdout) as { request: { id: string } }).request.id;
    const notEligible = await warden(['access', 'approve', id], keys.approver);
    expect(notEligible.code).toBe(5);
    expect(notEligible.stderr).toMatch(/not an eligible approver/);
    const granted = await warden(['access', 'approve', id, '--reason', 'fine'], authz.ownerKey);
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stdout).toMatch(/applied/);
    expect(granted.stdout).toMatch(/grants role env_reader to service:requester on org:acme\/project:search for 7200s \(binding [0-9a-f-]{36}\)/);
  });

  it('break-glass needs the action; bad durations exit 2', async () => {
    const refused = await warden(['breakglass', 'change', 'flags:enable', FLAG, '--before', 'false', '--after', 'true', '--reason', 'outage'], keys.requester);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/lacks approvals:break_glass/);
    expect((await warden(['breakglass', 'access', 'env_reader', PROD, '--reason', 'x', '--for', 'soon'], keys.requester)).code).toBe(2);
  });
});
