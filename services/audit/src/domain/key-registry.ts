/**
 * The registry of producer public keys: added, rotated (add the new key,
 * revoke the old one) and revoked. A revoked key's new events are refused;
 * events it signed before stay verifiable. Built from append-only key events.
 */
import type { KeyObject } from 'node:crypto';
import { parsePublicKey } from './keys.js';
import type { KeyEventRow } from './ports.js';

export type KeyLookup =
  | { readonly status: 'unknown-producer' }
  | { readonly status: 'unknown-key' }
  | { readonly status: 'found'; readonly key: KeyObject; readonly revokedAt: string | undefined };

type Entry = { key: KeyObject; publicKey: string; revokedAt: string | undefined };

export class ProducerKeyRegistry {
  private readonly producers = new Map<string, Map<string, Entry>>();

  constructor(rows: readonly KeyEventRow[] = []) {
    for (const row of rows) this.apply(row);
  }

  /** Applies one key event; a revocation of an unknown key is ignored. Throws on a malformed key. */
  apply(row: KeyEventRow): void {
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
