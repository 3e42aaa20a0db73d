import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { canonicalEvent, type AuditEvent } from './event.js';
import { chainLink, computeLeafHash, GENESIS_CHAIN, leafData, leafDataFromCanonical, leafHashFromCanonical } from './log-record.js';
import { hashLeaf } from './merkle.js';

describe('leaf data', () => {
  it('the fast path around a canonical event gives the same bytes as canonicalizing the record', () => {
    const events: AuditEvent[] = [
      { id: uuidv7(), occurredAt: '2026-11-20T14:02:00.000Z', actor: { type: 'user', id: 'alex@acme.com' }, action: 'flag.enabled', resource: 'org:acme/flag:x', producer: 'flags', keyId: 'k1' },
      {
        id: uuidv7(),
        occurredAt: '2026-11-20T14:02:00.001Z',
        actor: { type: 'service', id: 'deployer', onBehalfOf: 'user:sarah@acme.com' },
        action: 'variable.changed',
        resource: 'org:acme/project:api/env:production/variable:DATABASE_URL',
        before: { 'é"\\\n': [1, 2.5, -0, 1e21, null, true, '\u2028\ud83d\ude00'] },
        after: 'x"y',
        reason: 'tab\there, quote " and </script>',
        request: { ip: '10.0.0.1', userAgent: 'curl/8 ü', traceId: 't' },
        producer: 'authz',
        keyId: 'a-1.b_2',
      },
    ];
    for (const [i, event] of events.entries()) {
      const record = { org: i === 0 ? 'acme' : 'ac"me', seq: 1234567 * i, loggedAt: '2026-11-20T14:02:00.123Z', signature: 'AAEC+/==' };
      expect(leafDataFromCanonical(canonicalEvent(event), record).toString('utf8')).toBe(leafData({ ...record, event }).toString('utf8'));
    }
  });

  it('leaf hashes and chain links are the same through either path, and as createHash computes them', () => {
    const event: AuditEvent = { id: uuidv7(), occurredAt: '2026-11-20T14:02:00.000Z', actor: { type: 'user', id: 'alex@acme.com' }, action: 'flag.enabled', resource: 'org:acme/flag:x', after: { 'ü"': [1e21, -0, 0.1] }, producer: 'flags', keyId: 'k1' };
    let previous = GENESIS_CHAIN;
    for (const [i, org] of ['acme', 'a"c\\me', 'ü😀', '\u2028', 'x'.repeat(5000)].entries()) {
      const record = { org, seq: i * 99991, loggedAt: `2026-11-20T14:02:0${i}.123Z`, signature: i % 2 === 0 ? 'AAEC+/==' : 'q"\\\n' };
      const data = leafDataFromCanonical(canonicalEvent(event), record);
      expect(data.toString('utf8')).toBe(leafData({ ...record, event }).toString('utf8'));
      const leaf = hashLeaf(data);
      expect(leaf.toString('hex')).toBe(createHash('sha256').update(Buffer.from([0])).update(leafData({ ...record, event })).digest('hex'));
      expect(leaf.equals(computeLeafHash({ ...record, event }))).toBe(true);
      const fromText = leafHashFromCanonical(canonicalEvent(event), record);
      expect(fromText.toString('hex')).toBe(leaf.toString('hex'));
      expect(fromText.buffer.byteLength).toBe(32);
      const link = chainLink(previous, leaf);
      expect(link.buffer.byteLength).toBe(32); // its own memory, not a slice of the Buffer pool
      expect(link.toString('hex')).toBe(createHash('sha256').update(previous).update(leaf).digest('hex'));
      previous = link;
    }
    expect(chainLink(Buffer.from('ab'), Buffer.from('cde')).toString('hex')).toBe(createHash('sha256').update('abcde').digest('hex'));
  });
});

