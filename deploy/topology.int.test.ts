/**
 * deploy/compose.yaml, run natively (there is no container engine on this machine).
 *
 * The test reads the compose file and the two Dockerfiles, and starts the SAME processes
 * the `authz` and `audit` containers would run — each Dockerfile's `CMD`, from the
 * repository root (the images' WORKDIR holds the same layout) — with the container's
 * environment (Dockerfile `ENV` + compose `environment`) mapped to this machine by the
 * table below: compose host names and loopback become 127.0.0.1 with free ports, secrets
 * and volumes become files and folders the test generates the way docs/deploy.md tells an
 * operator to, DATABASE_URL is a fresh database on the machine's Postgres and REDIS_URL
 * the machine's Redis with a key prefix of the test's own. A variable the table does not
 * know fails the test: compose cannot grow a setting this test silently ignores.
 *
 * Then it drives the system as a user would: a grant and a revoke through the admin API
 * with the bootstrap key, Checks over gRPC and AuthZEN, the signed change events in the
 * audit timeline, /metrics, and a SIGTERM that both processes answer with exit code 0
 * within compose's stop grace period.
 *
 * Reading compose and the Dockerfiles and applying the table: support/compose.ts.
 *
 * Needs `npm run build` (the services' dist), Postgres (WARDEN_TEST_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres) and Redis (WARDEN_TEST_REDIS_URL, default
 * redis://127.0.0.1:6379): without them it fails, loudly.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { ClientError, createChannel, createClient, Metadata, Status, type Channel } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditServiceDefinition, Order, type StoredEvent } from '@warden/proto/audit/v1';
import { AuthzServiceDefinition, Decision, Effect, ReasonCode } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { AuditEventState, AuditStatusServiceDefinition } from '@warden/proto/authz/v1/audit-status';
import { canonicalEvent, createNoteVerifier, formatVerifierKey, isBatchSignature, storedSignatureFromProto, verifyRecordSignature, type AuditEvent, type JsonValue } from '@warden/audit-events';
import { createDatabase, deleteKeys, redisPrefix, sharedRedis, startProcess, type TestDatabase, type TestProcess } from '@warden/testkit';
import {
  address,
  allocate,
  asPath,
  bind,
  compose,
  containerEnv,
  keep,
  listen,
  mounts,
  netns,
  plan,
  port,
  readDockerfile,
  ROOT,
  stopGraceMs,
  type Endpoints,
  type MappingTable,
  type Plan,
  type Run,
  type ServiceName,
} from './support/compose.js';

// ---------------------------------------------------------------------------------------
// The mapping table: every variable a Warden container gets, and what it becomes here.
// ---------------------------------------------------------------------------------------

// No ClickHouse server can be installed here (Debian's is 18.16, there is no container engine),
// so audit runs with CLICKHOUSE_URL unset: the same SQL on the embedded chdb engine, whose data
// lands in AUDIT_DATA_DIR (the audit-spool volume, a temporary folder).
const NO_CLICKHOUSE_SERVER = 'no ClickHouse server here: audit uses the embedded chdb engine in AUDIT_DATA_DIR';

const ENV_RULES: MappingTable['rules'] = {
  authz: {
    NODE_ENV: keep, // authz.Dockerfile
    DATABASE_URL_FILE: asPath, // secret database_url: holds the URL of this test's fresh database
    REDIS_URL: address, // redis:6379 → the machine's Redis
    AUTHZ_GRPC_HOST: bind,
    AUTHZ_GRPC_PORT: port,
    AUTHZ_HTTP_HOST: bind,
    AUTHZ_HTTP_PORT: port,
    AUTHZ_METRICS_HOST: bind,
    AUTHZ_METRICS_PORT: port, // a free port, never the default 9464: tests run side by side
    AUTHZ_WORLD_FILE: asPath, // ../examples/acme.yaml, mounted
    AUTHZ_BOOTSTRAP_KEY_FILE: asPath, // in the authz-home volume
    AUTHZ_BOOTSTRAP_KEY_SUBJECT: keep,
    AUTHZ_BOOTSTRAP_KEY_ORG: keep,
    AUTHZ_AUDIT_ADDRESS: address, // 127.0.0.1:50052 in authz's network namespace: audit
    AUTHZ_AUDIT_SIGNING_KEY_FILE: asPath,
    AUTHZ_AUDIT_KEY_ID: keep,
    AUTHZ_AUDIT_VERIFIER_KEY_FILE: asPath,
    AUTHZ_IDENTITY_CALLERS: keep,
    AUTHZ_IDENTITY_KEY_FILE: asPath, // in the authz-home volume, which audit mounts read-only
    AUTHZ_LOG_LEVEL: keep,
  },
  audit: {
    NODE_ENV: keep, // audit.Dockerfile
    AUDIT_DATA_DIR: asPath, // audit.Dockerfile; the audit-spool volume
    AUDIT_GRPC_ADDRESS: listen,
    CLICKHOUSE_URL: { kind: 'drop', why: NO_CLICKHOUSE_SERVER },
    AUDIT_CLICKHOUSE_USER: { kind: 'drop', why: `server credentials (the config refuses them without CLICKHOUSE_URL); ${NO_CLICKHOUSE_SERVER}` },
    AUDIT_CLICKHOUSE_PASSWORD_FILE: { kind: 'drop', why: `server credentials; ${NO_CLICKHOUSE_SERVER}` },
    AUDIT_AUTHZ_ADDRESS: address, // 127.0.0.1:50051 in authz's network namespace: authz
    AUDIT_SIGNING_KEY_FILE: asPath,
    AUDIT_PRODUCER_KEYS_FILE: asPath,
    AUDIT_AUTHZ_CREDENTIAL_FILE: asPath, // the key authz issued into the authz-home volume
    AUDIT_METRICS_HOST: bind,
    AUDIT_METRICS_PORT: port, // a free port, never the default 9465
    AUDIT_LOG_LEVEL: keep,
    // Issue 16: witnesses come from the shell (`${AUDIT_WITNESSES:-}`, empty by default); the example
    // witness is a compose profile this test does not start (tools/cli/test/witness-policy.int.test.ts runs one).
    AUDIT_WITNESSES: { kind: 'drop', why: 'empty unless the shell sets it; no witness runs in this test' },
    AUDIT_HTTP_ADDRESS: listen, // the tlog-tiles HTTP server
  },
};

/** Variables the test adds that compose does not set, and why. */
const ADDED: MappingTable['added'] = {
  authz: {
    // Compose gives authz a Redis of its own; here the machine's Redis is shared with other tests.
    AUTHZ_REDIS_KEY_PREFIX: (run) => run.redisPrefix,
  },
  audit: {
    // Compose keeps the 10 s default; the pinned-key check below waits for a checkpoint, so one a second here.
    AUDIT_CHECKPOINT_INTERVAL_MS: () => '1000',
  },
};

