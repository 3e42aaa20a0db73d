/**
 * The registry of producer public keys: added, rotated (add the new key,
 * revoke the old one) and revoked. A revoked key's new events are refused;
 * events it signed before stay verifiable. Built from append-only key events.
 */
import type { KeyObject } from 'node:crypto';
import { parsePublicKey } from './keys.js';

/** One append-only key event: a key added or revoked (the registry's only input). */
export type ProducerKeyEvent = {
  readonly producer: string;
  readonly keyId: string;
  /** Base64 raw Ed25519 public key (or a PEM text); empty for a revocation. */
  readonly publicKey: string;
  readonly kind: 'added' | 'revoked';
  /** ISO 8601 ms UTC. */
  readonly at: string;
};

export type KeyLookup =
  | { readonly status: 'unknown-producer' }
  | { readonly status: 'unknown-key' }
  | { readonly status: 'found'; readonly key: KeyObject; readonly revokedAt: string | undefined };

type Entry = { key: KeyObject; publicKey: string; revokedAt: string | undefined };

export class ProducerKeyRegistry {
  private readonly producers = new Map<string, Map<string, Entry>>();

  constructor(rows: readonly ProducerKeyEvent[] = []) {
    for (const row of rows) this.apply(row);
  }

  /** Applies one key event; a revocation of an unknown key is ignored. Throws on a malformed key. */
  apply(row: ProducerKeyEvent): void {
    let keys = this.producers.get(row.producer);
    if (row.kind === 'added') {
      if (keys === undefined) {
        keys = new Map();
        this.producers.set(row.producer, keys);
      }
      const existing = keys.get(row.keyId);
      if (existing !== undefined) {
        if (existing.publicKey !== row.publicKey) throw new TypeError(`key ${row.producer}/${row.keyId} is already registered with another public key`);
        return;
      }
      keys.set(row.keyId, { key: parsePublicKey(row.publicKey), publicKey: row.publicKey, revokedAt: undefined });
      return;
    }
    const entry = keys?.get(row.keyId);
    if (entry !== undefined && (entry.revokedAt === undefined || row.at < entry.revokedAt)) entry.revokedAt = row.at;
  }

  lookup(producer: string, keyId: string): KeyLookup {
    const keys = this.producers.get(producer);
    if (keys === undefined) return { status: 'unknown-producer' };
    const entry = keys.get(keyId);
    if (entry === undefined) return { status: 'unknown-key' };
    return { status: 'found', key: entry.key, revokedAt: entry.revokedAt };
  }

  /** The key for verifying stored events (revoked or not). */
  verificationKey(producer: string, keyId: string): KeyObject | undefined {
    return this.producers.get(producer)?.get(keyId)?.key;
  }

  /** Every registered key, by producer then key id. */
  list(): { producer: string; keyId: string; publicKey: string; revokedAt: string | undefined }[] {
    const out: { producer: string; keyId: string; publicKey: string; revokedAt: string | undefined }[] = [];
    for (const [producer, keys] of [...this.producers].sort(([a], [b]) => a.localeCompare(b))) {
      for (const [keyId, entry] of [...keys].sort(([a], [b]) => a.localeCompare(b))) out.push({ producer, keyId, publicKey: entry.publicKey, revokedAt: entry.revokedAt });
    }
    return out;
  }

  has(producer: string, keyId: string): boolean {
    return this.producers.get(producer)?.has(keyId) ?? false;
  }
}

/**
 * A producer keys file: a JSON array of `{producer, keyId, publicKey (base64 raw or PEM),
 * revokedAt?}`, as the service (AUDIT_PRODUCER_KEYS_FILE) and offline verify read it.
 * `source` names the file in error messages.
 */
export function parseProducerKeys(text: string, source: string): ProducerKeyEvent[] {
  const list = JSON.parse(text) as { producer: string; keyId: string; publicKey: string; revokedAt?: string }[];
  if (!Array.isArray(list)) throw new TypeError(`${source}: expected a JSON array of {producer, keyId, publicKey, revokedAt?}`);
  const rows: ProducerKeyEvent[] = [];
  for (const entry of list) {
    parsePublicKey(entry.publicKey);
    rows.push({ producer: entry.producer, keyId: entry.keyId, publicKey: entry.publicKey, kind: 'added', at: new Date(0).toISOString() });
    if (entry.revokedAt !== undefined) rows.push({ producer: entry.producer, keyId: entry.keyId, publicKey: '', kind: 'revoked', at: new Date(entry.revokedAt).toISOString() });
  }
  return rows;
}
