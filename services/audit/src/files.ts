/** Key files read by the service and the CLI. */
import { readFileSync } from 'node:fs';
import { hashApiKey } from './api/grpc/identity.js';
import { parsePublicKey } from './domain/keys.js';
import type { KeyEventRow } from './domain/ports.js';

/** JSON array of `{producer, keyId, publicKey (base64 raw or PEM), revokedAt?}`. */
export function readProducerKeys(path: string): KeyEventRow[] {
  const list = JSON.parse(readFileSync(path, 'utf8')) as { producer: string; keyId: string; publicKey: string; revokedAt?: string }[];
  if (!Array.isArray(list)) throw new TypeError(`${path}: expected a JSON array of {producer, keyId, publicKey, revokedAt?}`);
  const rows: KeyEventRow[] = [];
  for (const entry of list) {
    parsePublicKey(entry.publicKey);
    rows.push({ producer: entry.producer, keyId: entry.keyId, publicKey: entry.publicKey, kind: 'added', at: new Date(0).toISOString() });
    if (entry.revokedAt !== undefined) rows.push({ producer: entry.producer, keyId: entry.keyId, publicKey: '', kind: 'revoked', at: new Date(entry.revokedAt).toISOString() });
  }
  return rows;
}

/** JSON array of `{subject, key}` or `{subject, keySha256}`. */
export function readApiKeys(path: string): Map<string, string> {
  const list = JSON.parse(readFileSync(path, 'utf8')) as { subject: string; key?: string; keySha256?: string }[];
  if (!Array.isArray(list)) throw new TypeError(`${path}: expected a JSON array of {subject, key | keySha256}`);
  const map = new Map<string, string>();
  for (const entry of list) {
    const hash = entry.keySha256 ?? (entry.key !== undefined ? hashApiKey(entry.key) : undefined);
    if (hash === undefined || typeof entry.subject !== 'string') throw new TypeError(`${path}: every entry needs subject and key or keySha256`);
    map.set(hash.toLowerCase(), entry.subject);
  }
  return map;
}