/** A member of examples/acme.yaml the test grants to and revokes from. */
const MEMBER = 'user:mia@acme.com';

/** The files under deploy/secrets/ that compose reads, generated as docs/deploy.md says. */
const SECRET_FILES: Readonly<Record<string, (run: Run) => string>> = {
  // The compose Postgres's password; the machine's Postgres is reached through database_url below.
  postgres_password: () => randomBytes(18).toString('base64'),
  database_url: (run) => run.databaseUrl,
  clickhouse_password: () => randomBytes(18).toString('base64'),
  'audit_signing_key.pem': (run) => pem(run.auditKey),
  // As docs/deploy.md: `warden audit verifier-key --signing-key audit_signing_key.pem` (compose sets no AUDIT_SIGNING_KEY_NAME: the default name).
  audit_verifier_key: (run) => formatVerifierKey(createNoteVerifier('warden-audit', createPublicKey(run.auditKey))),
  'authz_audit_key.pem': (run) => pem(run.producerKey),
  'producers.json': (run) =>
    JSON.stringify([{ producer: 'authz', keyId: run.env('authz', 'AUTHZ_AUDIT_KEY_ID'), publicKey: createPublicKey(run.producerKey).export({ type: 'spki', format: 'pem' }).toString() }]),
};

function pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

// ---------------------------------------------------------------------------------------
// Processes.
// ---------------------------------------------------------------------------------------

