/** The real gRPC server (on 127.0.0.1:0) with real Postgres, called through the real nice-grpc client. */
import { currentRevision } from '../src/adapters/postgres/pg-revision.js';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClientError, createChannel, createClient, Metadata, Status, type Channel } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthzServiceDefinition, Decision, ReasonCode, type AuthzServiceClient } from '@warden/proto/authz/v1';
import { startAuthzApp, type AuthzApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ACME_FILE } from './acme-scenario.js';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';

let db: TestDatabase;
let app: AuthzApp;
let channel: Channel;
let client: AuthzServiceClient;
let keyFile: string;
let startRevision: number;

const baseEnv = () => ({ DATABASE_URL: db.url, AUTHZ_GRPC_PORT: '0', AUTHZ_HTTP_PORT: '0' });
const authHeader = () => Metadata({ authorization: `Bearer ${readFileSync(keyFile, 'utf8').trim()}` });

const PROD = 'org:acme/project:checkout/env:production';

beforeAll(async () => {
  db = await createTestDatabase();
  keyFile = path.join(await mkdtemp(path.join(tmpdir(), 'warden-grpc-')), 'admin.key');
  const config = loadConfig({
    ...baseEnv(),
    AUTHZ_WORLD_FILE: ACME_FILE,
    AUTHZ_SHUTDOWN_GRACE_MS: '2000',
    AUTHZ_BOOTSTRAP_KEY_FILE: keyFile,
    AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin',
    AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
  });
  app = await startAuthzApp(config, pino({ level: 'silent' }));
  channel = createChannel(app.grpcAddress);
  client = createClient(AuthzServiceDefinition, channel, { '*': { metadata: authHeader() } });
  // The world file is revision 1; creating the bootstrap key is a recorded change too.
  startRevision = await currentRevision(db.pool);
  expect(startRevision).toBe(2);
});

afterAll(async () => {
  channel?.close();
  await app?.close();
  await db?.drop();
});

