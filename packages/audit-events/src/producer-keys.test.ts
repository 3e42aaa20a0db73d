import { describe, expect, it } from 'vitest';
import { generateSigningKey, rawPublicKey } from './keys.js';
import { parseProducerKeys, ProducerKeyRegistry } from './producer-keys.js';

const b64 = (key = generateSigningKey()) => rawPublicKey(key.publicKey).toString('base64');

describe('the producer key registry', () => {
  it('adds, looks up and revokes keys; a revoked key stays usable for verification', () => {
    const k1 = b64();
    const registry = new ProducerKeyRegistry([{ producer: 'flags', keyId: 'k1', publicKey: k1, kind: 'added', at: '2026-01-01T00:00:00.000Z' }]);
    expect(registry.lookup('ghost', 'k1')).toEqual({ status: 'unknown-producer' });
    expect(registry.lookup('flags', 'k2')).toEqual({ status: 'unknown-key' });
    expect(registry.lookup('flags', 'k1')).toMatchObject({ status: 'found', revokedAt: undefined });
    registry.apply({ producer: 'flags', keyId: 'k1', publicKey: '', kind: 'revoked', at: '2026-02-01T00:00:00.000Z' });
    // The earliest revocation wins.
    registry.apply({ producer: 'flags', keyId: 'k1', publicKey: '', kind: 'revoked', at: '2026-03-01T00:00:00.000Z' });
    expect(registry.lookup('flags', 'k1')).toMatchObject({ status: 'found', revokedAt: '2026-02-01T00:00:00.000Z' });
    expect(registry.verificationKey('flags', 'k1')).toBeDefined();
    expect(registry.list()).toEqual([{ producer: 'flags', keyId: 'k1', publicKey: k1, revokedAt: '2026-02-01T00:00:00.000Z' }]);
  });

  it('refuses the same key id registered again with another key', () => {
    const registry = new ProducerKeyRegistry([{ producer: 'flags', keyId: 'k1', publicKey: b64(), kind: 'added', at: '2026-01-01T00:00:00.000Z' }]);
    expect(() => registry.apply({ producer: 'flags', keyId: 'k1', publicKey: b64(), kind: 'added', at: '2026-01-02T00:00:00.000Z' })).toThrow(/already registered/);
  });

  it('reads a producer keys file (base64 or PEM, optional revocation) and names the file when it is not an array', () => {
    const pair = generateSigningKey();
    const pem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const rows = parseProducerKeys(JSON.stringify([{ producer: 'authz', keyId: 'a1', publicKey: pem, revokedAt: '2026-05-01T00:00:00Z' }, { producer: 'flags', keyId: 'f1', publicKey: b64() }]), 'keys.json');
    expect(rows.map((r) => [r.producer, r.keyId, r.kind])).toEqual([['authz', 'a1', 'added'], ['authz', 'a1', 'revoked'], ['flags', 'f1', 'added']]);
    expect(rows[1]!.at).toBe('2026-05-01T00:00:00.000Z');
    expect(new ProducerKeyRegistry(rows).verificationKey('authz', 'a1')?.equals(pair.publicKey)).toBe(true);
    expect(() => parseProducerKeys('{}', 'keys.json')).toThrow('keys.json: expected a JSON array');
  });
});