function start(p: Plan, home: string): TestProcess {
  // The image's WORKDIR (/app) holds the repository's layout; only the container's environment, PATH and HOME.
  return startProcess(process.execPath, p.args, { name: p.service, cwd: ROOT, inheritEnv: false, env: { HOME: home, ...p.env } });
}

// ---------------------------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------------------------

let tempDir: string | undefined;
let run: Run;
let endpoints: Endpoints;
let plans: Record<ServiceName, Plan>;
let database: TestDatabase | undefined;
let redis: Redis | undefined;
let authz: TestProcess | undefined;
let audit: TestProcess | undefined;
const channels: Channel[] = [];

function grpcClients(key: string) {
  const channel = createChannel(plans.authz.env['AUTHZ_GRPC_HOST'] + ':' + plans.authz.env['AUTHZ_GRPC_PORT']);
  channels.push(channel);
  const options = { '*': { metadata: Metadata({ authorization: `Bearer ${key}` }) } };
  return { authz: createClient(AuthzServiceDefinition, channel, options), admin: createClient(AdminServiceDefinition, channel, options) };
}

function httpUrl(route: string): string {
  return `http://${plans.authz.env['AUTHZ_HTTP_HOST']}:${plans.authz.env['AUTHZ_HTTP_PORT']}${route}`;
}

async function timeline(key: string, filter: { org: string; resourcePrefix?: string; actions?: string[] }): Promise<StoredEvent[]> {
  const channel = createChannel(plans.audit.env['AUDIT_GRPC_ADDRESS']!);
  const client = createClient(AuditServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${key}` }) } });
  const events: StoredEvent[] = [];
  try {
    for await (const page of client.query({ filter: { actions: [], ...filter }, order: Order.ORDER_OLDEST_FIRST, pageSize: 1000, limit: 0, cursor: '' })) {
      events.push(...page.events);
    }
  } finally {
    channel.close();
  }
  return events;
}

beforeAll(async () => {
  for (const service of ['authz', 'audit'] as const) {
    const main = path.join(ROOT, readDockerfile(compose.services[service]!.build!.dockerfile).cmd.at(-1)!);
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm test does)`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-topology-'));
  tempDir = dir;

  // A fresh, empty database: authz migrates it at start, as it would the compose Postgres.
  database = await createDatabase({ prefix: 'warden_topology_', poolMax: 2 });
  redis = await sharedRedis();

  const containerEnvs = { authz: containerEnv('authz'), audit: containerEnv('audit') };
  run = {
    dir,
    databaseUrl: database.url,
    redisPrefix: redisPrefix('topology'),
    producerKey: generateKeyPairSync('ed25519').privateKey,
    auditKey: generateKeyPairSync('ed25519').privateKey,
    env: (service, key) => {
      const value = containerEnvs[service][key];
      if (value === undefined) throw new Error(`${service}: compose no longer sets ${key}, which the generated secrets need`);
      return value;
    },
  };

  // Secrets and bind-mounted files under deploy/secrets/ → generated files; named volumes → folders.
  for (const service of ['authz', 'audit'] as const) {
    for (const { source } of mounts(service, dir)) {
      if (source.startsWith(path.join(dir, 'secrets'))) {
        const generate = SECRET_FILES[path.relative(path.join(dir, 'secrets'), source)];
        if (generate === undefined) throw new Error(`${service}: compose reads ${source.slice(dir.length)}, which this test does not know how to generate (see docs/deploy.md)`);
        await mkdir(path.dirname(source), { recursive: true });
        if (!existsSync(source)) await writeFile(source, `${generate(run)}\n`, { mode: 0o600 });
      } else if (source.startsWith(path.join(dir, 'volumes'))) {
        await mkdir(source, { recursive: true });
      } else {
        expect(existsSync(source), `${service} mounts ${source}`).toBe(true);
      }
    }
  }

  const table = { rules: ENV_RULES, added: ADDED };
  endpoints = await allocate(table);
  plans = { authz: plan('authz', run, endpoints, table), audit: plan('audit', run, endpoints, table) };

  // Compose's order: audit depends on a healthy authz.
  expect(compose.services['audit']!.depends_on?.['authz']?.condition).toBe('service_healthy');
  await mkdir(path.join(dir, 'home-authz'));
  await mkdir(path.join(dir, 'home-audit'));
  authz = start(plans.authz, path.join(dir, 'home-authz'));
  await authz.waitFor('HTTP 200 on /readyz', async () => (await fetch(httpUrl('/readyz'))).status === 200, { timeoutMs: 30_000, intervalMs: 100 });
  audit = start(plans.audit, path.join(dir, 'home-audit'));
  const healthChannel = createChannel(plans.audit.env['AUDIT_GRPC_ADDRESS']!);
  channels.push(healthChannel);
  const health = createClient(HealthDefinition, healthChannel);
  const SERVING = 1; // grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING
  await audit.waitFor('grpc.health.v1 SERVING', async () => (await health.check({ service: '' })).status === SERVING, { timeoutMs: 30_000, intervalMs: 100 });
}, 90_000);

