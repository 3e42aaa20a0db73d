/**
 * The outbox relay, end to end between the two real services: a grant through the
 * authz admin API is recorded in the outbox in its own transaction, the relay signs
 * it and ships it to the real audit service (embedded ClickHouse), and the audit
 * timeline shows it with actor, before, after and reason — exactly once, even though
 * the audit service was down when the change was made.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Effect } from '@warden/proto/authz/v1';
import { AuditServiceDefinition, Order, type StoredEvent } from '@warden/proto/audit/v1';
import { generateSigningKey, privateKeyToPem } from '@warden/audit-events';
import { loadConfig as loadAuditConfig, startAuditApp, type AuditApp } from '@warden/audit/service';
import { eventually, freePort } from '@warden/testkit';
import { startTestApp, type TestApp } from './support/app.js';

let dir: string;
let authz: TestApp;
let audit: AuditApp | undefined;
let auditAddress: string;
let auditor: string; // adam's token (admin of acme: audit:read)

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warden-relay-'));
  const producer = generateSigningKey();
  await writeFile(path.join(dir, 'authz-producer.pem'), privateKeyToPem(producer.privateKey), { mode: 0o600 });
  const publicPem = producer.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  await writeFile(path.join(dir, 'producers.json'), JSON.stringify([{ producer: 'authz', keyId: 'authz-1', publicKey: publicPem }]));
  auditAddress = `127.0.0.1:${await freePort()}`;
  // Authz first, with the audit service not there yet.
  authz = await startTestApp({
    AUTHZ_AUDIT_ADDRESS: auditAddress,
    AUTHZ_AUDIT_SIGNING_KEY_FILE: path.join(dir, 'authz-producer.pem'),
    AUTHZ_AUDIT_KEY_ID: 'authz-1',
    AUTHZ_OUTBOX_INTERVAL_MS: '50',
    // Audit authenticates its callers through this authz, with its own key (no loopback trust).
    AUTHZ_IDENTITY_CALLERS: 'service:audit',
    AUTHZ_IDENTITY_KEY_FILE: path.join(dir, 'audit.key'),
  });
  auditor = await authz.token('adam@acme.com');
});

afterAll(async () => {
  await authz?.close();
  await audit?.close();
  await rm(dir, { recursive: true, force: true });
});

async function timeline(filter: { org: string; resourcePrefix?: string; actions?: string[] }): Promise<StoredEvent[]> {
  const channel = createChannel(auditAddress);
  const client = createClient(AuditServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${auditor}` }) } });
  const events: StoredEvent[] = [];
  try {
    for await (const page of client.query({ filter: { actions: [], ...filter }, order: Order.ORDER_OLDEST_FIRST, pageSize: 1000, limit: 0, cursor: '' })) events.push(...page.events);
  } finally {
    channel.close();
  }
  return events;
}

describe('the authz outbox reaches the audit trail', () => {
  it('a grant made while the audit service is down arrives, signed and attributed, exactly once', async () => {
    const adam = authz.grpc(await authz.token('adam@acme.com'));
    const granted = await adam.admin.grantBinding({
      subject: 'user:sarah@acme.com', role: 'env_writer', actions: [], scope: 'org:acme/project:search/env:staging',
      effect: Effect.EFFECT_ALLOW, condition: '', reason: 'covering search this week',
    });
    // The relay is failing meanwhile, and the event waits in the outbox.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(authz.app.relay!.stats.failedAttempts).toBeGreaterThan(0);
    const waiting = await authz.db.pool.query('SELECT count(*)::int AS n FROM outbox WHERE shipped_at IS NULL');
    expect(waiting.rows[0].n).toBeGreaterThan(0);

    audit = await startAuditApp(
      loadAuditConfig({
        AUDIT_GRPC_ADDRESS: auditAddress,
        AUDIT_DATA_DIR: path.join(dir, 'audit'),
        AUDIT_AUTHZ_ADDRESS: authz.app.grpcAddress,
        AUDIT_PRODUCER_KEYS_FILE: path.join(dir, 'producers.json'),
        AUDIT_AUTHZ_CREDENTIAL_FILE: path.join(dir, 'audit.key'),
        AUDIT_LOG_LEVEL: 'silent',
      }),
      pino({ level: 'silent' }),
    );

    await eventually(async () => (await authz.db.pool.query('SELECT count(*)::int AS n FROM outbox WHERE shipped_at IS NULL')).rows[0].n === 0, {
      what: 'the outbox empties',
      timeoutMs: 20_000,
      intervalMs: 50,
    });

    const events = await timeline({ org: 'acme', resourcePrefix: 'org:acme/project:search/env:staging', actions: ['binding.created'] });
    const mine = events.filter((e) => (e.signed?.event?.after as { id?: string } | undefined)?.id === granted.binding!.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.signed!.event).toMatchObject({
      actor: { type: 'user', id: 'adam@acme.com' },
      action: 'binding.created',
      resource: 'org:acme/project:search/env:staging',
      before: null,
      after: { subject: 'user:sarah@acme.com', role: 'env_writer', scope: 'org:acme/project:search/env:staging' },
      reason: 'covering search this week',
      producer: 'authz',
      keyId: 'authz-1',
    });
    expect(mine[0]).toMatchObject({ org: 'acme', project: 'search', environment: 'staging' });
    // Sent batch-signed: the service stored each event's proof of membership in a signed batch.
    expect(Buffer.from(mine[0]!.signed!.signature).toString('utf8')).toMatch(/^batch-v1\.\d+\.\d+\./);
    // Everything the world file and the bootstrap key did is there too, by their system actors.
    const all = await timeline({ org: 'acme' });
    const outbox = await authz.db.pool.query('SELECT count(*)::int AS n FROM outbox WHERE event->>\'resource\' LIKE \'org:acme%\'');
    expect(all).toHaveLength(outbox.rows[0].n);
    expect(new Set(all.map((e) => e.signed!.event!.id)).size).toBe(all.length);
    expect(all.filter((e) => !Buffer.from(e.signed!.signature).toString('utf8').startsWith('batch-v1.'))).toEqual([]);
    expect(all.some((e) => e.signed!.event!.actor?.id === 'warden.world-file')).toBe(true);
  });
});
