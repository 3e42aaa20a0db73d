/**
 * The Spool port (the write-ahead log) over fsynced append-only files of the shared
 * @warden/spool kind, in numbered segments: `wal-<12 digits>.jsonl`. A batch is a
 * header line, `{"token":"…","rows":N}`, then its N rows as the store takes them (one
 * JSON array per line, AuditStore.encodeRows): the text written here is the text the
 * store write sends, so an event is serialised once. Appends go to the newest segment
 * and resolve once fsynced; rotate() closes it and starts the next; release() deletes
 * closed segments whose batches are in the store.
 *
 * A batch cut short (the process died mid-write, so it was never acknowledged: a torn
 * last line, or a header with fewer rows after it than it announces) is left out. Lines
 * of the older format, one `{"token":"…","records":[…]}` per batch, are read too, and a
 * `spool.jsonl` left by an older version is read as segment 0.
 */
import { readdirSync, rmSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogRecord } from '@warden/audit-events';
import { SpoolFile, syncDir } from '@warden/spool';
import type { EncodedRows, Spool, SpoolBatch } from '../../domain/ports.js';

const SEGMENT = /^wal-(\d{12})\.jsonl$/;
const LEGACY = 'spool.jsonl';

type Segment = { readonly id: number; readonly file: SpoolFile<never>; events: number };

export class FileSpool implements Spool {
  readonly dir: string;
  /** Closed segments, oldest first. */
  private readonly closed: Segment[] = [];
  private current: Segment;

  constructor(dir: string) {
    this.dir = dir;
    const files = listSegments(dir);
    for (const { id, path } of files) {
      const file = new SpoolFile<never>(path);
      if (file.isEmpty) {
        // A segment created and never written: nothing to replay.
        rmSync(path, { force: true });
        continue;
      }
      let events = 0;
      try {
        events = countEvents(readBatches(file));
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

  async append(batch: { readonly token: string; readonly rows: EncodedRows }): Promise<void> {
    const segment = this.current;
    await segment.file.appendText(`${JSON.stringify({ token: batch.token, rows: batch.rows.count })}\n${batch.rows.text}`);
    segment.events += batch.rows.count;
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
      const read = readBatches(s.file);
      s.events = countEvents(read);
      batches.push(...read);
    }
    return batches;
  }

  async close(): Promise<void> {
    await this.current.file.close();
  }

  private segment(id: number): Segment {
    return { id, file: new SpoolFile<never>(join(this.dir, `wal-${String(id).padStart(12, '0')}.jsonl`)), events: 0 };
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
  return batches.reduce((sum, batch) => sum + ('rows' in batch ? batch.rows.count : batch.records.length), 0);
}

/**
 * The complete batches of a segment, in order. Throws when a line is neither a header,
 * a row nor an older-format batch (the file was damaged outside this code), except a
 * last line, which may be a write torn before torn tails were cut.
 */
function readBatches(file: SpoolFile<never>): SpoolBatch[] {
  const lines = file.readLines();
  const batches: SpoolBatch[] = [];
  let i = 0;
  const corrupt = (at: number, cause?: unknown) => new Error(`spool ${file.path} is corrupt at line ${at + 1}`, { cause });
  while (i < lines.length) {
    const line = lines[i]!;
    if (line === '') {
      i += 1;
      continue;
    }
    let header: unknown;
    try {
      header = line.startsWith('{') ? JSON.parse(line) : undefined;
    } catch (error) {
      if (i === lines.length - 1) break;
      throw corrupt(i, error);
    }
    if (!isObject(header) || typeof header.token !== 'string') {
      if (i === lines.length - 1) break;
      throw corrupt(i);
    }
    if (Array.isArray(header.records)) {
      batches.push({ token: header.token, records: header.records as LogRecord[] });
      i += 1;
      continue;
    }
    const count = header.rows;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw corrupt(i);
    let end = i + 1;
    while (end < lines.length && end - i - 1 < count && lines[end]!.startsWith('[')) end += 1;
    // Fewer rows than announced before the next header or the end: a write cut short, never acknowledged.
    if (end - i - 1 === count) batches.push({ token: header.token, rows: { text: lines.slice(i + 1, end).map((row) => `${row}\n`).join(''), count } });
    i = end;
  }
  return batches;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
