/**
 * The Spool port over the shared fsynced append-only file (@warden/spool): one line
 * per batch, fsynced before append() resolves, replayed in order when the store is
 * back, removed once every batch is in the store. A torn last line (the process died
 * mid-write, so the batch was never acknowledged) is ignored.
 */
import { join } from 'node:path';
import { SpoolFile } from '@warden/spool';
import type { Spool, SpoolBatch } from '../../domain/ports.js';

export class FileSpool implements Spool {
  readonly path: string;
  private readonly file: SpoolFile<SpoolBatch>;
  /** Events (records) in the spool; counted from the file once, then kept up to date. */
  private events = 0;

  constructor(dir: string) {
    this.path = join(dir, 'spool.jsonl');
    this.file = new SpoolFile<SpoolBatch>(this.path);
    if (!this.file.isEmpty) {
      try {
        this.events = countEvents(this.file.read());
      } catch {
        // A corrupt spool: pending() reports it when the log starts.
      }
    }
  }

  get isEmpty(): boolean {
    return this.file.isEmpty;
  }

  /** Events waiting in the spool for the store (the `warden.audit.spool.depth` gauge). */
  get depth(): number {
    return this.events;
  }

  async append(batch: SpoolBatch): Promise<void> {
    await this.file.append([batch]);
    this.events += batch.records.length;
  }

  async pending(): Promise<SpoolBatch[]> {
    const batches = this.file.read();
    this.events = countEvents(batches);
    return batches;
  }

  async clear(): Promise<void> {
    await this.file.clear();
    this.events = 0;
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

function countEvents(batches: readonly SpoolBatch[]): number {
  return batches.reduce((sum, batch) => sum + batch.records.length, 0);
}
