/**
 * The Spool port (the write-ahead log) over fsynced append-only files of the shared
 * @warden/spool kind, in numbered segments: `wal-<12 digits>.jsonl`, one line per
 * batch. Appends go to the newest segment and resolve once fsynced; rotate() closes it
 * and starts the next; release() deletes closed segments whose batches are in the
 * store. A torn last line (the process died mid-write, so that batch was never
 * acknowledged) is ignored. A `spool.jsonl` left by an older version is read as
 * segment 0.
 */
import { readdirSync, rmSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SpoolFile, syncDir } from '@warden/spool';
import type { Spool, SpoolBatch } from '../../domain/ports.js';

const SEGMENT = /^wal-(\d{12})\.jsonl$/;
const LEGACY = 'spool.jsonl';

type Segment = { readonly id: number; readonly file: SpoolFile<SpoolBatch>; events: number };

export class FileSpool implements Spool {
  readonly dir: string;
  /** Closed segments, oldest first. */
  private readonly closed: Segment[] = [];
  private current: Segment;

  constructor(dir: string) {
    this.dir = dir;
    const files = listSegments(dir);
    for (const { id, path } of files) {
      const file = new SpoolFile<SpoolBatch>(path);
      if (file.isEmpty) {
        // A segment created and never written: nothing to replay.
        rmSync(path, { force: true });
        continue;
      }
      let events = 0;
      try {
        events = countEvents(file.read());
      } catch {
        // A corrupt segment: pending() reports it when the log starts.
      }
      this.closed.push({ id, file, events });
    }
    this.current = this.segment((files.at(-1)?.id ?? 0) + 1);
  }

  /** The segment appends go to now. */
  get path(): string {
    return this.current.file.path;
  }

  get isEmpty(): boolean {
    return this.closed.length === 0 && this.current.file.isEmpty;
  }

  /** Events in the spool, acknowledged and not yet released (the `warden.audit.spool.depth` gauge). */
  get depth(): number {
    return this.closed.reduce((sum, s) => sum + s.events, this.current.events);
  }

  async append(batch: SpoolBatch): Promise<void> {
    const segment = this.current;
    await segment.file.append([batch]);
    segment.events += batch.records.length;
  }

  async rotate(): Promise<number> {
    const old = this.current;
    if (old.file.isEmpty) return old.id - 1;
    this.current = this.segment(old.id + 1);
    await old.file.close();
    this.closed.push(old);
    return old.id;
  }

  async release(upTo: number): Promise<void> {
    const done = this.closed.filter((s) => s.id <= upTo);
    if (done.length === 0) return;
    for (const s of done) await unlink(s.file.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await syncDir(this.dir);
    this.closed.splice(0, done.length);
  }

  async pending(upTo = Number.MAX_SAFE_INTEGER): Promise<SpoolBatch[]> {
    const batches: SpoolBatch[] = [];
    for (const s of [...this.closed, this.current]) {
      if (s.id > upTo) break;
      const read = s.file.read();
      s.events = countEvents(read);
      batches.push(...read);
    }
    return batches;
  }

  async close(): Promise<void> {
    await this.current.file.close();
  }

  private segment(id: number): Segment {
    return { id, file: new SpoolFile<SpoolBatch>(join(this.dir, `wal-${String(id).padStart(12, '0')}.jsonl`)), events: 0 };
  }
}

function listSegments(dir: string): { id: number; path: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found = names.flatMap((name) => {
    if (name === LEGACY) return [{ id: 0, path: join(dir, name) }];
    const m = SEGMENT.exec(name);
    return m === null ? [] : [{ id: Number(m[1]), path: join(dir, name) }];
  });
  return found.sort((a, b) => a.id - b.id);
}

function countEvents(batches: readonly SpoolBatch[]): number {
  return batches.reduce((sum, batch) => sum + batch.records.length, 0);
}
