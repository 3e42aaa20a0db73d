import { describe, expect, it } from 'vitest';
import { ProblemKind as ProtoProblemKind, SignedEvent } from '@warden/proto/audit/v1';
import { parseEvent, type AuditEvent } from './event.js';
import { generateSigningKey, verifyEventSignature } from './keys.js';
import { problemKindFromProto, problemKindToProto, signedEventFromProto, signedEventToProto } from './proto.js';
import type { ProblemKind } from './verify.js';

describe('the producer side of the wire', () => {
  const keys = generateSigningKey();
  const events: AuditEvent[] = [
    {
      id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      occurredAt: '2026-11-23T12:00:00.123Z',
      actor: { type: 'user', id: 'sarah@acme.com' },
      action: 'flag.rollout_changed',
      resource: 'org:acme/project:checkout/env:production/flag:checkout-v2',
      before: { rollout: 25 },
      after: { rollout: 50 },
      reason: 'ramp',
      request: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' },
      producer: 'flags',
      keyId: 'flags-1',
    },
    {
      id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c',
      occurredAt: '2026-11-23T12:00:01.000Z',
      actor: { type: 'service', id: 'warden-authz', onBehalfOf: 'user:adam@acme.com' },
      action: 'binding.created',
      resource: 'org:acme',
      before: null,
      after: { role: 'release_manager', nested: [1, 'two', { three: true }] },
      producer: 'authz',
      keyId: 'authz-1',
    },
  ];
  for (const event of events) {
    it(`${event.action}: survives the wire byte for byte, and its signature verifies on the other side`, () => {
      const wire = SignedEvent.decode(SignedEvent.encode(signedEventToProto(event, keys.privateKey)).finish());
      const received = signedEventFromProto(wire);
      const parsed = parseEvent(received.event);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.event).toEqual(event);
      expect(verifyEventSignature(parsed.event, received.signature!, keys.publicKey)).toBe(true);
    });
  }

  it('problem kinds map both ways; an unknown kind maps to nothing', () => {
    const kinds: ProblemKind[] = ['edited', 'missing', 'extra', 'bad-event-signature', 'chain', 'root-mismatch', 'forged-checkpoint', 'rollback'];
    for (const kind of kinds) expect(problemKindFromProto(problemKindToProto(kind))).toBe(kind);
    expect(new Set(kinds.map(problemKindToProto)).size).toBe(kinds.length);
    expect(problemKindFromProto(ProtoProblemKind.PROBLEM_KIND_UNSPECIFIED)).toBeUndefined();
  });
});
