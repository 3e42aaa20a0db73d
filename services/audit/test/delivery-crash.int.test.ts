/**
 * Delivery across a real crash: the service runs as its own process (dist/main.js, chdb on
 * disk) streaming to a local Standard Webhooks receiver and a local OTLP logs receiver; it
 * is killed with SIGKILL while batches are being delivered and restarted on the same data
 * folder. Afterwards every event reached both sinks, each organization's events arrived in
 * log order, and the only repeats are the batches acknowledged by the sink in the instant
 * before the kill (at most one batch per organization and sink: the cursor is saved after
 * each acknowledgement). The lag gauges on /metrics show the backlog, then zero.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort, startNode, type TestProcess } from '@warden/testkit';
import { ClientError, createChannel, createClient, Status, type Channel } from 'nice-grpc';
import { AppendStatus, AuditServiceDefinition, type AuditServiceClient, type SignedEvent } from '@warden/proto/audit/v1';
import { signEvent } from '@warden/audit-events';
import { createProducer } from './support/producer.js';
import { parsePrometheus, sampleValue } from './support/prometheus.js';
import { startOtlpReceiver, startWebhookReceiver, type OtlpReceiver, type WebhookReceiver } from './support/sink-receivers.js';
import { tempDir } from './support/temp.js';

const root = join(import.meta.dirname, '..');
const flags = createProducer('flags', 'k1');
const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const ORGS = ['acme', 'globex'] as const;
const PER_ORG = 600;
const BATCH = 25;

describe('delivery across SIGKILL and restart', () => {
  const dir = tempDir('warden-audit-delivery-crash');
  let port: number;
  let metricsPort: number;
  let audit: TestProcess | undefined;
  let channel: Channel | undefined;
  let client: AuditServiceClient;
  let webhook: WebhookReceiver;
  let otlp: OtlpReceiver;

  function start(): void {
    audit = startNode(join(root, 'dist', 'main.js'), [], {
      name: 'audit',
      cwd: dir,
      inheritEnv: false,
      env: {
        AUDIT_GRPC_ADDRESS: `127.0.0.1:${port}`,
        AUDIT_METRICS_PORT: String(metricsPort),
        AUDIT_AUTHZ_DISABLED: 'true',
        AUDIT_PRODUCER_KEYS_FILE: 'producers.json',
        AUDIT_LOG_LEVEL: process.env.DEBUG_DELIVERY === undefined ? 'error' : 'info',
        AUDIT_WEBHOOK_URL: webhook.url,
        AUDIT_WEBHOOK_SECRET_FILE: 'webhook.secret',
        AUDIT_OTLP_LOGS_ENDPOINT: otlp.url,
        AUDIT_DELIVERY_BATCH: String(BATCH),
        AUDIT_DELIVERY_POLL_MS: '50',
        AUDIT_DELIVERY_RETRY_MS: '50',
        AUDIT_DELIVERY_MAX_RETRY_MS: '200',
      },
      stdout: process.env.DEBUG_DELIVERY === undefined ? 'ignore' : 'inherit',
      stderr: 'inherit',
    });
    channel = createChannel(`127.0.0.1:${port}`);
    client = createClient(AuditServiceDefinition, channel);
  }

  /** The gRPC server answers (an empty Append is refused or accepted: either is an answer). */
  async function ready(): Promise<void> {
    await audit!.waitFor(
      'gRPC answers',
      async () => {
        try {
          await client.append({ events: [] });
        } catch (error) {
          if (!(error instanceof ClientError) || error.code === Status.UNAVAILABLE) throw error;
        }
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
  }

  async function metrics() {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    return parsePrometheus(await response.text());
  }

  beforeAll(async () => {
    [port, metricsPort] = [await freePort(), await freePort()];
    execFileSync(process.execPath, [join(root, '..', '..', 'node_modules', '@typescript', 'native', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
    writeFileSync(join(dir, 'producers.json'), JSON.stringify([{ producer: 'flags', keyId: 'k1', publicKey: flags.publicKeyB64 }]));
    writeFileSync(join(dir, 'webhook.secret'), `${SECRET}\n`, { mode: 0o600 });
    webhook = await startWebhookReceiver(SECRET);
    otlp = await startOtlpReceiver();
  }, 120_000);

  afterAll(async () => {
    channel?.close();
    await audit?.kill();
    await webhook.close();
    await otlp.close();
  });

  it('loses nothing and repeats at most the batch in flight, in order per organization', async () => {
    // The webhook is slow, so the kill lands while batches are being delivered.
    webhook.behaviour = { delayMs: 25 };
    otlp.behaviour = { delayMs: 25 };
    start();
    await ready();
    const ids = new Map<string, string[]>(ORGS.map((org) => [org, []]));
    for (let i = 0; i < PER_ORG / 50; i++) {
      for (const org of ORGS) {
        const batch: SignedEvent[] = Array.from({ length: 50 }, () => {
          const e = flags.event({ resource: `org:${org}/project:checkout/env:production/flag:checkout-v2` });
          ids.get(org)!.push(e.id);
          return { event: { ...e, occurredAt: new Date(e.occurredAt), request: {} }, signature: signEvent(e, flags.privateKey) };
        });
        const response = await client.append({ events: batch });
        expect(response.results.every((r) => r.status === AppendStatus.APPEND_STATUS_ACCEPTED)).toBe(true);
      }
    }
    const total = ORGS.length * PER_ORG;
    const received = () => webhook.deliveries.reduce((n, d) => n + d.body.data.events.length, 0);
    await eventually(() => expect(received()).toBeGreaterThanOrEqual(200), { timeoutMs: 20_000, intervalMs: 5 });
    await audit!.kill();
    const beforeKill = { webhook: webhook.deliveries.length, otlp: otlp.records.length };
    expect(received()).toBeLessThan(total);

    // After the restart the webhook first refuses: the backlog shows on /metrics.
    webhook.behaviour = { fail: { status: 503, count: 1_000_000 } };
    otlp.behaviour = {};
    channel!.close();
    start();
    await ready();
    await eventually(async () => {
      const m = await metrics();
      expect(sampleValue(m, 'warden_audit_delivery_pending', { warden_sink: 'webhook' })).toBeGreaterThan(0);
      expect(sampleValue(m, 'warden_audit_delivery_lag', { warden_sink: 'webhook' })).toBeGreaterThan(0);
      expect(sampleValue(m, 'warden_audit_delivery_failures_total', { warden_sink: 'webhook' })).toBeGreaterThan(0);
      return true;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    // The refusing webhook holds up nothing else: the OTLP sink catches up meanwhile.
    await eventually(() => expect(new Set(otlp.records.map((r) => r.attributes['log.record.uid'])).size).toBe(total), { timeoutMs: 60_000, intervalMs: 50 });
    expect(webhook.deliveries.length).toBe(beforeKill.webhook);
    webhook.behaviour = {};
    await eventually(() => expect(new Set(webhook.deliveries.flatMap((d) => d.body.data.events.map((e) => e.event.id))).size).toBe(total), { timeoutMs: 60_000, intervalMs: 50 });
    await eventually(() => expect(new Set(otlp.records.map((r) => r.attributes['log.record.uid'])).size).toBe(total), { timeoutMs: 60_000, intervalMs: 50 });
    expect(webhook.forged).toBe(0);

    for (const org of ORGS) {
      const expected = ids.get(org)!;
      // Webhook: seqs before the kill are 0..a-1 in order; after the restart they resume at
      // a - k (k ≤ one batch: acknowledged, cursor not yet saved) and run in order to the end.
      const seqs = (deliveries: typeof webhook.deliveries) => deliveries.filter((d) => d.body.data.org === org).flatMap((d) => d.body.data.events.map((e) => e.seq));
      const before = seqs(webhook.deliveries.slice(0, beforeKill.webhook));
      const after = seqs(webhook.deliveries.slice(beforeKill.webhook));
      expect(before).toEqual(before.map((_, i) => i));
      const resume = after[0] ?? before.length;
      expect(resume).toBeLessThanOrEqual(before.length);
      expect(before.length - resume).toBeLessThanOrEqual(BATCH);
      expect(after).toEqual(after.map((_, i) => resume + i));
      expect(resume + after.length).toBe(PER_ORG);
      const webhookIds = webhook.deliveries.filter((d) => d.body.data.org === org).flatMap((d) => d.body.data.events.map((e) => e.event.id));
      expect([...new Set(webhookIds)]).toEqual(expected);

      // OTLP: the same property over the log records' seq attribute.
      const otlpSeqs = (from: number, to?: number) => otlp.records.slice(from, to).filter((r) => r.attributes['warden.org'] === org).map((r) => Number(r.attributes['warden.audit.seq']));
      const oBefore = otlpSeqs(0, beforeKill.otlp);
      const oAfter = otlpSeqs(beforeKill.otlp);
      expect(oBefore).toEqual(oBefore.map((_, i) => i));
      const oResume = oAfter[0] ?? oBefore.length;
      expect(oBefore.length - oResume).toBeLessThanOrEqual(BATCH);
      expect(oResume).toBeLessThanOrEqual(oBefore.length);
      expect(oAfter).toEqual(oAfter.map((_, i) => oResume + i));
      expect(oResume + oAfter.length).toBe(PER_ORG);
    }

    await eventually(async () => {
      const m = await metrics();
      for (const sink of ['webhook', 'otlp-logs']) {
        expect(sampleValue(m, 'warden_audit_delivery_pending', { warden_sink: sink })).toBe(0);
        expect(sampleValue(m, 'warden_audit_delivery_lag', { warden_sink: sink })).toBe(0);
      }
      return true;
    }, { timeoutMs: 10_000, intervalMs: 100 });
  }, 240_000);
});
