/**
 * Telemetry as main.ts wires it, in its own process (dist/main.js, chdb on disk):
 * AUDIT_METRICS_PORT=0 serves /metrics on a free port it logs; with
 * OTEL_EXPORTER_OTLP_ENDPOINT set, spans go over OTLP/HTTP (JSON) to a collector
 * double here, each Append a server span with its ClickHouse insert as a child.
 */
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createChannel, createClient, type Channel } from 'nice-grpc';
import { AppendStatus, AuditServiceDefinition } from '@warden/proto/audit/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type TestProcess } from '@warden/testkit';
import { signEvent } from '@warden/audit-events';
import { createProducer } from './support/producer.js';
import { parsePrometheus, sampleValue } from './support/prometheus.js';
import { tempDir } from './support/temp.js';

const root = join(import.meta.dirname, '..');
const flags = createProducer('flags', 'k1');

type OtlpSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes: { key: string; value: Record<string, unknown> }[] };
type OtlpBody = { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };

describe('telemetry of the audit process (dist/main.js)', () => {
  const received: OtlpSpan[] = [];
  let collector: Server;
  let audit: TestProcess | undefined;
  let channel: Channel | undefined;
  const logs: Record<string, unknown>[] = [];

  const waitFor = <T>(what: string, find: () => T | undefined) => audit!.waitFor(what, find, { timeoutMs: 15_000, intervalMs: 50 });

  beforeAll(async () => {
    collector = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.url === '/v1/traces') {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody;
          for (const r of body.resourceSpans) for (const s of r.scopeSpans) received.push(...s.spans);
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const collectorPort = (collector.address() as { port: number }).port;

    const dir = tempDir('warden-audit-telemetry-process');
    writeFileSync(join(dir, 'producers.json'), JSON.stringify([{ producer: flags.name, keyId: flags.keyId, publicKey: flags.publicKeyB64 }]));
    audit = startNode(join(root, 'dist', 'main.js'), [], {
      name: 'audit',
      cwd: dir,
      inheritEnv: false,
      env: {
        AUDIT_GRPC_ADDRESS: '127.0.0.1:0',
        AUDIT_METRICS_PORT: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        AUDIT_AUTHZ_DISABLED: 'true',
        AUDIT_PRODUCER_KEYS_FILE: 'producers.json',
        AUDIT_LOG_LEVEL: 'info',
      },
      stderr: 'inherit',
    });
    createInterface({ input: audit.child.stdout! }).on('line', (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  });

  afterAll(async () => {
    channel?.close();
    await audit?.stop();
    await new Promise((resolve) => collector?.close(resolve));
  });

  it('serves /metrics on the port it logs and exports RPC and store spans over OTLP', async () => {
    const metricsUrl = await waitFor('the metrics log line', () => logs.find((l) => l.msg === 'metrics served')?.url as string | undefined);
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const address = await waitFor('the listening log line', () => logs.find((l) => l.msg === 'audit service listening')?.address as string | undefined);
    channel = createChannel(address);
    const client = createClient(AuditServiceDefinition, channel);
    const events = Array.from({ length: 3 }, () => {
      const event = flags.event();
      return { event: { ...event, occurredAt: new Date(event.occurredAt), request: {} }, signature: Buffer.from(signEvent(event, flags.privateKey)) };
    });
    const response = await client.append({ events });
    expect(response.results.map((r) => r.status)).toEqual(Array(3).fill(AppendStatus.APPEND_STATUS_ACCEPTED));

    const metrics = parsePrometheus(await (await fetch(metricsUrl)).text());
    expect(sampleValue(metrics, 'warden_audit_append_events_total', { warden_result: 'accepted' })).toBe(3);
    expect(sampleValue(metrics, 'warden_audit_tree_size', { warden_org: 'acme' })).toBe(3);
    // Acknowledged from the write-ahead spool; the store write follows within AUDIT_FLUSH_INTERVAL_MS.
    expect(sampleValue(metrics, 'warden_audit_spool_depth')).toBe(3);

    const rpc = await waitFor('the Append span', () => received.find((s) => s.name === 'warden.audit.v1.AuditService/Append'));
    // The store write carries many Appends: its own trace, not a child of the first one.
    const insert = await waitFor('the INSERT span', () => received.find((s) => s.name === 'INSERT events'));
    expect(insert.traceId).not.toBe(rpc.traceId);
    expect(insert.attributes).toContainEqual({ key: 'db.system.name', value: { stringValue: 'clickhouse' } });
    const after = parsePrometheus(await (await fetch(metricsUrl)).text());
    expect(sampleValue(after, 'warden_audit_spool_depth')).toBe(0);
  });
});
