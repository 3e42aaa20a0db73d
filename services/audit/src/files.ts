/** Key files read by the service and the CLI. */
import { readFileSync } from 'node:fs';
import { parseProducerKeys, type ProducerKeyEvent } from '@warden/audit-events';
import { hashApiKey } from './api/grpc/identity.js';

/** JSON array of `{producer, keyId, publicKey (base64 raw or PEM), revokedAt?}`. */
export function readProducerKeys(path: string): ProducerKeyEvent[] {
  return parseProducerKeys(readFileSync(path, 'utf8'), path);
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

