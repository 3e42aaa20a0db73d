/** A test producer: an Ed25519 key registered under a producer name, and signed events. */
import { v7 as uuidv7 } from 'uuid';
import { type AuditEvent, generateSigningKey, rawPublicKey, signEvent } from '@warden/audit-events';
import type { KeyEventRow } from '../../src/domain/ports.js';

export type TestProducer = ReturnType<typeof createProducer>;

export function createProducer(name = 'flags', keyId = 'k1') {
  const { privateKey, publicKey } = generateSigningKey();
  const publicKeyB64 = rawPublicKey(publicKey).toString('base64');
  const keyRow: KeyEventRow = { producer: name, keyId, publicKey: publicKeyB64, kind: 'added', at: new Date(0).toISOString() };
  let clock = Date.now() - 86_400_000;
  function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
    clock += 1000;
    return {
      id: uuidv7(),
      occurredAt: new Date(clock).toISOString(),
      actor: { type: 'user', id: 'alex@acme.com' },
      action: 'flag.rollout_changed',
      resource: 'org:acme/project:checkout/env:production/flag:checkout-v2',
      before: { rollout: 0 },
      after: { rollout: 25 },
      producer: name,
      keyId,
      ...overrides,
    };
  }
  function signed(overrides: Partial<AuditEvent> = {}) {
    const e = event(overrides);
    return { event: e as unknown, signature: signEvent(e, privateKey) as Uint8Array | undefined, parsed: e };
  }
  return { name, keyId, privateKey, publicKey, publicKeyB64, keyRow, event, signed };
}
