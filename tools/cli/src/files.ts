/** Key files the CLI reads (offline verify). */
import { readFileSync } from 'node:fs';
import { parseProducerKeys, type ProducerKeyEvent } from '@warden/audit-events';

/** JSON array of `{producer, keyId, publicKey (base64 raw or PEM), revokedAt?}`. */
export function readProducerKeys(path: string): ProducerKeyEvent[] {
  return parseProducerKeys(readFileSync(path, 'utf8'), path);
}
