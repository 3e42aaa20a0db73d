/**
 * Standard Webhooks 1.0.0 (https://www.standardwebhooks.com, spec/standard-webhooks.md),
 * symmetric signatures: the secret is `whsec_` + base64 of 24–64 random bytes; the signed
 * content is `<webhook-id>.<webhook-timestamp>.<body>` (the exact body bytes); the
 * signature is HMAC-SHA256 with the decoded secret, base64, sent as `v1,<signature>` in
 * `webhook-signature` (a space-separated list: several during a secret rotation).
 * `webhook-timestamp` is integer Unix seconds of the attempt.
 */
import { createHmac } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';

/** The HMAC key from a `whsec_…` secret; throws a message that never contains the secret. */
export function parseWebhookSecret(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error(`must start with ${SECRET_PREFIX} (Standard Webhooks symmetric secret)`);
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error(`must be ${SECRET_PREFIX} followed by base64`);
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 24 || key.length > 64) throw new Error(`must encode 24 to 64 bytes (has ${key.length})`);
  return key;
}

/** `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`. */
export function signWebhook(key: Buffer, id: string, timestampSeconds: number, body: Buffer | string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}
