import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { generateSigningKey, isBatchSignature, ProducerKeyRegistry, rawPublicKey, signBatch, signEvent, verifyCanonicalSignatureAsync, verifyRecordSignature, type AuditEvent } from '@warden/audit-events';
import { InvalidArgumentError } from '@warden/errors';
import type { SignatureCheck } from '../domain/ports.js';
import { admit, admitBatch, type Admission, type AdmissionLimits } from './admission.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const limits: AdmissionLimits = { maxEventBytes: 2048, maxFutureSkewMs: 300_000 };
const flags = generateSigningKey();
const other = generateSigningKey();
const b64 = (key: typeof flags) => rawPublicKey(key.publicKey).toString('base64');
const at = '2026-01-01T00:00:00.000Z';
const keys = new ProducerKeyRegistry([
  { producer: 'flags', keyId: 'k1', publicKey: b64(flags), kind: 'added', at },
  { producer: 'flags', keyId: 'old', publicKey: b64(other), kind: 'added', at },
  { producer: 'flags', keyId: 'old', publicKey: '', kind: 'revoked', at: new Date(NOW - 1000).toISOString() },
  { producer: 'flags', keyId: 'soon', publicKey: b64(other), kind: 'added', at },
  { producer: 'flags', keyId: 'soon', publicKey: '', kind: 'revoked', at: new Date(NOW + 60_000).toISOString() },
]);

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: uuidv7({ msecs: NOW - 5000 }),
    occurredAt: new Date(NOW - 5000).toISOString(),
    actor: { type: 'user', id: 'sarah@acme.com' },
    action: 'flag.enabled',
    resource: 'org:acme/project:checkout/env:production/flag:checkout-v2',
    producer: 'flags',
    keyId: 'k1',
    ...overrides,
  };
}

const signed = (e: AuditEvent, key = flags) => ({ event: e, signature: signEvent(e, key.privateKey) });
const refusal = async (input: Parameters<typeof admit>[0]) => {
  const result = await admit(input, NOW, keys, limits);
  return result.ok ? 'admitted' : [result.outcome.reason, result.outcome.field];
};

describe('admission', () => {
  it('admits a well-formed event signed by a registered key, with its canonical form and content hash', async () => {
    const e = event({ before: { rollout: 1 }, after: { rollout: 2 } });
    const result = await admit(signed(e), NOW, keys, limits);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toEqual(e);
    expect(result.contentHash).toBe(createHash('sha256').update(result.canonical).digest('hex'));
    expect(Buffer.from(result.signature, 'base64')).toEqual(signEvent(e, flags.privateKey));
  });

  it('refuses, naming the field: malformed, oversized, future-dated (time or id), unsigned', async () => {
    const e = event();
    expect(await refusal({ event: { ...e, action: 'Enabled!' }, signature: signEvent(e, flags.privateKey) })).toEqual(['malformed', 'event.action']);
    expect(await refusal({ event: 'not an object', signature: undefined })).toEqual(['malformed', 'event']);
    expect(await refusal(signed(event({ after: { blob: 'x'.repeat(3000) } })))).toEqual(['oversized', 'event']);
    expect(await refusal(signed(event({ occurredAt: new Date(NOW + 301_000).toISOString() })))).toEqual(['future-dated', 'event.occurred_at']);
    expect(await refusal(signed(event({ id: uuidv7({ msecs: NOW + 301_000 }) })))).toEqual(['future-dated', 'event.id']);
    expect(await refusal({ event: e, signature: undefined })).toEqual(['unsigned', 'signature']);
    expect(await refusal({ event: e, signature: new Uint8Array() })).toEqual(['unsigned', 'signature']);
  });

  it('keeps the id of a refused event when it has one', async () => {
    const e = event();
    const result = await admit({ event: { ...e, resource: 'nowhere' }, signature: undefined }, NOW, keys, limits);
    expect(result).toMatchObject({ ok: false, outcome: { status: 'refused', id: e.id, reason: 'malformed', field: 'event.resource' } });
  });

  it('refuses unknown producers and keys, keys revoked by now, and signatures that do not verify', async () => {
    expect(await refusal(signed(event({ producer: 'ghost' })))).toEqual(['unknown-producer', 'event.producer']);
    expect(await refusal(signed(event({ keyId: 'k9' })))).toEqual(['unknown-key', 'event.key_id']);
    expect(await refusal(signed(event({ keyId: 'old' }), other))).toEqual(['revoked-key', 'event.key_id']);
    // A revocation set for later does not refuse yet.
    expect(await refusal(signed(event({ keyId: 'soon' }), other))).toBe('admitted');
    expect(await refusal(signed(event(), other))).toEqual(['bad-signature', 'signature']);
    expect(await refusal({ event: event(), signature: Buffer.alloc(64) })).toEqual(['bad-signature', 'signature']);
    const e = event();
    expect(await refusal({ event: { ...e, reason: 'edited after signing' }, signature: signEvent(e, flags.privateKey) })).toEqual(['bad-signature', 'signature']);
  });
});

