import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { generateSigningKey, ProducerKeyRegistry, rawPublicKey, signEvent, type AuditEvent } from '@warden/audit-events';
import { admit, type AdmissionLimits } from './admission.js';

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
