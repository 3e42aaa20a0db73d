/**
 * Delivery to SIEMs against real receivers on 127.0.0.1 and the embedded ClickHouse
 * engine: a Standard Webhooks receiver that checks every signature itself, and an OTLP/HTTP
 * logs receiver that decodes the JSON request. Events are appended through the real audit
 * log; the sinks, cursor files and backoff are the production ones.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@warden/testkit';
import { canonicalEvent, verifyEventSignature, type AuditEvent } from '@warden/audit-events';
import { pino } from 'pino';
import { FileCursorStore } from '../src/adapters/sinks/file-cursor-store.js';
import { OtlpLogsSink } from '../src/adapters/sinks/otlp-logs-sink.js';
import { parseWebhookSecret } from '../src/adapters/sinks/standard-webhooks.js';
import { WebhookSink } from '../src/adapters/sinks/webhook-sink.js';
import { ALL_EVENTS, type DeliverySource, type Sink, type SinkFilter } from '../src/domain/delivery.js';
import type { AuditStore } from '../src/domain/ports.js';
import { ClickHouseAuditStore } from '../src/adapters/stores/clickhouse-audit-store.js';
import { createDeliverySource } from '../src/delivery-wiring.js';
import { Delivery } from '../src/usecases/delivery.js';
import { chdbDriver, sharedDriver } from './support/chdb.js';
import { createHarness, type Harness } from './support/harness.js';
import { createProducer } from './support/producer.js';
import { startOtlpReceiver, startWebhookReceiver, type OtlpReceiver, type WebhookReceiver } from './support/sink-receivers.js';
import { tempDir } from './support/temp.js';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const flags = createProducer('flags', 'k1');
const logger = pino({ level: 'silent' });

function orgEvent(org: string, action = 'flag.rollout_changed'): Partial<AuditEvent> {
  return { resource: `org:${org}/project:checkout/env:production/flag:checkout-v2`, action, request: { ip: '203.0.113.7', userAgent: 'curl/8.5', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' } };
}

describe('delivery to SIEMs', () => {
  let store: AuditStore;
  /** As the service reads: sizes from the running log, ranges from ClickHouse. */
  let source: DeliverySource;
  let h: Harness;
  let webhook: WebhookReceiver;
  let otlp: OtlpReceiver;
  const running: Delivery[] = [];

  function deliver(sink: Sink, options: { filter?: SinkFilter; dir?: string; timeoutMs?: number; retry?: { initialMs: number; maxMs: number }; batchSize?: number } = {}): { delivery: Delivery; dir: string } {
    const dir = options.dir ?? tempDir('warden-delivery');
    const delivery = new Delivery({
      store: source,
      sink,
      cursors: new FileCursorStore(join(dir, `${sink.name}.cursor.json`), sink.name),
      filter: options.filter ?? ALL_EVENTS,
      batchSize: options.batchSize ?? 7,
      timeoutMs: options.timeoutMs ?? 2000,
      pollMs: 20,
      retry: options.retry ?? { initialMs: 50, maxMs: 400 },
      logger,
    });
    running.push(delivery);
    return { delivery, dir };
  }

  async function append(org: string, count: number, action?: string): Promise<string[]> {
    const inputs = Array.from({ length: count }, () => flags.signed(orgEvent(org, action)));
    const outcomes = await h.log.append(inputs);
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    return inputs.map((i) => i.parsed.id);
  }

  beforeAll(async () => {
    const database = `delivery_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const chStore = new ClickHouseAuditStore({ driver: sharedDriver(chdbDriver()), database });
    await chStore.migrate({});
    store = chStore;
    h = await createHarness(store, [flags.keyRow], { minCommitIntervalMs: 0 });
    source = createDeliverySource({ log: h.log, driver: sharedDriver(chdbDriver()) }, database);
    webhook = await startWebhookReceiver(SECRET);
    otlp = await startOtlpReceiver();
  });

  afterAll(async () => {
    await Promise.all(running.map((d) => d.close()));
    await webhook.close();
    await otlp.close();
  });

  it('webhook: every event once, in log order per organization, signed per Standard Webhooks', async () => {
    const acme = await append('acme', 20);
    const globex = await append('globex', 9);
    const { delivery } = deliver(new WebhookSink({ url: new URL(webhook.url), key: parseWebhookSecret(SECRET) }));
    await delivery.start();
    await eventually(() => expect(webhook.deliveries.flatMap((d) => d.body.data.events).length).toBe(29), { timeoutMs: 10_000 });
    expect(webhook.forged).toBe(0);
    for (const [org, ids] of [['acme', acme], ['globex', globex]] as const) {
      const events = webhook.deliveries.filter((d) => d.body.data.org === org).flatMap((d) => d.body.data.events);
      expect(events.map((e) => e.event.id)).toEqual(ids);
      expect(events.map((e) => e.seq)).toEqual(ids.map((_, i) => i));
      // The producer's signature travels with the event and verifies against it.
      for (const e of events) expect(verifyEventSignature(e.event as AuditEvent, Buffer.from(e.signature, 'base64'), flags.publicKey)).toBe(true);
    }
    const first = webhook.deliveries[0]!;
    expect(first.body.type).toBe('audit.events');
    expect(first.id).toBe(`${first.body.data.org}:${first.body.data.from}-${first.body.data.to}`);
    // The receiver has the body before the sender has its answer: the cursor moves just after.
    await eventually(() => expect(delivery.status()).toMatchObject({ sink: 'webhook', pendingEvents: 0, lagSeconds: 0 }));

    // New events follow; nothing is sent twice.
    const more = await append('acme', 3);
    await eventually(() => expect(webhook.deliveries.flatMap((d) => d.body.data.events).length).toBe(32), { timeoutMs: 10_000 });
    const acmeIds = webhook.deliveries.filter((d) => d.body.data.org === 'acme').flatMap((d) => d.body.data.events.map((e) => e.event.id));
    expect(acmeIds).toEqual([...acme, ...more]);
    await delivery.close();
  });

  it('a forged or re-signed body does not verify at the receiver (the receiver check can fail)', async () => {
    const before = webhook.forged;
    const wrongKey = parseWebhookSecret(`whsec_${Buffer.from('another-secret-of-32-bytes-long!').toString('base64')}`);
    const { delivery } = deliver(new WebhookSink({ url: new URL(webhook.url), key: wrongKey }), { retry: { initialMs: 1000, maxMs: 1000 } });
    await delivery.start();
    await eventually(() => expect(webhook.forged).toBeGreaterThan(before), { timeoutMs: 10_000 });
    expect(delivery.status().pendingEvents).toBeGreaterThan(0);
    await delivery.close();
  });

  it('OTLP logs: one log record per event, mapped per the log data model and semantic conventions', async () => {
    const { delivery } = deliver(new OtlpLogsSink({ url: new URL(otlp.url), headers: { authorization: 'Bearer s3cret' }, logger }), { filter: { orgs: ['globex'], actions: [] } });
    await delivery.start();
    await eventually(() => expect(otlp.records.length).toBe(9), { timeoutMs: 10_000 });
    expect(otlp.headers[0]!.authorization).toBe('Bearer s3cret');
    const stored: Awaited<ReturnType<typeof collect>> = await collect(store, 'globex');
    for (const [i, r] of otlp.records.entries()) {
      const record = stored[i]!;
      expect(r.resource['service.name']).toBe('warden-audit');
      expect(r.scope.name).toBe('warden.audit');
      expect(r.severityNumber).toBe(9);
      expect(r.eventName).toBe('warden.audit.flag.rollout_changed');
      expect(r.timeUnixNano).toBe(String(BigInt(Date.parse(record.event.occurredAt)) * 1_000_000n));
      expect(r.observedTimeUnixNano).toBe(String(BigInt(Date.parse(record.loggedAt)) * 1_000_000n));
      expect(r.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(r.attributes).toMatchObject({
        'log.record.uid': record.event.id,
        'warden.org': 'globex',
        'warden.audit.seq': i,
        'user.id': 'alex@acme.com',
        'client.address': '203.0.113.7',
        'user_agent.original': 'curl/8.5',
        'warden.audit.signature': record.signature,
      });
      // The body is the signed bytes: the signature attribute verifies against it.
      expect(r.body).toBe(canonicalEvent(record.event));
      expect(verifyEventSignature(JSON.parse(r.body) as AuditEvent, Buffer.from(String(r.attributes['warden.audit.signature']), 'base64'), flags.publicKey)).toBe(true);
    }
    await delivery.close();
  });

  it('filters by organization and action (flag.* prefix); the cursor passes filtered events', async () => {
    const filtered = await startWebhookReceiver(SECRET);
    const kept = await append('initech', 2, 'flag.enabled');
    await append('initech', 3, 'binding.created');
    const kept2 = await append('initech', 1, 'flag.disabled');
    const { delivery } = deliver(new WebhookSink({ url: new URL(filtered.url), key: parseWebhookSecret(SECRET) }), { filter: { orgs: ['initech'], actions: ['flag.*'] } });
    await delivery.start();
    await eventually(() => expect(caughtUp(delivery)).toBe(true), { timeoutMs: 10_000 });
    expect(filtered.deliveries.flatMap((d) => d.body.data.events.map((e) => e.event.id))).toEqual([...kept, ...kept2]);
    await delivery.close();
    await filtered.close();
  });

  it('a failing sink is retried with backoff, the same batch and webhook-id each time; a dead sink does not hold up another', async () => {
    const flaky = await startWebhookReceiver(SECRET);
    flaky.behaviour = { fail: { status: 503, count: 4 } };
    const dead = new WebhookSink({ url: new URL('http://127.0.0.1:9/unreachable'), key: parseWebhookSecret(SECRET) });
    const { delivery: deadDelivery } = deliver(dead, { filter: { orgs: ['umbrella'], actions: [] } });
    const { delivery } = deliver(new WebhookSink({ url: new URL(flaky.url), key: parseWebhookSecret(SECRET) }), { filter: { orgs: ['umbrella'], actions: [] }, retry: { initialMs: 100, maxMs: 1000 } });
    const ids = await append('umbrella', 5);
    await deadDelivery.start();
    await delivery.start();
    await eventually(() => expect(flaky.deliveries.flatMap((d) => d.body.data.events.map((e) => e.event.id))).toEqual(ids), { timeoutMs: 15_000 });
    const attempts = flaky.attempts.filter((a) => !a.aborted);
    expect(attempts.map((a) => a.status)).toEqual([503, 503, 503, 503, 204]);
    expect(new Set(attempts.map((a) => a.id)).size).toBe(1);
    // Backoff from 100 ms doubling (jitter ≤ 20%): gaps of at least 80, 160, 320, 640 ms.
    const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    expect(gaps.length).toBe(4);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(100 * 2 ** i * 0.8 - 5));
    expect(delivery.failures).toBe(4);
    // The dead sink is still behind, with its lag visible.
    expect(deadDelivery.failures).toBeGreaterThan(0);
    expect(deadDelivery.status().pendingEvents).toBe(5);
    expect(deadDelivery.status().lagSeconds).toBeGreaterThan(0);
    await delivery.close();
    await deadDelivery.close();
    await flaky.close();
  });

  it('a slow sink hits the deadline; the batch is sent again and delivered once the sink is fast', async () => {
    const slow = await startWebhookReceiver(SECRET);
    slow.behaviour = { delayMs: 3000 };
    const ids = await append('hooli', 4);
    const { delivery } = deliver(new WebhookSink({ url: new URL(slow.url), key: parseWebhookSecret(SECRET) }), { filter: { orgs: ['hooli'], actions: [] }, timeoutMs: 300, retry: { initialMs: 50, maxMs: 100 } });
    const started = Date.now();
    await delivery.start();
    await eventually(() => expect(slow.attempts.filter((a) => a.aborted).length).toBeGreaterThanOrEqual(1), { timeoutMs: 5000 });
    // Given up after the 300 ms deadline, before the sink's 3 s answer.
    expect(Date.now() - started).toBeLessThan(3000);
    expect(slow.deliveries).toEqual([]);
    slow.behaviour = {};
    await eventually(() => expect(slow.deliveries.flatMap((d) => d.body.data.events.map((e) => e.event.id))).toEqual(ids), { timeoutMs: 10_000 });
    await delivery.close();
    await slow.close();
  });

  it('OTLP: a status the spec says not to retry stops that organization (no resend, stalled on metrics); 429 is retried', async () => {
    const refusing = await startOtlpReceiver();
    refusing.behaviour = { fail: { status: 400, count: 1 } };
    await append('wayne', 2);
    const { delivery } = deliver(new OtlpLogsSink({ url: new URL(refusing.url), headers: {}, logger }), { filter: { orgs: ['wayne'], actions: [] } });
    await delivery.start();
    await eventually(() => expect(delivery.status().stalled).toBe(1), { timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(refusing.attempts.map((a) => a.status)).toEqual([400]);
    expect(delivery.status().pendingEvents).toBe(2);
    await delivery.close();

    const throttling = await startOtlpReceiver();
    throttling.behaviour = { fail: { status: 429, count: 1, retryAfter: '1' } };
    const { delivery: again } = deliver(new OtlpLogsSink({ url: new URL(throttling.url), headers: {}, logger }), { filter: { orgs: ['wayne'], actions: [] }, retry: { initialMs: 20, maxMs: 5000 } });
    await again.start();
    await eventually(() => expect(throttling.records.length).toBe(2), { timeoutMs: 10_000 });
    const [first, second] = throttling.attempts;
    // Retry-After: 1 is honoured over the 20 ms backoff.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    await again.close();
    await refusing.close();
    await throttling.close();
  });

  it('the cursor survives a restart: a new delivery over the same folder sends only what is new', async () => {
    const receiver = await startWebhookReceiver(SECRET);
    const sink = new WebhookSink({ url: new URL(receiver.url), key: parseWebhookSecret(SECRET) });
    const before = await append('stark', 10);
    const first = deliver(sink, { filter: { orgs: ['stark'], actions: [] } });
    await first.delivery.start();
    await eventually(() => expect(caughtUp(first.delivery)).toBe(true), { timeoutMs: 10_000 });
    await first.delivery.close();
    const cursorFile = join(first.dir, 'webhook.cursor.json');
    expect(existsSync(cursorFile)).toBe(true);
    expect(JSON.parse(readFileSync(cursorFile, 'utf8'))).toEqual({ v: 1, sink: 'webhook', cursors: { stark: 10 } });

    const after = await append('stark', 4);
    const second = deliver(sink, { filter: { orgs: ['stark'], actions: [] }, dir: first.dir });
    await second.delivery.start();
    await eventually(() => expect(caughtUp(second.delivery)).toBe(true), { timeoutMs: 10_000 });
    expect(receiver.deliveries.flatMap((d) => d.body.data.events.map((e) => e.event.id))).toEqual([...before, ...after]);
    await second.delivery.close();
    await receiver.close();
  });

  it('a corrupt cursor file stops start-up rather than silently delivering everything again', async () => {
    const dir = tempDir('warden-delivery-corrupt');
    writeFileSync(join(dir, 'webhook.cursor.json'), '{"v":1,"sink":"webhook","cursors":{"acme":-1}}');
    const { delivery } = deliver(new WebhookSink({ url: new URL(webhook.url), key: parseWebhookSecret(SECRET) }), { dir });
    await expect(delivery.start()).rejects.toThrow(/cursor of acme is not a seq/);
  });

  it('webhook over HTTPS with a configured CA', async () => {
    const dir = tempDir('warden-delivery-tls');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const secure = await startWebhookReceiver(SECRET, { tls: { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert } });
    const ids = await append('tyrell', 2);
    // Without the CA the certificate is refused (and retried); with it, delivered.
    const untrusted = deliver(new WebhookSink({ url: new URL(secure.url), key: parseWebhookSecret(SECRET) }), { filter: { orgs: ['tyrell'], actions: [] } });
    await untrusted.delivery.start();
    await eventually(() => expect(untrusted.delivery.failures).toBeGreaterThan(0), { timeoutMs: 5000 });
    await untrusted.delivery.close();
    expect(secure.deliveries).toEqual([]);
    const trusted = deliver(new WebhookSink({ url: new URL(secure.url), key: parseWebhookSecret(SECRET), ca: cert }), { filter: { orgs: ['tyrell'], actions: [] } });
    await trusted.delivery.start();
    await eventually(() => expect(secure.deliveries.flatMap((d) => d.body.data.events.map((e) => e.event.id))).toEqual(ids), { timeoutMs: 10_000 });
    await trusted.delivery.close();
    await secure.close();
  });
});

function caughtUp(delivery: Delivery): boolean {
  return delivery.rounds > 0 && delivery.status().pendingEvents === 0;
}

async function collect(store: AuditStore, org: string) {
  const out = [];
  for await (const r of store.scan(org, 0, 1_000_000)) out.push(r);
  return out;
}
