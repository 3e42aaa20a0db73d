/**
 * The guarded change when approval is needed, against the real authz service: change() opens a
 * request and applies nothing; applyApproved applies only the approved content, once, and
 * records the audit event citing the request and its approvers. Creates and deletes go
 * through the same gate.
 */
import { createChannel, createClient, Metadata, type Channel } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Effect } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { ApprovalsServiceDefinition, RequestState } from '@warden/proto/authz/v1/approvals';
import { ApprovalMismatchError, createWarden, isPendingChange, WardenAuthError, WardenError, type ChangeRecord, type Warden } from '../src/index.js';
import { startAuthz, type RunningAuthz } from './support/authz.js';

const PROD = 'org:acme/project:checkout/env:production';
const FLAG = `${PROD}/flag:checkout-v2`;

let authz: RunningAuthz;
let warden: Warden;
const recorded: ChangeRecord[] = [];
const channels: Channel[] = [];
const approvers: Record<'a' | 'b', ReturnType<typeof createClient<typeof ApprovalsServiceDefinition>>> = {} as never;

function clients(key: string) {
  const channel = createChannel(authz.app.grpcAddress);
  channels.push(channel);
  const defaults = { '*': { metadata: Metadata({ authorization: `Bearer ${key}` }) } };
  return { admin: createClient(AdminServiceDefinition, channel, defaults), approvals: createClient(ApprovalsServiceDefinition, channel, defaults) };
}

beforeAll(async () => {
  authz = await startAuthz();
  const owner = clients(authz.adminKey);
  await owner.admin.putResource({
    path: PROD,
    settings: {
      protected: true, sensitiveActions: ['flags:enable', 'flags:rollout', 'variables:write', 'secrets:reveal'], protectedRoles: ['owner', 'admin', 'release_manager'],
      requireApproval: true, approvalActions: ['flags:enable', 'flags:create', 'flags:delete'], showValuesToReaders: false, requiredApprovals: 2,
    },
    reason: 'production needs two approvals',
  });
  for (const who of ['a', 'b'] as const) {
    await owner.admin.grantBinding({ subject: `service:approver-${who}`, role: '', actions: ['approvals:approve'], scope: PROD, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'approver' });
    const key = await owner.admin.createApiKey({ org: 'acme', subject: `service:approver-${who}`, description: who, reason: 'approver' });
    approvers[who] = clients(key.key).approvals;
  }
  warden = createWarden({
    authz: { address: authz.app.grpcAddress },
    credentials: { apiKey: authz.adminKey },
    audit: { record: async (change: ChangeRecord) => void recorded.push(change), close: async () => undefined },
  });
}, 60_000);
afterAll(async () => {
  await warden?.close();
  for (const channel of channels) channel.close();
  await authz?.close();
});

describe('change() when approval is needed', () => {
  it('opens a request for exactly this change and applies nothing; applyApproved applies the approved content once', async () => {
    let applied = 0;
    const change = { subject: 'user:sarah@acme.com', action: 'flags:enable', resource: FLAG, before: { enabled: false }, after: { enabled: true }, reason: 'launch', ticket: 'REL-9', auditAction: 'flag.enabled' };
    const pending = await warden.change(change, () => {
      applied++;
      return 'applied';
    });
    expect(isPendingChange(pending)).toBe(true);
    if (!isPendingChange(pending)) return;
    expect(pending).toMatchObject({ status: 'pending', requiredApprovals: 2, decision: { decision: 'REQUIRES_APPROVAL' } });
    expect(applied).toBe(0);
    expect(recorded).toHaveLength(0);

    // Not approved yet: refused before anything runs.
    await expect(warden.applyApproved(pending.requestId, () => applied++)).rejects.toThrow(/is pending; only an approved request can be applied/);
    await approvers.a.approveRequest({ id: pending.requestId, reason: 'ok' });
    await approvers.b.approveRequest({ id: pending.requestId, reason: 'ok too' });

    // Someone other than the requester applying (a service applying for another user): refused before the claim.
    const stranger = await warden.applyApproved(pending.requestId, () => applied++, { appliedBy: 'user:alex@acme.com' }).catch((e: unknown) => e);
    expect(stranger).toBeInstanceOf(WardenAuthError);
    expect(stranger).toMatchObject({ code: 'PERMISSION_DENIED', message: expect.stringContaining('only its requester (user:sarah@acme.com) applies it') });
    expect(applied).toBe(0);

    // A different change is refused; nothing runs, the approval is not used up.
    const mismatch = await warden.applyApproved(pending.requestId, () => applied++, { expected: { before: { enabled: false }, after: { enabled: true, rollout: 100 } } }).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(ApprovalMismatchError);
    expect((mismatch as Error).message).toMatch(/differs from what request .* approved/);
    expect(applied).toBe(0);

    const result = await warden.applyApproved(
      pending.requestId,
      (approved) => {
        applied++;
        expect(approved).toMatchObject({ requester: 'user:sarah@acme.com', resource: FLAG, after: { enabled: true }, approvers: ['service:approver-a', 'service:approver-b'] });
        return approved.after;
      },
      { expected: { before: change.before, after: change.after }, auditAction: 'flag.enabled', appliedBy: 'user:sarah@acme.com' },
    );
    expect(result).toEqual({ enabled: true });
    expect(applied).toBe(1);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      actor: 'user:sarah@acme.com', action: 'flag.enabled', resource: FLAG, before: { enabled: false }, after: { enabled: true }, outcome: 'success',
      reason: `change request ${pending.requestId}, approved by service:approver-a, service:approver-b: launch`,
    });

    // Once.
    const again = await warden.applyApproved(pending.requestId, () => applied++).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(WardenError);
    expect(applied).toBe(1);
    const owner = clients(authz.adminKey);
    expect((await owner.approvals.getRequest({ id: pending.requestId })).request!.state).toBe(RequestState.REQUEST_STATE_APPLIED);
  });

  it('an apply that fails after the claim is recorded as a failure; the approval is used up', async () => {
    const change = { subject: 'user:sarah@acme.com', action: 'flags:enable', resource: `${PROD}/flag:broken`, before: { enabled: false }, after: { enabled: true } };
    const pending = await warden.change(change, () => 'never');
    if (!isPendingChange(pending)) throw new Error('expected a pending change');
    await approvers.a.approveRequest({ id: pending.requestId, reason: '' });
    await approvers.b.approveRequest({ id: pending.requestId, reason: '' });
    const before = recorded.length;
    const failed = await warden.applyApproved(pending.requestId, () => {
      throw new Error('flag store is read-only');
    }).catch((e: unknown) => e);
    expect((failed as Error).message).toBe('flag store is read-only');
    expect(recorded.slice(before)).toMatchObject([{ outcome: 'failure', error: 'flag store is read-only', resource: `${PROD}/flag:broken` }]);
    await expect(warden.applyApproved(pending.requestId, () => 'again')).rejects.toThrow(/is applied/);
  });

  it('creates and deletes go through the same gate', async () => {
    for (const action of ['flags:create', 'flags:delete']) {
      let applied = 0;
      const result = await warden.change({ subject: 'user:sarah@acme.com', action, resource: `${PROD}/flag:new-thing`, before: null, after: { exists: action === 'flags:create' } }, () => applied++);
      expect(isPendingChange(result), action).toBe(true);
      expect(applied).toBe(0);
    }
  });

  it('a change allowed outright is applied as before', async () => {
    const result = await warden.change({ subject: 'user:sarah@acme.com', action: 'flags:rollout', resource: FLAG, before: { rollout: 0 }, after: { rollout: 10 } }, () => 'done');
    expect(result).toBe('done');
  });
});