afterAll(async () => {
  for (const channel of channels) channel.close();
  for (const proc of [audit, authz]) await proc?.kill();
  await database?.drop();
  if (redis !== undefined) {
    if (run !== undefined) await deleteKeys(redis, run.redisPrefix);
    redis.disconnect();
  }
  if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
}, 30_000);

describe('deploy/compose.yaml, natively: authz and audit as the containers would run them', () => {
  const scope = 'org:acme/project:search/env:staging';
  const resource = `${scope}/variable:FEATURE_FLAGS_URL`;
  const ask = { subject: MEMBER, action: 'variables:write', resource };
  let adminKey: string;
  let granted: { bindingId: string; revision: number };
  let revokedRevision: number;

  it('mapped every variable compose and the Dockerfiles set, and started both processes from their images\' CMD', () => {
    expect(plans.authz.args.at(-1)).toBe('services/authz/dist/main.js');
    expect(plans.audit.args.at(-1)).toBe('services/audit/dist/main.js');
    // The node options of the image's CMD are passed as they are (authz: V8 heap growth).
    expect(plans.authz.args.slice(0, -1)).toEqual(readDockerfile('deploy/authz.Dockerfile').cmd.slice(1, -1));
    // Every port compose publishes is one a process listens on, in that service's network namespace.
    for (const service of ['authz', 'audit'] as const) {
      for (const published of compose.services[service]!.ports ?? []) {
        expect([...endpoints.keys()], `${service} publishes ${published}`).toContain(`${netns(service)}:${published.split(':').at(-1)}`);
      }
    }
    expect(plans.audit.env['CLICKHOUSE_URL']).toBeUndefined();
    expect(authz!.stdout).toContain('"msg":"organization created from the world file"');
    expect(authz!.stdout).toContain('"msg":"bootstrap API key created"');
    expect(authz!.stdout).toContain('"subject":"service:audit"');
    expect(authz!.stdout).not.toContain('AUTHZ_TRUST_LOOPBACK is on');
    expect(authz!.stdout).toContain('"msg":"outbox relay started"');
    expect(audit!.stdout).toMatch(/"store":"chdb".*"msg":"audit service listening"/);
  });

  it('grants through the admin HTTP API with the bootstrap key, and Check allows over gRPC and AuthZEN', async () => {
    adminKey = (await readFile(plans.authz.env['AUTHZ_BOOTSTRAP_KEY_FILE']!, 'utf8')).trim();
    expect(adminKey).toMatch(/^wdn_/);
    const { authz: check } = grpcClients(adminKey);
    const before = await check.check({ ...ask, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
    expect(before.decision).toBe(Decision.DECISION_DENY);

    const response = await fetch(httpUrl('/warden.authz.v1.AdminService/GrantBinding'), {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: MEMBER, role: 'env_writer', scope, reason: 'topology test: covering search staging' }),
    });
    const body = (await response.json()) as { binding?: { id?: string }; revision?: number | string; created?: boolean };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.created).toBe(true);
    granted = { bindingId: body.binding!.id!, revision: Number(body.revision) };
    expect(granted.revision).toBeGreaterThan(before.revision);

    const after = await check.check({ ...ask, consistency: { requirement: { $case: 'atLeastRevision', value: granted.revision } } });
    expect(after.decision).toBe(Decision.DECISION_ALLOW);
    expect(after.reason?.binding?.id).toBe(granted.bindingId);

    const authzen = await fetch(httpUrl('/access/v1/evaluation'), {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: { type: 'user', id: 'mia@acme.com' }, action: { name: ask.action }, resource: { type: 'variable', id: resource } }),
    });
    expect(authzen.status).toBe(200);
    expect(await authzen.json()).toMatchObject({ decision: true, context: { warden: { decision: 'ALLOW' } } });
  });

  it('revokes through the admin gRPC API, and Check refuses over gRPC and AuthZEN', async () => {
    const { authz: check, admin } = grpcClients(adminKey);
    const revoked = await admin.revokeBinding({ bindingId: granted.bindingId, reason: 'topology test: rotation ended' });
    expect(revoked.changes).toBe(1);
    revokedRevision = revoked.revision;
    expect(revokedRevision).toBeGreaterThan(granted.revision);
    const after = await check.check({ ...ask, consistency: { requirement: { $case: 'atLeastRevision', value: revokedRevision } } });
    expect(after.decision).toBe(Decision.DECISION_DENY);
    expect(after.reason?.code).toBe(ReasonCode.REASON_CODE_NO_BINDING);
    const authzen = await fetch(httpUrl('/access/v1/evaluation'), {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: { type: 'user', id: 'mia@acme.com' }, action: { name: ask.action }, resource: { type: 'variable', id: resource } }),
    });
    expect(await authzen.json()).toMatchObject({ decision: false });
    // Without a credential, administering is refused, from loopback too (no loopback trust).
    const channel = createChannel(`${plans.authz.env['AUTHZ_GRPC_HOST']}:${plans.authz.env['AUTHZ_GRPC_PORT']}`);
    channels.push(channel);
    const anonymous = createClient(AdminServiceDefinition, channel);
    const again = { subject: MEMBER, role: 'env_writer', actions: [], scope, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'no credential' };
    await expect(anonymous.grantBinding(again)).rejects.toSatisfy(
      (error: unknown) => error instanceof ClientError && (error.code === Status.UNAUTHENTICATED || error.code === Status.PERMISSION_DENIED),
    );
  });

  it('the outbox relay delivered both changes to audit, signed by the compose key, by the right actor, in revision order', async () => {
    const { rows } = await database!.pool.query<{ id: string; revision: string; action: string }>(
      `SELECT id::text AS id, revision::text AS revision, event->>'action' AS action FROM outbox WHERE revision = ANY($1::bigint[]) ORDER BY revision`,
      [[granted.revision, revokedRevision]],
    );
    expect(rows.map((r) => [Number(r.revision), r.action])).toEqual([[granted.revision, 'binding.created'], [revokedRevision, 'binding.deleted']]);
    const filter = { org: 'acme', resourcePrefix: scope, actions: ['binding.created', 'binding.deleted'] };
    const events = await audit!.waitFor(
      'both change events in the audit timeline',
      async () => {
        // The bootstrap key (an owner of acme) reads acme's trail: audit asks authz, with its own key.
        const found = await timeline(adminKey, filter);
        return found.length >= 2 ? found : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    // Audit event ids are the outbox ids, so each event is tied to the revision its write committed as.
    expect(events.map((e) => e.signed?.event?.id)).toEqual(rows.map((r) => r.id));
    expect(events[0]!.seq).toBeLessThan(events[1]!.seq);
    const publicKey = createPublicKey(run.producerKey);
    for (const [i, stored] of events.entries()) {
      const event = stored.signed!.event!;
      expect(event).toMatchObject({
        actor: { type: 'service', id: 'acme-admin' },
        action: rows[i]!.action,
        resource: scope,
        producer: 'authz',
        keyId: plans.authz.env['AUTHZ_AUDIT_KEY_ID'],
        reason: i === 0 ? 'topology test: covering search staging' : 'topology test: rotation ended',
      });
      expect(stored).toMatchObject({ org: 'acme', project: 'search', environment: 'staging' });
      const signed: AuditEvent = {
        id: event.id,
        occurredAt: event.occurredAt!.toISOString(),
        actor: { type: event.actor!.type as AuditEvent['actor']['type'], id: event.actor!.id },
        action: event.action,
        resource: event.resource,
        before: (event.before ?? null) as JsonValue,
        after: (event.after ?? null) as JsonValue,
        ...(event.reason !== undefined ? { reason: event.reason } : {}),
        producer: event.producer,
        keyId: event.keyId,
      };
      // The outbox sends batch-signed Appends: the stored signature is the event's batch form.
      const signature = storedSignatureFromProto(stored.signed!.signature);
      expect(isBatchSignature(signature)).toBe(true);
      expect(verifyRecordSignature(canonicalEvent(signed), signature, publicKey), `event ${i} verifies with the generated authz_audit_key`).toBe(true);
    }
    // authz checks them against the pinned audit key (AUTHZ_AUDIT_VERIFIER_KEY_FILE), as the console's audit page does,
    // once a checkpoint covers them (AUDIT_CHECKPOINT_INTERVAL_MS).
    const status = createClient(AuditStatusServiceDefinition, createChannel(plans.authz.env['AUTHZ_GRPC_HOST'] + ':' + plans.authz.env['AUTHZ_GRPC_PORT']), {
      '*': { metadata: Metadata({ authorization: `Bearer ${adminKey}` }) },
    });
    let last = '';
    const verified = await audit!.waitFor(
      'both events verified in a checkpoint signed by the pinned key',
      async () => {
        const answer = await status.getAuditStatus({ org: 'org:acme', eventIds: rows.map((r) => r.id) });
        last = JSON.stringify(answer);
        return answer.checkpointVerified && answer.events.every((e) => e.state === AuditEventState.AUDIT_EVENT_STATE_VERIFIED) ? answer : undefined;
      },
      { timeoutMs: 25_000, intervalMs: 500 },
    ).catch((error: unknown) => {
      throw new Error(`last audit status: ${last}`, { cause: error });
    });
    expect(verified.events.map((e) => e.eventId)).toEqual(rows.map((r) => r.id));
    expect(events[0]!.signed!.event!.after).toMatchObject({ subject: MEMBER, role: 'env_writer', scope });
    expect(events[1]!.signed!.event!.before).toMatchObject({ subject: MEMBER, role: 'env_writer', scope });
    // Audit asks authz who may read: a service of acme with no grant may not; an unknown key is not a caller.
    const { admin } = grpcClients(adminKey);
    const bot = await admin.createApiKey({ org: 'acme', subject: 'service:topology-bot', description: 'no grants', reason: 'topology test' });
    await expect(timeline(bot.key, filter)).rejects.toSatisfy((error: unknown) => error instanceof ClientError && error.code === Status.PERMISSION_DENIED);
    await expect(timeline(`${bot.key.slice(0, -4)}AAAA`, filter)).rejects.toSatisfy((error: unknown) => error instanceof ClientError && error.code === Status.UNAUTHENTICATED);
    expect(audit!.stdout).not.toContain('AUDIT_AUTHZ_DISABLED');
  });

  it('serves Prometheus metrics on the metrics ports', async () => {
    const authzMetrics = await fetch(`http://${plans.authz.env['AUTHZ_METRICS_HOST']}:${plans.authz.env['AUTHZ_METRICS_PORT']}/metrics`);
    expect(authzMetrics.status).toBe(200);
    expect(await authzMetrics.text()).toMatch(/^warden_authz_decisions(_total)?\{/m);
    const auditMetrics = await fetch(`http://${plans.audit.env['AUDIT_METRICS_HOST']}:${plans.audit.env['AUDIT_METRICS_PORT']}/metrics`);
    expect(auditMetrics.status).toBe(200);
    expect(await auditMetrics.text()).toMatch(/^warden_audit_append_events(_total)?\{/m);
  });

  it('stops both on SIGTERM with exit code 0 within compose\'s stop grace period (audit first, as `compose down` does)', async () => {
    for (const proc of [audit!, authz!]) {
      const grace = stopGraceMs(proc.name);
      const sent = Date.now();
      proc.child.kill('SIGTERM');
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), grace).unref());
      const exit = await Promise.race([proc.exited, timeout]);
      if (exit === 'timeout') throw new Error(`${proc.name} still running ${grace} ms after SIGTERM (compose would kill it now)\n${proc.tail()}`);
      expect(exit, proc.tail()).toMatchObject({ code: 0, signal: null });
      expect(exit.atMs - sent).toBeLessThan(grace);
    }
    expect(authz!.stdout).toContain('"msg":"authz stopped"');
  }, 30_000);
});
