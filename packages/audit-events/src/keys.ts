/** Ed25519 keys and event signatures (node:crypto). Pure: no I/O. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalEvent, type AuditEvent } from './event.js';

export type SigningKeyPair = { readonly privateKey: KeyObject; readonly publicKey: KeyObject };

export function generateSigningKey(): SigningKeyPair {
  return generateKeyPairSync('ed25519');
}

/** The 32-byte raw Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/** Base64 of the raw 32-byte key, or a PEM (SPKI) text. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.startsWith('-----BEGIN') ? createPublicKey(trimmed) : publicKeyFromRaw(Buffer.from(trimmed, 'base64'));
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('not an Ed25519 public key');
  return key;
}

/** A PKCS#8 PEM text. */
export function parsePrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('not an Ed25519 private key');
  return key;
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Ed25519 signature (64 bytes) over the RFC 8785 canonical JSON of the event. */
export function signEvent(event: AuditEvent, privateKey: KeyObject): Buffer {
  return sign(null, Buffer.from(canonicalEvent(event), 'utf8'), privateKey);
}

export function verifyEventSignature(event: AuditEvent, signature: Uint8Array, publicKey: KeyObject): boolean {
  let canonical: string;
  try {
    canonical = canonicalEvent(event);
  } catch {
    return false;
  }
  return verifyCanonicalSignature(canonical, signature, publicKey);
}

/** Ed25519 over a text already in its signed form (a canonical event, a batch message), on this thread. */
export function verifyCanonicalSignature(canonical: string, signature: Uint8Array, publicKey: KeyObject): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify(null, Buffer.from(canonical, 'utf8'), publicKey, signature);
  } catch {
    return false;
  }
}

/**
 * The same check off the main thread (libuv thread pool), for the service's
 * ingest path; `canonical` is the event's canonical JSON when already computed.
 */
export function verifyCanonicalSignatureAsync(canonical: string, signature: Uint8Array, publicKey: KeyObject): Promise<boolean> {
  if (signature.length !== 64) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify(null, Buffer.from(canonical, 'utf8'), publicKey, signature, (error, ok) => resolve(error === null && ok));
    } catch {
      resolve(false);
    }
  });
}
