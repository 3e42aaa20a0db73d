import { describe, expect, it } from 'vitest';
import { AppendRequest, AppendStatus, ProblemKind as ProtoProblemKind, SignedEvent, type AppendResult } from '@warden/proto/audit/v1';
import { parseEvent, type AuditEvent } from './event.js';
import { generateSigningKey, verifyEventSignature } from './keys.js';
import { appendBatchSigned, batchSignedAppendRequest, problemKindFromProto, problemKindToProto, signedEventFromProto, signedEventToProto, storedRecordToProto, storedSignatureFromProto } from './proto.js';
import { batchRecordSignatures, verifyBatch } from './batch-signature.js';
import { canonicalEvent } from './event.js';
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

  it('a batch-signed Append: one signature over the events in order, no per-event signature, one producer key', () => {
    const flags = [events[0]!, { ...events[0]!, id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d', after: { rollout: 75 } }];
    const wire = AppendRequest.decode(AppendRequest.encode(batchSignedAppendRequest(flags, keys.privateKey)).finish());
    expect(wire.batchSignature).toHaveLength(64);
    const received = wire.events.map(signedEventFromProto);
    expect(received.map((r) => r.signature)).toEqual([undefined, undefined]);
    const canonicals = received.map((r) => {
      const parsed = parseEvent(r.event);
      if (!parsed.ok) throw new Error(parsed.problem.message);
      return canonicalEvent(parsed.event);
    });
    expect(verifyBatch(canonicals, wire.batchSignature, keys.publicKey)).toBe(true);
    expect(verifyBatch([...canonicals].reverse(), wire.batchSignature, keys.publicKey)).toBe(false);
    expect(() => batchSignedAppendRequest(events, keys.privateKey)).toThrow(/events\[1\] names authz\/authz-1, not flags\/flags-1/);
    expect(() => batchSignedAppendRequest([], keys.privateKey)).toThrow(RangeError);
  });

  it('appendBatchSigned sends the events refused only because another one kept the batch from being checked once more, without it', async () => {
    const flags = [0, 1, 2, 3].map((i) => ({ ...events[0]!, id: `0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a6${i}`, after: { rollout: i } }));
    const requests: AppendRequest[] = [];
    const refused = (i: number, field: string): AppendResult => ({ id: '', status: AppendStatus.APPEND_STATUS_REFUSED, seq: 0, error: { code: 3, reason: 1, field: `events[${i}].${field}`, message: `events[${i}].${field}: no` } });
    const accepted = (seq: number): AppendResult => ({ id: '', status: AppendStatus.APPEND_STATUS_ACCEPTED, seq });
    const answers = [
      [refused(0, 'batch_signature'), refused(1, 'event.resource'), refused(2, 'batch_signature'), refused(3, 'batch_signature')],
      [accepted(7), refused(1, 'event.occurred_at'), accepted(8)],
    ];
    const results = await appendBatchSigned(flags, keys.privateKey, (request) => {
      requests.push(request);
      return Promise.resolve({ results: answers[requests.length - 1]! });
    });
    expect(requests.map((r) => r.events.map((e) => e.event!.id))).toEqual([flags.map((e) => e.id), [flags[0]!.id, flags[2]!.id, flags[3]!.id]]);
    expect(verifyBatch([flags[0]!, flags[2]!, flags[3]!].map(canonicalEvent), requests[1]!.batchSignature, keys.publicKey)).toBe(true);
    expect(results.map((r) => [r.status, r.seq, r.error?.field])).toEqual([
      [AppendStatus.APPEND_STATUS_ACCEPTED, 7, undefined],
      [AppendStatus.APPEND_STATUS_REFUSED, 0, 'events[1].event.resource'],
      [AppendStatus.APPEND_STATUS_REFUSED, 0, 'events[2].event.occurred_at'],
      [AppendStatus.APPEND_STATUS_ACCEPTED, 8, undefined],
    ]);
    expect(results[2]!.error!.message).toBe('events[2].event.occurred_at: no');
    // A batch signature that is simply bad: every event refused for it, nothing sent again.
    requests.length = 0;
    answers.splice(0, 2, flags.map((_, i) => refused(i, 'batch_signature')));
    await appendBatchSigned(flags, keys.privateKey, (request) => {
      requests.push(request);
      return Promise.resolve({ results: answers[requests.length - 1]! });
    });
    expect(requests).toHaveLength(1);
    // Events naming two producer keys cannot share a batch signature: each is signed on its own.
    requests.length = 0;
    answers.splice(0, 1, events.map(() => accepted(1)));
    await appendBatchSigned(events, keys.privateKey, (request) => {
      requests.push(request);
      return Promise.resolve({ results: answers[requests.length - 1]! });
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.batchSignature).toHaveLength(0);
    expect(requests[0]!.events.map((e) => e.signature.length)).toEqual([64, 64]);
    expect(await appendBatchSigned([], keys.privateKey, () => Promise.reject(new Error('not sent')))).toEqual([]);
  });

  it('Query returns a batch-signed event\'s stored form as its UTF-8 text, a per-event one as its 64 bytes', () => {
    const canonical = canonicalEvent(events[0]!);
    const stored = batchRecordSignatures([canonical], Buffer.alloc(64, 7))[0]!;
    const base = { org: 'acme', seq: 0, loggedAt: '2026-11-23T12:00:02.000Z', event: events[0]!, project: 'checkout', environment: 'production', contentHash: '', leafHash: '', chainHash: '', payloadExpired: false };
    expect(Buffer.from(storedRecordToProto({ ...base, signature: stored }).signed!.signature).toString('utf8')).toBe(stored);
    expect(storedRecordToProto({ ...base, signature: Buffer.alloc(64, 9).toString('base64') }).signed!.signature).toEqual(Buffer.alloc(64, 9));
    // And back to the stored text, both forms (what a reader of Query hands verifyRecordSignature).
    expect(storedSignatureFromProto(storedRecordToProto({ ...base, signature: stored }).signed!.signature)).toBe(stored);
    expect(storedSignatureFromProto(Buffer.alloc(64, 9))).toBe(Buffer.alloc(64, 9).toString('base64'));
  });

  it('problem kinds map both ways; an unknown kind maps to nothing', () => {
    const kinds: ProblemKind[] = ['edited', 'missing', 'extra', 'bad-event-signature', 'chain', 'root-mismatch', 'forged-checkpoint', 'rollback'];
    for (const kind of kinds) expect(problemKindFromProto(problemKindToProto(kind))).toBe(kind);
    expect(new Set(kinds.map(problemKindToProto)).size).toBe(kinds.length);
    expect(problemKindFromProto(ProtoProblemKind.PROBLEM_KIND_UNSPECIFIED)).toBeUndefined();
  });
});
