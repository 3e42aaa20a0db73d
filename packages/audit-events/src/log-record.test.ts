import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { canonicalEvent, type AuditEvent } from './event.js';
import { leafData, leafDataFromCanonical } from './log-record.js';

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
});
