/**
 * The SDK's audit client against the real audit service (a child process on the
 * embedded ClickHouse engine): the service is killed (SIGKILL) mid-stream and
 * restarted on the same data; a client "crashes" with events only in its spool and
 * a new client replays them. Every acknowledged event ends up stored exactly once.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditServiceDefinition, Order } from '@warden/proto/audit/v1';
import { generateSigningKey } from '@warden/audit-events';
import { freePort, startNode, type TestProcess } from '@warden/testkit';
import { createAuditClient } from '../src/index.js';
import { rolloutChange } from './support/changes.js';

const AUDIT_MAIN = fileURLToPath(new URL('../../../services/audit/dist/main.js', import.meta.url));
const READER_KEY = 'sdk-test-reader-key-0123456789';
let dir: string;
let address: string;
let audit: TestProcess | undefined;
const keys = generateSigningKey();

async function startAudit(): Promise<void> {
  audit = startNode(AUDIT_MAIN, [], {
    name: 'audit',
    env: {
      AUDIT_GRPC_ADDRESS: address,
      // Any free port: other test processes may run an audit service (default /metrics port 9465) at the same time.
      AUDIT_METRICS_PORT: '0',
      AUDIT_DATA_DIR: path.join(dir, 'audit'),
      AUDIT_AUTHZ_DISABLED: 'true',
      AUDIT_PRODUCER_KEYS_FILE: path.join(dir, 'producers.json'),
      AUDIT_API_KEYS_FILE: path.join(dir, 'api-keys.json'),
      AUDIT_LOG_LEVEL: 'warn',
    },
    stdout: 'inherit',
    stderr: 'inherit',
  });
  await audit.waitFor('a query answered', async () => (await stored(), true), { timeoutMs: 60_000, intervalMs: 100 });
}

async function killAudit(): Promise<void> {
  await audit!.kill();
  audit = undefined;
}

/** Every event id stored for org acme (oldest first). */
async function stored(): Promise<string[]> {
  return (await storedEvents()).map((e) => e.id);
}