describe('admission of a batch-signed Append', () => {
  const unsigned = (e: unknown) => ({ event: e, signature: undefined });
  const counting = (): SignatureCheck & { calls: number } => {
    const check = (async (canonical: string, signature: Uint8Array, key: Parameters<SignatureCheck>[2]) => {
      check.calls += 1;
      return verifyCanonicalSignatureAsync(canonical, signature, key);
    }) as SignatureCheck & { calls: number };
    check.calls = 0;
    return check;
  };
  const outcomes = (results: Admission[]) => results.map((r) => (r.ok ? 'admitted' : [r.outcome.reason, r.outcome.field]));
  const batchOf = (n: number) => Array.from({ length: n }, (_, i) => event({ after: { rollout: i } }));

  it('admits every event with one signature check; each stores its own verifiable batch form', async () => {
    const events = batchOf(7);
    const verify = counting();
    const results = await admitBatch(events.map(unsigned), signBatch(events, flags.privateKey), NOW, keys, limits, verify);
    expect(verify.calls).toBe(1);
    expect(outcomes(results)).toEqual(Array(7).fill('admitted'));
    results.forEach((r, i) => {
      if (!r.ok) return;
      expect(r.event).toEqual(events[i]);
      expect(isBatchSignature(r.signature)).toBe(true);
      expect(verifyRecordSignature(r.canonical, r.signature, flags.publicKey)).toBe(true);
    });
  });

  it('refuses the whole batch when the signature does not cover these events in this order, or another key signed', async () => {
    const events = batchOf(5);
    const signature = signBatch(events, flags.privateKey);
    const swapped = [...events];
    swapped[2] = event({ after: { rollout: 99 } }); // another event of the same producer
    const reordered = [events[1]!, events[0]!, ...events.slice(2)];
    for (const [batch, sig] of [
      [swapped, signature],
      [reordered, signature],
      [events.slice(0, 4), signature],
      [events, signBatch(events, other.privateKey)],
      [events.slice(0, 1), signEvent(events[0]!, flags.privateKey)],
    ] as const) {
      const results = await admitBatch(batch.map(unsigned), sig, NOW, keys, limits);
      expect(outcomes(results)).toEqual(Array(batch.length).fill(['bad-signature', 'batch_signature']));
      expect(results[0]).toMatchObject({ outcome: { id: batch[0]!.id, message: expect.stringMatching(/batch signature does not verify with key "k1" of producer "flags" over these \d+ events in this order/) } });
    }
  });

  it('cannot judge the signature when an event is malformed or names another key: that event for its reason, the others bad-signature', async () => {
    const events = batchOf(5);
    const signature = signBatch(events, flags.privateKey);
    const inputs = events.map(unsigned);
    inputs[3] = unsigned({ ...events[3]!, action: 'Enabled!' });
    const verify = counting();
    const results = await admitBatch(inputs, signature, NOW, keys, limits, verify);
    expect(verify.calls).toBe(0);
    expect(outcomes(results)).toEqual([...Array(3).fill(['bad-signature', 'batch_signature']), ['malformed', 'event.action'], ['bad-signature', 'batch_signature']]);
    expect(results[0]).toMatchObject({ ok: false, outcome: { id: events[0]!.id, message: 'the batch signature cannot be checked: event 3 of the batch is malformed' } });

    const mixed = [...events.slice(0, 2), event({ keyId: 'soon' }), ...events.slice(3)];
    const mixedResults = await admitBatch(mixed.map(unsigned), signBatch(mixed, flags.privateKey), NOW, keys, limits);
    expect(outcomes(mixedResults)).toEqual([['bad-signature', 'batch_signature'], ['bad-signature', 'batch_signature'], ['bad-signature', 'event.key_id'], ['bad-signature', 'batch_signature'], ['bad-signature', 'batch_signature']]);
    expect(mixedResults[4]).toMatchObject({ outcome: { message: 'the batch signature cannot be checked: event 2 of the batch names another producer key' } });
    const otherProducer = [events[0]!, event({ producer: 'ghost' })];
    expect(outcomes(await admitBatch(otherProducer.map(unsigned), signBatch(otherProducer, flags.privateKey), NOW, keys, limits))).toEqual([
      ['bad-signature', 'batch_signature'],
      ['bad-signature', 'event.producer'],
    ]);
  });

  it('refuses an oversized or future-dated event for its own reason and admits the rest; an unknown or revoked key refuses all', async () => {
    const events = [event(), event({ after: { blob: 'x'.repeat(3000) } }), event({ occurredAt: new Date(NOW + 301_000).toISOString() }), event()];
    const results = await admitBatch(events.map(unsigned), signBatch(events, flags.privateKey), NOW, keys, limits);
    expect(outcomes(results)).toEqual(['admitted', ['oversized', 'event'], ['future-dated', 'event.occurred_at'], 'admitted']);
    const r3 = results[3]!;
    expect(r3.ok && verifyRecordSignature(r3.canonical, r3.signature, flags.publicKey)).toBe(true);

    const ghost = [event({ keyId: 'k9' }), event({ keyId: 'k9' })];
    expect(outcomes(await admitBatch(ghost.map(unsigned), signBatch(ghost, flags.privateKey), NOW, keys, limits))).toEqual(Array(2).fill(['unknown-key', 'event.key_id']));
    const revoked = [event({ keyId: 'old' }), event({ keyId: 'old' })];
    expect(outcomes(await admitBatch(revoked.map(unsigned), signBatch(revoked, other.privateKey), NOW, keys, limits))).toEqual(Array(2).fill(['revoked-key', 'event.key_id']));
  });

  it('a batch signature together with a per-event signature is an invalid argument', async () => {
    const events = batchOf(3);
    const inputs = [unsigned(events[0]), signed(events[1]!), unsigned(events[2])];
    const attempt = admitBatch(inputs, signBatch(events, flags.privateKey), NOW, keys, limits);
    await expect(attempt).rejects.toThrow(InvalidArgumentError);
    await expect(attempt).rejects.toThrow('events[1].signature: must be empty when batch_signature is set');
  });
});
