/**
 * Service API keys: `wdn_<id>_<secret>`, where id is 12 lowercase base32 characters (the
 * lookup key, safe to log) and secret is 32 random bytes in base64url. Only SHA-256(secret)
 * is stored (keys are 256-bit random, so a fast hash is enough); comparison is constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_RE = /^wdn_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$/;
const ID_RE = /^[a-z2-7]{12}$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export interface ApiKeyRecord {
  readonly id: string;
  readonly org: string;
  readonly subject: string;
  readonly description: string | undefined;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | undefined;
  readonly revokedAt: Date | undefined;
  readonly platform: boolean;
}

export interface VerifiedKey {
  readonly id: string;
  readonly org: string;
  readonly subject: string;
  /** Issued by the operator's bootstrap, not minted through the admin API. */
  readonly platform: boolean;
}

export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** A new key: its id, its secret, the key as shown once, and the digest to store. */
export function newApiKey(): { id: string; key: string; digest: Buffer } {
  const bytes = randomBytes(12);
  let id = '';
  for (const byte of bytes) id += BASE32[byte & 31];
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `wdn_${id}_${secret}`, digest: secretDigest(secret) };
}

/** The id and secret of a well-formed key, or undefined. */
export function splitApiKey(key: string): { id: string; secret: string } | undefined {
  const match = KEY_RE.exec(key);
  return match === null ? undefined : { id: match[1]!, secret: match[2]! };
}

/** The key id of a well-formed key, or undefined: lets logs name a key without its secret. */
export function keyIdOf(key: string): string | undefined {
  return KEY_RE.exec(key)?.[1];
}

export function isApiKeyId(value: string): boolean {
  return ID_RE.test(value);
}

/** Whether the presented secret matches the stored digest; compares even for unknown ids (`stored` undefined), so timing tells nothing. */
export function secretMatches(secret: string, stored: Buffer | undefined): boolean {
  const equal = timingSafeEqual(secretDigest(secret), stored ?? Buffer.alloc(32));
  return stored !== undefined && equal;
}
