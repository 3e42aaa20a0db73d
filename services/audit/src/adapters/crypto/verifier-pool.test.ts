import { describe, expect, it } from 'vitest';
import { generateSigningKey, signEvent, canonicalEvent, type AuditEvent } from '@warden/audit-events';
import { VerifierPool } from './verifier-pool.js';

const key = generateSigningKey();
const other = generateSigningKey();
const event = (i: number): AuditEvent => ({
  id: `0190f0a0-0000-7000-8000-${String(i).padStart(12, '0')}`,
  occurredAt: '2026-11-29T12:00:00.000Z',
  actor: { type: 'user', id: 'sarah@acme.com' },
  action: 'flag.enabled',
  resource: 'org:acme/project:checkout/env:production/flag:f',
  producer: 'flags',
  keyId: 'k1',
});

describe('VerifierPool', () => {
  it('answers node:crypto Ed25519 verify for batches: valid, tampered, other key, malformed signature', async () => {
    const pool = new VerifierPool(2);
    try {
      const events = Array.from({ length: 200 }, (_, i) => event(i));
      const sigs = events.map((e) => signEvent(e, key.privateKey));
      const ok = await Promise.all(events.map((e, i) => pool.verify(canonicalEvent(e), sigs[i]!, key.publicKey)));
      expect(ok.every((v) => v)).toBe(true);
      const tampered = await pool.verify(canonicalEvent({ ...events[0]!, action: 'flag.disabled' }), sigs[0]!, key.publicKey);
      const wrongKey = await pool.verify(canonicalEvent(events[1]!), sigs[1]!, other.publicKey);
      const short = await pool.verify(canonicalEvent(events[2]!), sigs[2]!.subarray(0, 63), key.publicKey);
      const swapped = await pool.verify(canonicalEvent(events[3]!), sigs[4]!, key.publicKey);
      expect([tampered, wrongKey, short, swapped]).toEqual([false, false, false, false]);
    } finally {
      await pool.close();
    }
    await expect(pool.verify('{}', new Uint8Array(64), key.publicKey)).rejects.toMatchObject({ code: 'unavailable' });
  });
});
