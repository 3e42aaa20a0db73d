/**
 * Producer key administration: register, revoke and rotate the Ed25519 keys events
 * are signed with. Key events are append-only in the store; the registry is rebuilt
 * from the configured keys and then the stored events. A revoked key's new events are
 * refused from the revocation time on; what it signed before stays verifiable.
 */
import { KEY_ID, parsePublicKey, PRODUCER, type ProducerKeyRegistry } from '@warden/audit-events';
import { ConflictError, InvalidArgumentError, NotFoundError } from '@warden/errors';
import type { AuditStore, Clock, KeyEventRow } from '../domain/ports.js';
import type { Serial } from './serial.js';

export class ProducerKeys {
  constructor(
    readonly registry: ProducerKeyRegistry,
    private readonly store: AuditStore,
    /** Keys from configuration, applied before the stored key events. */
    private readonly seed: readonly KeyEventRow[],
    private readonly serial: Serial,
    private readonly clock: Clock,
  ) {}

  /** Applies the configured keys, then every stored key event. */
  async load(): Promise<void> {
    for (const row of this.seed) this.registry.apply(row);
    for (const row of await this.store.keyEvents()) this.registry.apply(row);
  }

  /** Registers a producer key (idempotent for the same key). */
  async add(producer: string, keyId: string, publicKey: string): Promise<void> {
    if (!PRODUCER.test(producer)) throw new InvalidArgumentError('producer', `"${producer}" is not a producer name like authz or flags`);
    if (!KEY_ID.test(keyId)) throw new InvalidArgumentError('key_id', 'must be 1-64 characters of A-Z a-z 0-9 . _ -');
    try {
      parsePublicKey(publicKey);
    } catch {
      throw new InvalidArgumentError('public_key', 'is not a 32-byte Ed25519 public key');
    }
    const existing = this.registry.list().find((k) => k.producer === producer && k.keyId === keyId);
    if (existing !== undefined && existing.publicKey !== publicKey) throw new ConflictError(`key ${producer}/${keyId} is already registered with another public key`);
    const row: KeyEventRow = { producer, keyId, publicKey, kind: 'added', at: this.clock().toISOString() };
    await this.serial.run(async () => {
      if (this.registry.has(producer, keyId)) {
        this.registry.apply(row);
        return;
      }
      await this.store.insertKeyEvent(row);
      this.registry.apply(row);
    });
  }

  /** Revokes a key; returns when the revocation took effect (the earlier one if it was revoked already). */
  async revoke(producer: string, keyId: string): Promise<string> {
    if (!this.registry.has(producer, keyId)) throw new NotFoundError(`key ${producer}/${keyId} is not registered`);
    const row: KeyEventRow = { producer, keyId, publicKey: '', kind: 'revoked', at: this.clock().toISOString() };
    return this.serial.run(async () => {
      const current = this.registry.list().find((k) => k.producer === producer && k.keyId === keyId)?.revokedAt;
      if (current !== undefined) return current;
      await this.store.insertKeyEvent(row);
      this.registry.apply(row);
      return row.at;
    });
  }

  /** Rotation: registers the new key, then revokes the old one. */
  async rotate(producer: string, oldKeyId: string, newKeyId: string, newPublicKey: string): Promise<void> {
    await this.add(producer, newKeyId, newPublicKey);
    await this.revoke(producer, oldKeyId);
  }
}
