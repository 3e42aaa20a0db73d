/**
 * A real crash: the service runs as its own process (dist/main.js, chdb on
 * disk), is killed with SIGKILL while batches are in flight, and restarted on
 * the same data folder. Every batch is then retried (producers retry what was
 * not acknowledged; here everything, to also prove duplicates are caught):
 * every acknowledged event is stored exactly once and the log verifies.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startNode, type TestProcess } from '@warden/testkit';
import { createChannel, createClient, Metadata, type Channel } from 'nice-grpc';
import { AppendStatus, AuditServiceDefinition, ExportFormat, Order, type AuditServiceClient, type SignedEvent } from '@warden/proto/audit/v1';
import { signEvent } from '@warden/audit-events';
import { createProducer } from './support/producer.js';
import { tempDir } from './support/temp.js';

const root = join(import.meta.dirname, '..');
const flags = createProducer('flags', 'k1');
const BATCHES = 150;
const reader = { metadata: Metadata({ 'x-warden-subject': 'user:sre@acme.com' }) };

describe('crash (SIGKILL) mid-stream and restart', () => {
  const dir = tempDir('warden-audit-crash');
  let port: number;
  let audit: TestProcess | undefined;
  let channel: Channel | undefined;
  let client: AuditServiceClient;

  function start(): void {
    audit = startNode(join(root, 'dist', 'main.js'), [], {
      name: 'audit',
      cwd: dir,
      inheritEnv: false,
      env: {
        AUDIT_GRPC_ADDRESS: `127.0.0.1:${port}`,
        // Any free port: other test processes may run an audit service at the same time.
        AUDIT_METRICS_PORT: '0',
        AUDIT_AUTHZ_DISABLED: 'true',
        AUDIT_TRUST_SUBJECT_HEADER: 'true',
        AUDIT_PRODUCER_KEYS_FILE: 'producers.json',
        AUDIT_CHECKPOINT_EVERY: '50',
        AUDIT_LOG_LEVEL: 'error',
      },
      stdout: 'ignore',
      stderr: 'inherit',
    });
    channel = createChannel(`127.0.0.1:${port}`);
    client = createClient(AuditServiceDefinition, channel);
  }

  async function ready(): Promise<void> {
    await audit!.waitFor('a checkpoint read answered', async () => (await client.checkpoint({ org: 'acme' }, reader), true), { timeoutMs: 10_000, intervalMs: 50 });
  }

  beforeAll(async () => {
    port = await freePort();
    // The child runs the built service: compile it first (the suite may run without `npm run build`).
    execFileSync(process.execPath, [join(root, '..', '..', 'node_modules', '@typescript', 'native', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
    writeFileSync(join(dir, 'producers.json'), JSON.stringify([{ producer: 'flags', keyId: 'k1', publicKey: flags.publicKeyB64 }]));
  }, 120_000);

  afterAll(async () => {
    channel?.close();
    await audit?.kill();
  });

  it('loses nothing acknowledged and stores nothing twice', async () => {
    start();
    await ready();
    const batches: SignedEvent[][] = Array.from({ length: BATCHES }, () =>
      Array.from({ length: 20 }, () => {
        const e = flags.event();
        return { event: { ...e, occurredAt: new Date(e.occurredAt), request: {} }, signature: signEvent(e, flags.privateKey) };
      }),
    );
    const acknowledged = new Set<string>();
    let sent = 0;
    const inFlight = batches.map(async (batch, i) => {
      await sleep(i * 10);
      if (audit?.running !== true) return;
      sent += 1;
      try {
        const response = await client.append({ events: batch });
        if (response.results.every((r) => r.status === AppendStatus.APPEND_STATUS_ACCEPTED)) for (const e of batch) acknowledged.add(e.event!.id);
      } catch {
        // not acknowledged: the process died under it
      }
    });
    // Kill once some batches were acknowledged, with others still in flight.
    while (acknowledged.size < 200) await sleep(5);
    await audit!.kill();
    await Promise.all(inFlight);
    const ackedBeforeCrash = acknowledged.size;
    expect(ackedBeforeCrash).toBeGreaterThanOrEqual(200);
    // The kill interrupted the stream: some batches were sent and never acknowledged, or never sent.
    expect(ackedBeforeCrash).toBeLessThan(BATCHES * 20);
    expect(sent).toBeGreaterThan(ackedBeforeCrash / 20);
    channel!.close();

    start();
    await ready();
    // Producers retry; here every batch is retried, acknowledged or not.
    const statuses = new Map<AppendStatus, number>();
    for (const batch of batches) {
      const response = await client.append({ events: batch });
      for (const r of response.results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    expect(statuses.get(AppendStatus.APPEND_STATUS_REFUSED) ?? 0).toBe(0);
    expect(statuses.get(AppendStatus.APPEND_STATUS_DUPLICATE) ?? 0).toBeGreaterThanOrEqual(ackedBeforeCrash);

    let jsonl = '';
    for await (const chunk of client.export({ filter: { org: 'acme' }, format: ExportFormat.EXPORT_FORMAT_JSONL, order: Order.ORDER_LOG }, reader)) jsonl += chunk.data.toString('utf8');
    const lines = jsonl.trim().split('\n').map((line) => JSON.parse(line) as { seq: number; event: { id: string } });
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i));
    const ids = lines.map((l) => l.event.id);
    expect(ids.length).toBe(new Set(ids).size);
    expect(ids.length).toBe(BATCHES * 20);
    for (const id of acknowledged) expect(ids).toContain(id);
    const report = await client.verify({ org: 'acme' }, reader);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, treeSize: BATCHES * 20, eventsChecked: BATCHES * 20 });
  });
});