describe('AuthzService over gRPC', () => {
  it('Check allows with the binding as reason', async () => {
    // secrets:reveal: production checkout requires approval for flag changes (acme.yaml), not for this.
    const response = await client.check({ subject: 'user:sarah@acme.com', action: 'secrets:reveal', resource: `${PROD}/secret:STRIPE_KEY` });
    expect(response.decision).toBe(Decision.DECISION_ALLOW);
    expect(response.revision).toBe(startRevision);
    expect(response.reason).toMatchObject({
      code: ReasonCode.REASON_CODE_ALLOWED,
      binding: { subject: 'user:sarah@acme.com', role: 'release_manager', scope: PROD },
    });
    expect(response.reason?.binding?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a denial is an answer (status OK) with its rule', async () => {
    const response = await client.check({ subject: 'user:sam@acme.com', action: 'flags:enable', resource: `${PROD}/flag:checkout-v2` });
    expect(response.decision).toBe(Decision.DECISION_DENY);
    expect(response.reason).toMatchObject({
      code: ReasonCode.REASON_CODE_PROTECTED_RESOURCE,
      ruleResource: PROD,
      requiredRoles: ['owner', 'admin', 'release_manager', 'release_requester'],
    });
  });

  it('passes context (a protobuf Struct) to conditions', async () => {
    const resource = 'org:acme/project:checkout/env:staging/variable:API_URL';
    const without = await client.check({ subject: 'user:dana@acme.com', action: 'variables:write', resource });
    expect(without.reason?.code).toBe(ReasonCode.REASON_CODE_CONDITION_FALSE);
    const withTicket = await client.check({ subject: 'user:dana@acme.com', action: 'variables:write', resource, context: { ticket: 'OPS-7' } });
    expect(withTicket.decision).toBe(Decision.DECISION_ALLOW);
  });

  it('CheckBatch answers in request order at one revision', async () => {
    const checks = [
      { subject: 'user:mia@acme.com', action: 'variables:write', resource: 'org:acme/project:checkout/env:development/variable:A' },
      { subject: 'user:victor@acme.com', action: 'variables:write', resource: 'org:acme/project:checkout/env:staging/variable:A' },
      { subject: 'user:chris@acme.com', action: 'secrets:reveal', resource: 'org:acme/project:checkout/env:development/secret:S' },
      { subject: 'user:tom@acme.com', action: 'variables:write', resource: 'org:acme/project:checkout/env:staging/variable:A' },
    ];
    const response = await client.checkBatch({ checks, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
    expect(response.revision).toBe(startRevision);
    expect(response.results.map((r) => [r.decision, r.reason?.code, r.revision])).toEqual([
      [Decision.DECISION_ALLOW, ReasonCode.REASON_CODE_ALLOWED, startRevision],
      [Decision.DECISION_DENY, ReasonCode.REASON_CODE_CEILING, startRevision],
      [Decision.DECISION_DENY, ReasonCode.REASON_CODE_DENY_BINDING, startRevision],
      [Decision.DECISION_DENY, ReasonCode.REASON_CODE_EXPIRED, startRevision],
    ]);
  });

  it('honours at_least_revision up to the newest revision', async () => {
    const ok = await client.check({
      subject: 'user:olivia@acme.com', action: 'billing:manage', resource: 'org:acme',
      consistency: { requirement: { $case: 'atLeastRevision', value: 1 } },
    });
    expect(ok.decision).toBe(Decision.DECISION_ALLOW);
    const error = await client
      .check({ subject: 'user:olivia@acme.com', action: 'billing:manage', resource: 'org:acme', consistency: { requirement: { $case: 'atLeastRevision', value: 99 } } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).code).toBe(Status.INVALID_ARGUMENT);
  });

  const invalid: Array<[string, Parameters<AuthzServiceClient['check']>[0], string]> = [
    ['a malformed subject', { subject: 'sarah', action: 'flags:read', resource: 'org:acme' }, 'subject: "sarah" is not of the form type:id'],
    ['a malformed action', { subject: 'user:a', action: 'flags:*', resource: 'org:acme' }, 'action: "flags:*" is not an action'],
    ['a malformed resource', { subject: 'user:a', action: 'flags:read', resource: 'org:acme/flag' }, 'resource: segment 2 ("flag") is not of the form type:id'],
    ['a missing resource', { subject: 'user:a', action: 'flags:read', resource: '' }, 'resource: is required'],
    ['an oversized context', { subject: 'user:a', action: 'flags:read', resource: 'org:acme', context: { blob: 'x'.repeat(20_000) } }, 'context: is 20011 bytes as JSON'],
  ];
  for (const [name, request, message] of invalid) {
    it(`rejects ${name} with INVALID_ARGUMENT`, async () => {
      const error = await client.check(request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ClientError);
      expect((error as ClientError).code).toBe(Status.INVALID_ARGUMENT);
      expect((error as ClientError).details).toContain(message);
    });
  }

  it('rejects a batch item that sets its own consistency, naming the item', async () => {
    const error = await client
      .checkBatch({ checks: [{ subject: 'user:a', action: 'flags:read', resource: 'org:acme', consistency: { requirement: { $case: 'fullyConsistent', value: true } } }] })
      .catch((e: unknown) => e);
    expect((error as ClientError).code).toBe(Status.INVALID_ARGUMENT);
    expect((error as ClientError).details).toBe('checks[0].consistency: must be unset; set the batch consistency instead');
  });

  it('rejects an empty batch and an oversized batch', async () => {
    const empty = await client.checkBatch({ checks: [] }).catch((e: unknown) => e);
    expect((empty as ClientError).details).toBe('checks: must hold at least one check');
    const big = Array.from({ length: 1001 }, () => ({ subject: 'user:a', action: 'flags:read', resource: 'org:acme' }));
    const tooMany = await client.checkBatch({ checks: big }).catch((e: unknown) => e);
    expect((tooMany as ClientError).details).toBe('checks: holds 1001 checks; at most 1000 are allowed');
  });

  it('serves grpc.health.v1 for the server and the service', async () => {
    const health = createClient(HealthDefinition, channel);
    const SERVING = 1; // grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING
    expect((await health.check({ service: '' })).status).toBe(SERVING);
    expect((await health.check({ service: 'warden.authz.v1.AuthzService' })).status).toBe(SERVING);
    const unknown = await health.check({ service: 'no.such.Service' }).catch((e: unknown) => e);
    expect((unknown as ClientError).code).toBe(Status.NOT_FOUND);
  });

  it('answers UNAVAILABLE (never an allow) when Postgres cannot be reached', async () => {
    const config = loadConfig(baseEnv());
    const second = await startAuthzApp(config, pino({ level: 'silent' }));
    const ch = createChannel(second.grpcAddress);
    const c = createClient(AuthzServiceDefinition, ch, { '*': { metadata: authHeader() } });
    try {
      // Authenticate once while the store is up (keys are cached briefly), then take the store away.
      await c.check({ subject: 'user:olivia@acme.com', action: 'flags:read', resource: 'org:acme' });
      await second.pool.end();
      // (What is cached, and confirmed fresh, is still answered: cache-freshness.int.test.ts.)
      const error = await c.check({ subject: 'user:not-cached@acme.com', action: 'flags:read', resource: 'org:acme' }).catch((e: unknown) => e);
      expect((error as ClientError).code).toBe(Status.UNAVAILABLE);
      expect((error as ClientError).details).toBe('the grant store (Postgres) could not be read');
    } finally {
      ch.close();
      second.pool.end = async () => undefined; // already ended
      await second.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('drains an in-flight call, then refuses new connections', async () => {
    const config = loadConfig(baseEnv());
    const server = await startAuthzApp(config, pino({ level: 'silent' }));
    const ch = createChannel(server.grpcAddress);
    const c = createClient(AuthzServiceDefinition, ch, { '*': { metadata: authHeader() } });
    await c.check({ subject: 'user:olivia@acme.com', action: 'flags:read', resource: 'org:acme' });
    // Hold the call inside the server: lock bindings so its read waits, and see it waiting in Postgres.
    const locker = await db.pool.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE bindings IN ACCESS EXCLUSIVE MODE');
    const inFlight = c.check({ subject: 'user:sarah@acme.com', action: 'secrets:reveal', resource: `${PROD}/secret:STRIPE_KEY` });
    for (let i = 0; ; i++) {
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
      if (rows[0].n > 0) break;
      if (i > 200) throw new Error('the call never reached Postgres');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed, 'close waits for the in-flight call').toBe(false);
    await locker.query('COMMIT');
    locker.release();
    const answered = await inFlight;
    expect(answered.decision).toBe(Decision.DECISION_ALLOW);
    await closing;
    expect(closed).toBe(true);
    const after = await c.check({ subject: 'user:olivia@acme.com', action: 'flags:read', resource: 'org:acme' }, { signal: AbortSignal.timeout(2000) }).catch((e: unknown) => e);
    expect(after).toBeInstanceOf(Error);
    ch.close();
  });
});
