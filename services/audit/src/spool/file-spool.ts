/**
 * The local spool: an append-only JSON Lines file, fsynced before an append
 * resolves, replayed in order when the store is back. A torn last line (the
 * process died mid-write, so the batch was never acknowledged) is ignored.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Spool, SpoolBatch } from '../domain/ports.js';

export class FileSpool implements Spool {
  readonly path: string;
  private handle: FileHandle | undefined;
  private empty: boolean;
  /** Events (records) in the spool; counted from the file once, then kept up to date. */
  private events: number;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, 'spool.jsonl');
    this.empty = !existsSync(this.path) || statSync(this.path).size === 0;
    this.events = 0;
    if (!this.empty) {
      try {
        this.events = countEvents(this.read());
      } catch {
        // A corrupt spool: pending() reports it when the log starts.
      }
    }
  }

  get isEmpty(): boolean {
    return this.empty;
  }

  /** Events waiting in the spool for the store (the `warden.audit.spool.depth` gauge). */
  get depth(): number {
    return this.events;
  }

  async append(batch: SpoolBatch): Promise<void> {
    if (this.handle === undefined) {
      const created = !existsSync(this.path);
      this.handle = await open(this.path, 'a');
      if (created) await syncDir(this.dir);
    }
    await this.handle.write(JSON.stringify(batch) + '\n');
    await this.handle.datasync();
    this.empty = false;
    this.events += batch.records.length;
  }

  async pending(): Promise<SpoolBatch[]> {
    const batches = this.read();
    this.events = countEvents(batches);
    return batches;
  }

  private read(): SpoolBatch[] {
    if (!existsSync(this.path)) return [];
    const lines = readFileSync(this.path, 'utf8').split('\n');
    const batches: SpoolBatch[] = [];
    lines.forEach((line, i) => {
      if (line === '') return;
      try {
        batches.push(JSON.parse(line) as SpoolBatch);
      } catch (error) {
        if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l !== '')) throw new Error(`spool ${this.path} is corrupt at line ${i + 1}`, { cause: error });
      }
    });
    return batches;
  }

  async clear(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    if (existsSync(this.path)) await unlink(this.path);
    await syncDir(this.dir);
    this.empty = true;
    this.events = 0;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

function countEvents(batches: readonly SpoolBatch[]): number {
  return batches.reduce((sum, batch) => sum + batch.records.length, 0);
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
