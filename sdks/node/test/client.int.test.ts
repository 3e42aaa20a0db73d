/** The Node SDK against the real authz service (gRPC on loopback, real Postgres). */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { trace } from '@opentelemetry/api';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import {
  ApprovalRequiredError,
  createWarden,
  PermissionDeniedError,
  WardenAuthError,
  WardenInvalidArgumentError,
  WardenUnavailableError,
  type ChangeRecord,
  type Warden,
} from '../src/index.js';
import { freePort } from '@warden/testkit';
import { startAuthz, type RunningAuthz } from './support/authz.js';

const spans = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));

let authz: RunningAuthz;
let warden: Warden;
const PROD = 'org:acme/project:checkout/env:production';
const FLAG = `${PROD}/flag:checkout-v2`;
const STAGING_FLAG = 'org:acme/project:checkout/env:staging/flag:checkout-v2';

beforeAll(async () => {
  authz = await startAuthz();
  warden = createWarden({ authz: { address: authz.app.grpcAddress }, credentials: { apiKey: authz.adminKey } });
});
afterAll(async () => {
  await warden?.close();
  await authz?.close();
});

describe('check, checkBatch, enforce', () => {
  it('returns decisions with their reasons', async () => {
    const allowed = await warden.check({ subject: 'user:sarah@acme.com', action: 'flags:enable', resource: STAGING_FLAG });
    expect(allowed).toMatchObject({ allowed: true, decision: 'ALLOW', reason: { code: 'ALLOWED', binding: { subject: 'user:sarah@acme.com', role: 'env_writer', scope: 'org:acme/project:checkout', effect: 'allow' } } });
    // Production checkout requires approval (acme.yaml): the release manager's binding allows it, with approval.
    const gated = await warden.check({ subject: 'user:sarah@acme.com', action: 'flags:enable', resource: FLAG });
    expect(gated).toMatchObject({ allowed: false, decision: 'REQUIRES_APPROVAL', reason: { code: 'APPROVAL_REQUIRED', ruleResource: PROD, binding: { subject: 'user:sarah@acme.com', role: 'release_manager', scope: PROD, effect: 'allow' } } });
    const denied = await warden.check({ subject: 'user:sam@acme.com', action: 'flags:enable', resource: FLAG });
    expect(denied).toMatchObject({ allowed: false, decision: 'DENY', reason: { code: 'PROTECTED_RESOURCE', ruleResource: PROD, requiredRoles: ['owner', 'admin', 'release_manager', 'release_requester'] } });
    const batch = await warden.checkBatch([
      { subject: 'user:sarah@acme.com', action: 'flags:enable', resource: FLAG },
      { subject: 'user:sarah@acme.com', action: 'flags:enable', resource: STAGING_FLAG },
      { subject: 'user:victor@acme.com', action: 'variables:write', resource: 'org:acme/project:checkout/env:staging/variable:X' },
    ]);
    expect(batch.map((d) => [d.decision, d.reason.code])).toEqual([['REQUIRES_APPROVAL', 'APPROVAL_REQUIRED'], ['ALLOW', 'ALLOWED'], ['DENY', 'CEILING']]);
  });

  it('enforce resolves when allowed and throws typed errors with the reason otherwise', async () => {
    await expect(warden.enforce({ subject: 'user:sarah@acme.com', action: 'flags:enable', resource: STAGING_FLAG })).resolves.toMatchObject({ allowed: true });
    const denied = await warden.enforce({ subject: 'user:sam@acme.com', action: 'flags:enable', resource: FLAG }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as PermissionDeniedError).decision.reason.code).toBe('PROTECTED_RESOURCE');
  });

  it('REQUIRES_APPROVAL is its own error', async () => {
    const channel = createChannel(authz.app.grpcAddress);
    const admin = createClient(AdminServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${authz.adminKey}` }) } });
    const { revision } = await admin.putResource({ path: 'org:acme/project:search/env:production', settings: { protected: false, requireApproval: true, sensitiveActions: [], protectedRoles: [], approvalActions: [] }, reason: 'test' });
    channel.close();
    const error = await warden.enforce({ subject: 'user:adam@acme.com', action: 'flags:enable', resource: 'org:acme/project:search/env:production/flag:x', atLeastRevision: revision }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApprovalRequiredError);
  });

  it('bad input is WardenInvalidArgumentError naming the field', async () => {
    const error = await warden.check({ subject: 'sarah', action: 'flags:read', resource: 'org:acme' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenInvalidArgumentError);
    expect((error as Error).message).toContain('subject: "sarah" is not of the form type:id');
  });

  it('a refused key is WardenAuthError', async () => {
    const stranger = createWarden({ authz: { address: authz.app.grpcAddress }, credentials: { apiKey: `wdn_aaaaaaaaaaaa_${'A'.repeat(43)}` } });
    const error = await stranger.check({ subject: 'user:sarah@acme.com', action: 'flags:read', resource: 'org:acme' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenAuthError);
    expect((error as WardenAuthError).code).toBe('UNAUTHENTICATED');
    await stranger.close();
  });

  it('an unreachable service is WardenUnavailableError within the deadline, after retries', async () => {
    const port = await freePort();
    const nowhere = createWarden({ authz: { address: `127.0.0.1:${port}` }, credentials: { apiKey: authz.adminKey }, timeoutMs: 800, maxAttempts: 3 });
    const started = Date.now();
    const error = await nowhere.check({ subject: 'user:sarah@acme.com', action: 'flags:read', resource: 'org:acme' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WardenUnavailableError);
    expect(Date.now() - started).toBeLessThan(3000);
    await nowhere.close();
  });

  it('lookups', async () => {
    const who = await warden.lookupSubjects({ action: 'flags:enable', resource: PROD, subjectType: 'user' });
    // Production checkout requires approval (acme.yaml): only the owner (who bypasses it) is allowed outright;
    // adam, alex and sarah are allowed with approval, and a lookup lists ALLOW only.
    expect(who.items).toEqual(['user:olivia@acme.com']);
    const staging = await warden.lookupSubjects({ action: 'flags:enable', resource: 'org:acme/project:checkout/env:staging', subjectType: 'user' });
    expect(staging.items).toEqual(expect.arrayContaining(['user:adam@acme.com', 'user:alex@acme.com', 'user:olivia@acme.com', 'user:sarah@acme.com', 'user:sam@acme.com']));
    const where = await warden.lookupResources({ subject: 'user:mia@acme.com', action: 'variables:write', resourceType: 'env', scope: 'org:acme' });
    expect(where.items).toEqual(['org:acme/project:checkout/env:development']);
  });

  it('spans carry the decision', () => {
    const checks = spans.getFinishedSpans().filter((s) => s.name === 'warden.check');
    expect(checks.length).toBeGreaterThan(3);
    expect(checks.some((s) => s.attributes['warden.decision'] === 'ALLOW' && s.attributes['warden.action'] === 'flags:enable')).toBe(true);
  });
});

describe('change: check, apply, record — one correlation id', () => {
  it('records the outcome of an applied change, and refuses a denied one without applying it', async () => {
    const recorded: ChangeRecord[] = [];
    const recorder = { record: async (change: ChangeRecord) => void recorded.push(change), close: async () => undefined };
    const w = createWarden({ authz: { address: authz.app.grpcAddress }, credentials: { apiKey: authz.adminKey }, audit: recorder });
    let applied = 0;
    // In staging: production checkout requires approval (the approval path is approvals.int.test.ts).
    const result = await w.change(
      { subject: 'user:sarah@acme.com', action: 'flags:rollout', resource: STAGING_FLAG, before: { rollout: 25 }, after: { rollout: 50 }, reason: 'ramp', auditAction: 'flag.rollout_changed' },
      async ({ correlationId, decision }) => {
        applied++;
        expect(decision.allowed).toBe(true);
        return correlationId;
      },
    );
    expect(applied).toBe(1);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ correlationId: result, actor: 'user:sarah@acme.com', action: 'flag.rollout_changed', before: { rollout: 25 }, after: { rollout: 50 }, outcome: 'success', reason: 'ramp' });
    expect(recorded[0]!.traceId).toMatch(/^[0-9a-f]{32}$/);

    const failing = await w.change({ subject: 'user:sarah@acme.com', action: 'flags:rollout', resource: STAGING_FLAG, before: 50, after: 75 }, async () => {
      throw new Error('flag store is read-only');
    }).catch((e: unknown) => e);
    expect((failing as Error).message).toBe('flag store is read-only');
    expect(recorded[1]).toMatchObject({ outcome: 'failure', error: 'flag store is read-only' });

    const denied = await w.change({ subject: 'user:sam@acme.com', action: 'flags:enable', resource: FLAG, before: false, after: true }, async () => {
      applied++;
    }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(applied).toBe(1);
    expect(recorded).toHaveLength(2);
    await w.close();
  });
});
