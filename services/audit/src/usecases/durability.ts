/**
 * Durability: a sequenced group is acknowledged only once it is in the store or in
 * the fsynced local spool. While the spool holds batches, new batches go behind them
 * (the log stays in order); replay writes them to the store in order, skipping rows
 * the store already has (an insert may have committed and still reported failure),
 * then empties the spool. Callers hold the Serial lock.
 */
import { createHash } from 'node:crypto';
import type { LogRecord } from '@warden/audit-events';
import { UnavailableError } from '@warden/errors';
import type { AuditStore, Spool } from '../domain/ports.js';
import type { AuditLogLogger } from './logger.js';

export class Durability {
  constructor(
    private readonly store: AuditStore,
    private readonly spool: Spool,
    private readonly logger: AuditLogLogger,
  ) {}

  /** True while batches wait in the spool for the store. */
  get degraded(): boolean {
    return !this.spool.isEmpty;
  }

  /**
   * Writes the group to the store, or (store failing, or the spool not empty) to the
   * spool. Throws UnavailableError when neither took it: the store may still have taken
   * the rows, so the caller must re-read its state before the next group.
   */
  async persist(records: readonly LogRecord[]): Promise<void> {
    const token = createHash('sha256').update(records.map((r) => `${r.org}:${r.seq}:${r.leafHash}`).join('\n')).digest('hex');
    if (this.spool.isEmpty) {
      try {
        await this.store.insertRecords(records, token);
        return;
      } catch (error) {
        this.logger.warn({ err: error }, 'store insert failed; spooling');
      }
    }
    try {
      await this.spool.append({ token, records });
    } catch (error) {
      throw new UnavailableError('neither the store nor the spool could take the batch', { cause: error });
    }
  }

  /** Writes the spooled batches to the store, in order; true when the spool is empty afterwards. */
  async replay(): Promise<boolean> {
    if (this.spool.isEmpty) return true;
    const batches = await this.spool.pending();
    try {
      for (const batch of batches) {
        const present = await this.store.findIds(batch.records.map((r) => r.event.id));
        const missing = batch.records.filter((r) => !present.has(r.event.id));
        if (missing.length === 0) continue;
        const token = missing.length === batch.records.length ? batch.token : `${batch.token}:${missing.length}`;
        await this.store.insertRecords(missing, token);
      }
    } catch (error) {
      this.logger.warn({ err: error, batches: batches.length }, 'spool replay failed; will retry');
      return false;
    }
    await this.spool.clear();
    this.logger.info({ batches: batches.length }, 'spool replayed');
    return true;
  }
}
