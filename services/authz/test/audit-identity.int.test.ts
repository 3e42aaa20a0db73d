/**
 * One identity (issue 16): the real audit service authenticates its callers through the real
 * authz (IdentityService) with its own operator-issued key — no loopback trust — and asks authz
 * every read decision as the caller's credential. Against real Postgres and embedded chdb:
 *  - a key revoked in authz is refused by audit within AUDIT_AUTHZ_CACHE_MS + AUTHZ_KEY_CACHE_MS;
 *  - a caller of org A cannot read org B (an org's API key, a token holder of another org);
 *  - only listed identity callers with an operator-issued key or a token may ask authz:
 *    a key an organization mints for `service:audit`, or a loopback peer, may not.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createChannel, createClient, Metadata, Status, type Channel } from 'nice-grpc';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decision, Effect } from '@warden/proto/authz/v1';
import { AppendStatus, AuditServiceDefinition, type AuditServiceClient } from '@warden/proto/audit/v1';
import { generateSigningKey, rawPublicKey, signedEventToProto, type AuditEvent } from '@warden/audit-events';
import { v7 as uuidv7 } from 'uuid';
import { IdentityServiceDefinition } from '@warden/proto/authz/v1/identity';
import { AuthzIdentity, loadConfig as loadAuditConfig, startAuditApp, type AuditApp } from '@warden/audit/service';
import { startTestApp, type TestApp } from './support/app.js';

const AUDIT_CACHE_MS = 300;
const AUTHZ_KEY_CACHE_MS = 200;

let dir: string;
let authz: TestApp;
let audit: AuditApp;
let channel: Channel;
let client: AuditServiceClient;
const as = (credential: string) => ({ metadata: Metadata({ authorization: `Bearer ${credential}` }) });
const producer = generateSigningKey();
const signedFor = (org: string) => {
  const event: AuditEvent = {
    id: uuidv7(), occurredAt: new Date().toISOString(), actor: { type: 'service', id: 'flags' }, action: 'flag.enabled',
    resource: `org:${org}/project:p/env:staging/flag:f`, producer: 'flags', keyId: 'flags-1',
  };
  return signedEventToProto(event, producer.privateKey);
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warden-audit-identity-'));
  await writeFile(path.join(dir, 'producers.json'), JSON.stringify([{ producer: 'flags', keyId: 'flags-1', publicKey: rawPublicKey(producer.publicKey).toString('base64') }]));
  authz = await startTestApp({
    AUTHZ_PLATFORM_ADMINS: 'user:ops@warden.test',
    AUTHZ_IDENTITY_CALLERS: 'service:audit',
    AUTHZ_IDENTITY_KEY_FILE: path.join(dir, 'audit.key'),
    AUTHZ_KEY_CACHE_MS: String(AUTHZ_KEY_CACHE_MS),
  });
  audit = await startAuditApp(
    loadAuditConfig({
      AUDIT_GRPC_ADDRESS: '127.0.0.1:0',
      AUDIT_DATA_DIR: path.join(dir, 'audit'),
      AUDIT_CLICKHOUSE_DATABASE: `identity_${process.pid}`,
      AUDIT_AUTHZ_ADDRESS: authz.app.grpcAddress,
      AUDIT_AUTHZ_CREDENTIAL_FILE: path.join(dir, 'audit.key'),
      AUDIT_AUTHZ_CACHE_MS: String(AUDIT_CACHE_MS),
      AUDIT_PRODUCER_KEYS_FILE: path.join(dir, 'producers.json'),
      AUDIT_HTTP_ADDRESS: '127.0.0.1:0',
      AUDIT_LOG_LEVEL: 'silent',
    }),
    pino({ level: 'silent' }),
  );
  channel = createChannel(audit.address);
  client = createClient(AuditServiceDefinition, channel);
  const ops = authz.grpc(await authz.token('ops@warden.test'));
  await ops.admin.createOrganization({ orgId: 'globex', owner: 'user:gina@globex.com', reason: 'second tenant' });
});

afterAll(async () => {
  channel?.close();
  await audit?.close();
  await authz?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('audit callers are authz callers', () => {
  it('the audit service holds an operator-issued key of its own, written by authz at start', () => {
    expect(readFileSync(path.join(dir, 'audit.key'), 'utf8').trim()).toMatch(/^wdn_/);
  });

  it('an organization\'s API key reads its organization and not another (PERMISSION_DENIED)', async () => {
    // service:acme-admin is an owner of acme (the world file); its key acts in acme only.
    await expect(client.checkpoint({ org: 'acme' }, as(authz.adminKey))).resolves.toMatchObject({ verifierKey: expect.any(String) });
    await expect(client.checkpoint({ org: 'globex' }, as(authz.adminKey))).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    await expect(client.verify({ org: 'globex', fromSeq: 0, toSeq: 0, trustedCheckpoint: '' }, as(authz.adminKey))).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
  });

  it('an organization\'s API key appends to its organization only; producer-signed Appends without a credential stay as they were', async () => {
    const mine = signedFor('acme');
    const theirs = signedFor('globex');
    const ok = await client.append({ events: [mine] }, as(authz.adminKey));
    expect(ok.results.map((r) => r.status)).toEqual([AppendStatus.APPEND_STATUS_ACCEPTED]);
    await expect(client.append({ events: [theirs] }, as(authz.adminKey))).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    await expect(client.append({ events: [signedFor('acme'), theirs] }, as(authz.adminKey))).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    // Nothing of the refused calls was stored: the same event is new when its producer sends it.
    const later = await client.append({ events: [theirs] });
    expect(later.results.map((r) => r.status)).toEqual([AppendStatus.APPEND_STATUS_ACCEPTED]);
  });

  it('the log over HTTP (tlog-tiles) takes the same credentials: org A reads A, not B', async () => {
    await client.append({ events: [signedFor('acme')] });
    await audit.log.checkpointAll();
    const get = (org: string, credential?: string) => fetch(`http://${audit.tlogAddress!}/tlog/${org}/checkpoint`, { headers: credential === undefined ? {} : { authorization: `Bearer ${credential}` } });
    expect((await get('acme', authz.adminKey)).status).toBe(200);
    expect((await get('globex', authz.adminKey)).status).toBe(403);
    expect((await get('acme')).status).toBe(401);
    expect((await get('acme', 'wdn_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb')).status).toBe(401);
  });

  it('a token holder of org B cannot read org A, and reads B', async () => {
    const gina = await authz.token('gina@globex.com');
    await expect(client.checkpoint({ org: 'globex' }, as(gina))).resolves.toBeDefined();
    await expect(client.checkpoint({ org: 'acme' }, as(gina))).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    const chunks = client.export({ filter: { org: 'acme', actions: [] }, format: 0, includeProofs: false }, as(gina));
    await expect((async () => { for await (const _ of chunks) void _; })()).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
  });

  it('unknown credentials are UNAUTHENTICATED; x-warden-subject is not accepted', async () => {
    await expect(client.checkpoint({ org: 'acme' }, as('wdn_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'))).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    await expect(client.checkpoint({ org: 'acme' }, { metadata: Metadata({ 'x-warden-subject': 'user:olivia@acme.com' }) })).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    await expect(client.checkpoint({ org: 'acme' })).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
  });

  it('a key revoked in authz is refused by audit within AUDIT_AUTHZ_CACHE_MS + AUTHZ_KEY_CACHE_MS', async () => {
    const olivia = authz.grpc(await authz.token('olivia@acme.com'));
    await olivia.admin.grantBinding({ subject: 'service:reporter', role: 'security_auditor', actions: [], scope: 'org:acme', effect: Effect.EFFECT_ALLOW, condition: '', reason: 'audit reports' });
    const created = await olivia.admin.createApiKey({ org: 'acme', subject: 'service:reporter', description: 'reports', reason: 'audit reports' });
    // Read once: the caller and the decision are now in both caches.
    await expect(client.checkpoint({ org: 'acme' }, as(created.key))).resolves.toBeDefined();
    await olivia.admin.revokeApiKey({ keyId: created.keyId, reason: 'rotated' });
    const revokedAt = Date.now();
    let refusedAfter: number | undefined;
    while (Date.now() - revokedAt < AUDIT_CACHE_MS + AUTHZ_KEY_CACHE_MS + 2_000) {
      const outcome = await client.checkpoint({ org: 'acme' }, as(created.key)).then(() => 'ok', (error: { code: Status }) => error.code);
      if (outcome === Status.UNAUTHENTICATED) {
        refusedAfter = Date.now() - revokedAt;
        break;
      }
      expect(outcome).toBe('ok');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(refusedAfter).toBeDefined();
    // The bound the docs give (plus the time one round trip may take on a busy machine).
    expect(refusedAfter!).toBeLessThanOrEqual(AUDIT_CACHE_MS + AUTHZ_KEY_CACHE_MS + 250);
    // And it stays refused.
    await expect(client.checkpoint({ org: 'acme' }, as(created.key))).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
  });
});

describe('who may ask authz about credentials', () => {
  it('an organization cannot make an identity caller: its key for service:audit is refused by IdentityService', async () => {
    const olivia = authz.grpc(await authz.token('olivia@acme.com'));
    const minted = await olivia.admin.createApiKey({ org: 'acme', subject: 'service:audit', description: 'pretends to be audit', reason: 'attack' });
    const ch = createChannel(authz.app.grpcAddress);
    try {
      const identity = createClient(IdentityServiceDefinition, ch);
      await expect(identity.authenticate({ credential: authz.adminKey }, as(minted.key))).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
      await expect(identity.checkCredential({ credential: authz.adminKey, action: 'audit:read', resource: 'org:acme' }, as(minted.key))).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
      // No credentials from loopback: refused (no loopback trust).
      await expect(identity.authenticate({ credential: authz.adminKey })).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
      // An audit service holding that key cannot authenticate anyone: UNAVAILABLE, never a caller.
      const fake = AuthzIdentity.connect({ address: authz.app.grpcAddress, credential: minted.key, cacheMs: 0, timeoutMs: 2000 });
      try {
        await expect(fake.authenticate(authz.adminKey)).rejects.toMatchObject({ code: 'unavailable' });
      } finally {
        fake.close();
      }
    } finally {
      ch.close();
    }
  });

  it('the real audit key may ask (and only about what the credential itself may do)', async () => {
    const ch = createChannel(authz.app.grpcAddress);
    try {
      const identity = createClient(IdentityServiceDefinition, ch);
      const auditKey = readFileSync(path.join(dir, 'audit.key'), 'utf8').trim();
      const who = await identity.authenticate({ credential: authz.adminKey }, as(auditKey));
      expect(who.caller).toMatchObject({ subject: 'service:acme-admin', kind: 'api_key', org: 'acme', platformAdmin: false });
      expect(who.cacheTtlMs).toBe(AUTHZ_KEY_CACHE_MS);
      expect(who.refusal).toBe('');
      // A caller's invalid credential is an answer, not UNAUTHENTICATED (which is about the asker).
      const bad = await identity.authenticate({ credential: 'wdn_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' }, as(auditKey));
      expect(bad).toMatchObject({ refusal: expect.stringMatching(/not valid/) });
      expect(bad.caller).toBeUndefined();
      const denied = await identity.checkCredential({ credential: 'wdn_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', action: 'audit:read', resource: 'org:acme' }, as(auditKey));
      expect(denied.decision).toBe(Decision.DECISION_DENY);
      await expect(identity.authenticate({ credential: '' }, as(auditKey))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
      // The audit key itself acts in no organization: it cannot read audit logs as itself.
      await expect(client.checkpoint({ org: 'acme' }, as(auditKey))).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    } finally {
      ch.close();
    }
  });
});
