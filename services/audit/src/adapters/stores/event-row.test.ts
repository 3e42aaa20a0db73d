import { describe, expect, it } from 'vitest';
import type { LogRecord } from '@warden/audit-events';
import { ClickHouseAuditStore, EVENT_COLUMNS, eventRowLine } from './clickhouse-audit-store.js';
import type { ClickHouseDriver } from './driver.js';

const base: LogRecord = {
  org: 'acme',
  seq: 41,
  loggedAt: '2026-11-29T10:00:00.123Z',
  signature: 'c2lnbmF0dXJl',
  project: 'checkout',
  environment: 'production',
  contentHash: 'a'.repeat(64),
  leafHash: 'b'.repeat(64),
  chainHash: 'c'.repeat(64),
  event: {
    id: '019ad0a0-0000-7000-8000-000000000001',
    occurredAt: '2026-11-29T09:59:59.001Z',
    actor: { type: 'user', id: 'sarah@acme.com' },
    action: 'flag.enabled',
    resource: 'org:acme/project:checkout/env:production/flag:new-flow',
    producer: 'flags',
    keyId: 'k1',
  },
};

describe('eventRowLine', () => {
  it('writes every column, in EVENT_COLUMNS order, as one JSON array line', () => {
    const record: LogRecord = {
      ...base,
      event: {
        ...base.event,
        actor: { type: 'service', id: 'deployer', onBehalfOf: 'user:sam@acme.com' },
        before: { rollout: 10, note: 'quote " backslash \\ newline \n tab \t' },
        after: ['ünïcødé', '😀', 1e21, -0, 0.1, null, true],
        reason: 'line one\nline two, "quoted"',
        request: { ip: '10.0.0.1', userAgent: 'curl/8 \u2028', traceId: 't-1' },
      },
    };
    const line = eventRowLine(record);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    const values = JSON.parse(line) as unknown[];
    expect(values).toHaveLength(EVENT_COLUMNS.length);
    const row = Object.fromEntries(EVENT_COLUMNS.map((c, i) => [c, values[i]]));
    expect(row).toEqual({
      org: 'acme',
      seq: 41,
      id: record.event.id,
      occurred_at: '2026-11-29 09:59:59.001',
      logged_at: '2026-11-29 10:00:00.123',
      resource: record.event.resource,
      project: 'checkout',
      environment: 'production',
      actor_type: 'service',
      actor_id: 'deployer',
      actor_on_behalf_of: 'user:sam@acme.com',
      action: 'flag.enabled',
      before: JSON.stringify(record.event.before),
      after: JSON.stringify(record.event.after),
      reason: record.event.reason,
      ip: '10.0.0.1',
      user_agent: 'curl/8 \u2028',
      trace_id: 't-1',
      producer: 'flags',
      key_id: 'k1',
      signature: 'c2lnbmF0dXJl',
      content_hash: record.contentHash,
      leaf_hash: record.leafHash,
      chain_hash: record.chainHash,
    });
  });

  it('writes absent optional fields as empty strings', () => {
    const row = JSON.parse(eventRowLine(base)) as unknown[];
    const at = (c: (typeof EVENT_COLUMNS)[number]) => row[EVENT_COLUMNS.indexOf(c)];
    for (const c of ['actor_on_behalf_of', 'before', 'after', 'reason', 'ip', 'user_agent', 'trace_id'] as const) expect(at(c), c).toBe('');
  });
});

describe('encodeRows / decodeRows (the text the spool keeps and the store write sends)', () => {
  // encodeRows and decodeRows never reach the driver.
  const store = new ClickHouseAuditStore({ driver: {} as ClickHouseDriver, database: 'unused' });
  const rich: LogRecord = {
    ...base,
    seq: 42,
    event: {
      ...base.event,
      id: '019ad0a0-0000-7000-8000-000000000002',
      actor: { type: 'service', id: 'deployer', onBehalfOf: 'user:sam@acme.com' },
      before: { rollout: 10, note: 'quote " backslash \\ newline \n' },
      after: ['ünïcødé', '😀', 1e21, 0.1, null, true, { nested: [] }],
      reason: 'line one\nline two',
      request: { ip: '10.0.0.1', userAgent: 'curl/8 \u2028', traceId: 't-1' },
    },
  };

  it('encodes records as one eventRowLine each and decodes them back to the same records', () => {
    const rows = store.encodeRows([base, rich]);
    expect(rows).toEqual({ bytes: Buffer.from(eventRowLine(base) + eventRowLine(rich), 'utf8'), count: 2 });
    expect(store.decodeRows(rows)).toEqual([base, rich]);
    expect(store.encodeRows([])).toEqual({ bytes: Buffer.alloc(0), count: 0 });
    expect(store.decodeRows({ bytes: Buffer.from(''), count: 0 })).toEqual([]);
  });

  it('refuses text that is not the rows it announces', () => {
    const line = eventRowLine(base);
    expect(() => store.decodeRows({ bytes: Buffer.from(line), count: 2 })).toThrow(/1 complete lines, not 2/);
    expect(() => store.decodeRows({ bytes: Buffer.from(line.slice(0, -1)), count: 1 })).toThrow(/complete lines/);
    expect(() => store.decodeRows({ bytes: Buffer.from('{"token":"x"}\n'), count: 1 })).toThrow(/not a row of the events table/);
    expect(() => store.decodeRows({ bytes: Buffer.from('[1,2\n'), count: 1 })).toThrow(/not JSON/);
  });
});