/** Every event stored for org acme (oldest first): its id and stored signature as text. */
async function storedEvents(): Promise<{ id: string; signature: string }[]> {
  const channel = createChannel(address);
  const client = createClient(AuditServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${READER_KEY}` }), signal: AbortSignal.timeout(5000) } });
  const ids: { id: string; signature: string }[] = [];
  try {
    for await (const page of client.query({ filter: { org: 'acme', actions: [] }, order: Order.ORDER_OLDEST_FIRST, pageSize: 1000, limit: 0, cursor: '' })) {
      ids.push(...page.events.map((e) => ({ id: e.signed!.event!.id, signature: Buffer.from(e.signed!.signature).toString('utf8') })));
    }
  } finally {
    channel.close();
  }
  return ids;
}

const change = rolloutChange;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warden-sdk-audit-'));
  address = `127.0.0.1:${await freePort()}`;
  const publicKey = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  await writeFile(path.join(dir, 'producers.json'), JSON.stringify([{ producer: 'flags', keyId: 'flags-1', publicKey }]));
  await writeFile(path.join(dir, 'api-keys.json'), JSON.stringify([{ subject: 'user:auditor@acme.com', key: READER_KEY }]));
  await startAudit();
}, 90_000);

afterAll(async () => {
  if (audit) await killAudit();
  await rm(dir, { recursive: true, force: true });
});

describe('the audit client', () => {
  it('loses nothing and doubles nothing when the audit service is killed mid-stream', async () => {
    // Small spool segments: the spool rotates and deletes segments while the service is down and back.
    const client = createAuditClient({ address, producer: 'flags', keyId: 'flags-1', signingKey: keys.privateKey, spoolDir: path.join(dir, 'spool-a'), spoolSegmentLines: 16, batchSize: 25, flushIntervalMs: 20 });
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const record = change(i);
      await client.record(record);
      ids.push(record.correlationId);
      if (i === 100) await killAudit();
      if (i === 250) await startAudit();
    }
    await client.flush();
    await client.close();
    expect(client.stats.failedAttempts).toBeGreaterThan(0);
    const found = await stored();
    for (const id of ids) expect(found.filter((f) => f === id), id).toHaveLength(1);
    // Everything answered: no segment is left behind.
    expect(readdirSync(path.join(dir, 'spool-a')).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
  }, 120_000);

  it('replays its spool after a crash: events acknowledged only to disk arrive once', async () => {
    await killAudit();
    const crashing = createAuditClient({ address, producer: 'flags', keyId: 'flags-1', signingKey: keys.privateKey, spoolDir: path.join(dir, 'spool-b'), batchSize: 1000, flushIntervalMs: 3_600_000 });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const record = change(1000 + i);
      await crashing.record(record); // resolved = fsynced to the spool
      ids.push(record.correlationId);
    }
    // The process "dies" here: the client is abandoned with its queue unsent.
    await startAudit();
    const next = createAuditClient({ address, producer: 'flags', keyId: 'flags-1', signingKey: keys.privateKey, spoolDir: path.join(dir, 'spool-b'), batchSize: 10, flushIntervalMs: 10 });
    expect(next.stats.queued).toBe(40);
    await next.flush();
    await next.close();
    const found = await stored();
    for (const id of ids) expect(found.filter((f) => f === id), id).toHaveLength(1);
  }, 120_000);

  it('after a crash, replays only what the service had not answered: the spool remembers answered batches', async () => {
    const spoolDir = path.join(dir, 'spool-c');
    // Sends only when flushed (as the crashing client above): what it holds at the "crash" stays unsent.
    const crashing = createAuditClient({ address, producer: 'flags', keyId: 'flags-1', signingKey: keys.privateKey, spoolDir, spoolSegmentLines: 8, batchSize: 1000, flushIntervalMs: 3_600_000 });
    const answered: string[] = [];
    for (let i = 0; i < 30; i++) {
      const record = change(2000 + i);
      await crashing.record(record);
      answered.push(record.correlationId);
    }
    await crashing.flush();
    expect(crashing.stats.accepted).toBe(30);
    await killAudit();
    const waiting: string[] = [];
    for (let i = 0; i < 20; i++) {
      const record = change(3000 + i);
      await crashing.record(record);
      waiting.push(record.correlationId);
    }
    // The process "dies" here, with 20 events only in its spool.
    await startAudit();
    const next = createAuditClient({ address, producer: 'flags', keyId: 'flags-1', signingKey: keys.privateKey, spoolDir, spoolSegmentLines: 8, batchSize: 10, flushIntervalMs: 10 });
    expect(next.stats.queued).toBe(20);
    await next.flush();
    await next.close();
    expect(next.stats).toMatchObject({ accepted: 20, duplicates: 0, refused: 0 });
    const found = await stored();
    for (const id of [...answered, ...waiting]) expect(found.filter((f) => f === id), id).toHaveLength(1);
    // Sent batch-signed: 30 in one Append, then 20 in two of 10; each stored with its place in its signed batch.
    const signatures = new Map((await storedEvents()).map((e) => [e.id, e.signature]));
    expect(answered.map((id) => signatures.get(id)?.split('.').slice(0, 3).join('.'))).toEqual(answered.map((_, i) => `batch-v1.${i}.30`));
    expect(waiting.map((id) => signatures.get(id)?.split('.').slice(0, 3).join('.'))).toEqual(waiting.map((_, i) => `batch-v1.${i % 10}.10`));
  }, 120_000);

  it('refuses to record what the audit service could never accept, before anything is applied', () => {
    const client = createAuditClient({ address, producer: 'flags', keyId: 'flags-1', signingKey: keys.privateKey });
    expect(() => client.validate!({ ...change(0), correlationId: 'not-a-uuid' })).toThrow(/event\.id must be a lowercase UUIDv7/);
    expect(() => client.validate!({ ...change(0), actor: 'system:cron' })).toThrow(/is not a user, service or group/);
    void client.close();
  });
});
