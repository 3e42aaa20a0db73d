/**
 * The Spool port (the write-ahead log) over fsynced files of the shared @warden/spool
 * kind, in numbered segments: `wal-<12 digits>.log`. A batch is a header line,
 * `{"token":"…","rows":N,"seg":<segment>,"crc":<CRC-32 of the rows>}`, then its N rows as
 * the store takes them (one JSON array per line, AuditStore.encodeRows): the bytes
 * written here are the bytes the store write sends, so an event is serialised and encoded
 * once. Appends go to the newest segment and resolve once fsynced; rotate() closes it and
 * starts the next; release() is called once a closed segment's batches are in the store.
 *
 * Released segments are recycled, as PostgreSQL recycles its WAL segments: renamed to
 * `spare-<12 digits>.log` and, at a later rotate(), to the next segment's name, then
 * written over from the start; a release does not fsync the folder. Deleting a segment
 * after every store write (5 a second) and fsyncing the folder freed blocks and forced
 * journal commits that carried the engine's freed blocks too; on this machine's ext4
 * (mounted with `discard`) each made every fsync on the disk wait (acks of 100-event
 * batches at 1,000/s, p99 over seven runs each: 20.6–727.5 ms deleting, 18.0–35.0 ms
 * recycling; docs/audit.md, "Ack latency and the disk"). A recycled file still holds its
 * earlier life after the new batches, so content ends at the first line that is not a
 * whole batch of this segment: a header naming another segment, a CRC that does not
 * match its rows (a write torn by a crash, never acknowledged), or anything else.
 *
 * Segments of earlier versions (`wal-<12 digits>.jsonl`, headers without `seg` and
 * `crc`, never recycled) are read by their own rules: a batch cut short (a torn last
 * line, or fewer rows than announced before the next header) is left out, a damaged line
 * is an error; lines of the oldest format, one `{"token":"…","records":[…]}` per batch,
 * and a `spool.jsonl` (segment 0) are read too. They are deleted once released.
 */
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { LogRecord } from '@warden/audit-events';
import { SpoolFile } from '@warden/spool';
import type { EncodedRows, Spool, SpoolBatch } from '../../domain/ports.js';

const SEGMENT = /^wal-(\d{12})\.(log|jsonl)$/;
const SPARE = /^spare-(\d{12})\.log$/;
const LEGACY = 'spool.jsonl';

export type FileSpoolOptions = {
  /**
   * Released segments kept for recycling; more are deleted. A steady log needs two (one
   * being stored while the next fills).
   * @defaultValue 4
   */
  readonly spares?: number;
  /**
   * A released segment larger than this is deleted rather than kept (one filled while the
   * store was away would hold its disk space).
   * @defaultValue 64 MiB
   */
  readonly maxSpareBytes?: number;
};

type Segment = {
  readonly id: number;
  readonly file: SpoolFile<never>;
  /** `seg`/`crc` headers, recycled once released (`.log`); else a segment of an earlier version (`.jsonl`). */
  readonly recyclable: boolean;
  events: number;
};

export class FileSpool implements Spool {
  readonly dir: string;
  /** Closed segments, oldest first. */
  private readonly closed: Segment[] = [];
  private current: Segment;
  /** Paths of released segments waiting to be recycled, oldest first. */
  private readonly spares: string[] = [];
  private readonly maxSpares: number;
  private readonly maxSpareBytes: number;

  constructor(dir: string, options: FileSpoolOptions = {}) {
    this.dir = dir;
    this.maxSpares = options.spares ?? 4;
    this.maxSpareBytes = options.maxSpareBytes ?? 64 * 1024 * 1024;
    const { segments, spares } = listFiles(dir);
    for (const { path } of spares) {
      if (this.spares.length < this.maxSpares) this.spares.push(path);
      else rmSync(path, { force: true });
    }
    for (const { id, path, recyclable } of segments) {
      const file = new SpoolFile<never>(path);
      if (file.isEmpty) {
        // A segment created and never written: nothing to replay.
        rmSync(path, { force: true });
        continue;
      }
      let batches: SpoolBatch[] | undefined;
      try {
        batches = readBatches(file, id, recyclable);
      } catch {
        // A corrupt segment: pending() reports it when the log starts.
      }
      if (recyclable && batches?.length === 0) {
        // A recycled segment never written in its new life (the process stopped first): a spare again.
        if (this.roomForSpare(statSync(path).size)) {
          renameSync(path, this.sparePath(id));
          this.spares.push(this.sparePath(id));
        } else {
          rmSync(path, { force: true });
        }
        continue;
      }
      this.closed.push({ id, file, recyclable, events: batches === undefined ? 0 : countEvents(batches) });
    }
    // Past every name, a spare's too: no line of a file's earlier lives names the new segment.
    const next = Math.max(segments.at(-1)?.id ?? 0, spares.at(-1)?.id ?? 0) + 1; // both sorted by id
    let recycled = false;
    for (let spare = this.spares.shift(); spare !== undefined; spare = this.spares.shift()) {
      try {
        renameSync(spare, this.segmentPath(next));
        recycled = true;
        break;
      } catch {
        // Gone or unreadable: the next spare, else a new file.
      }
    }
    this.current = this.segment(next, recycled);
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
    const { bytes, count } = batch.rows;
    try {
      const header = Buffer.from(`${JSON.stringify({ token: batch.token, rows: count, seg: segment.id, crc: crc32(bytes) })}\n`, 'utf8');
      await segment.file.appendText(Buffer.concat([header, bytes]));
    } catch (error) {
      // Some or all of the group may be on disk, and the state is re-read from the spool
      // after a failed write: what is there must stay. The next group goes to a new
      // segment instead of over it.
      if (this.current === segment) await this.next().catch(() => undefined);
      throw error;
    }
    segment.events += count;
  }

  async rotate(): Promise<number> {
    const old = this.current;
    if (old.file.isEmpty) return old.id - 1;
    await this.next();
    return old.id;
  }

  async release(upTo: number): Promise<void> {
    const done = this.closed.filter((s) => s.id <= upTo);
    if (done.length === 0) return;
    for (const s of done) {
      const size = await fileSize(s.file.path);
      if (size === undefined) continue;
      if (s.recyclable && this.roomForSpare(size)) {
        const spare = this.sparePath(s.id);
        await rename(s.file.path, spare);
        this.spares.push(spare);
      } else {
        await unlink(s.file.path);
      }
    }
    // No folder fsync: a rename or deletion that a crash undoes leaves a stored segment
    // under its name, and the replay at the next start skips what the store has. That
    // fsync, a journal commit on every store write, carried the engine's freed blocks with
    // it and made every fsync on the disk wait (docs/audit.md, "Ack latency and the disk").
    this.closed.splice(0, done.length);
  }

  async pending(upTo = Number.MAX_SAFE_INTEGER): Promise<SpoolBatch[]> {
    const batches: SpoolBatch[] = [];
    for (const s of [...this.closed, this.current]) {
      if (s.id > upTo) break;
      const read = readBatches(s.file, s.id, s.recyclable);
      s.events = countEvents(read);
      batches.push(...read);
    }
    return batches;
  }

  async close(): Promise<void> {
    await this.current.file.close();
  }

  /** Closes the newest segment and starts the next, in a spare when there is one. */
  private async next(): Promise<void> {
    const old = this.current;
    const id = old.id + 1;
    // A spare takes the new name now; the folder is fsynced before the first append to it resolves.
    let recycled = false;
    for (let spare = this.spares.shift(); spare !== undefined; spare = this.spares.shift()) {
      recycled = await rename(spare, this.segmentPath(id)).then(
        () => true,
        () => false, // gone or unreadable: the next spare, else a new file
      );
      if (recycled) break;
    }
    this.current = this.segment(id, recycled);
    this.closed.push(old);
    await old.file.close();
  }

  /** Whether a released file of `size` bytes is kept as a spare (else it is deleted). */
  private roomForSpare(size: number): boolean {
    return this.spares.length < this.maxSpares && size <= this.maxSpareBytes;
  }

  private sparePath(id: number): string {
    return join(this.dir, `spare-${String(id).padStart(12, '0')}.log`);
  }

  private segmentPath(id: number): string {
    return join(this.dir, `wal-${String(id).padStart(12, '0')}.log`);
  }

  /** Segment `id`, in a new file or (`recycled`) in a spare already renamed to its name. */
  private segment(id: number, recycled: boolean): Segment {
    return { id, file: new SpoolFile<never>(this.segmentPath(id), { overwrite: recycled }), recyclable: true, events: 0 };
  }
}

type Found = { readonly id: number; readonly path: string };

function listFiles(dir: string): { segments: (Found & { readonly recyclable: boolean })[]; spares: Found[] } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { segments: [], spares: [] };
  }
  const segments = names.flatMap((name) => {
    if (name === LEGACY) return [{ id: 0, path: join(dir, name), recyclable: false }];
    const m = SEGMENT.exec(name);
    return m === null ? [] : [{ id: Number(m[1]), path: join(dir, name), recyclable: m[2] === 'log' }];
  });
  const spares = names.flatMap((name) => {
    const m = SPARE.exec(name);
    return m === null ? [] : [{ id: Number(m[1]), path: join(dir, name) }];
  });
  spares.sort((a, b) => a.id - b.id);
  return { segments: segments.sort((a, b) => a.id - b.id), spares };
}

/** The size of a file, or undefined when it is gone (a crash after its release). */
async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function countEvents(batches: readonly SpoolBatch[]): number {
  return batches.reduce((sum, batch) => sum + ('rows' in batch ? batch.rows.count : batch.records.length), 0);
}

function readBatches(file: SpoolFile<never>, id: number, recyclable: boolean): SpoolBatch[] {
  return recyclable ? readSegment(file.readLines(), id) : readOlderSegment(file);
}

/**
 * The batches of a `.log` segment: whole batches of segment `id` from its start, up to
 * the first line that is not one (the end of what this life of the file holds).
 */
function readSegment(lines: readonly string[], id: number): SpoolBatch[] {
  const batches: SpoolBatch[] = [];
  let i = 0;
  for (let line = lines[0]; line !== undefined; line = lines[i]) {
    let header: unknown;
    try {
      header = JSON.parse(line);
    } catch {
      break;
    }
    if (!isObject(header) || header.seg !== id || typeof header.token !== 'string' || typeof header.crc !== 'number') break;
    const count = header.rows;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0 || i + count >= lines.length) break;
    let text = '';
    for (const row of lines.slice(i + 1, i + 1 + count)) text += `${row}\n`;
    const bytes = Buffer.from(text, 'utf8');
    if (crc32(bytes) !== header.crc) break;
    batches.push({ token: header.token, rows: { bytes, count } });
    i += count + 1;
  }
  return batches;
}

/**
 * The complete batches of a segment of an earlier version, in order. Throws when a line
 * is neither a header, a row nor an older-format batch (the file was damaged outside this
 * code), except a last line, which may be a write torn before torn tails were cut.
 */
function readOlderSegment(file: SpoolFile<never>): SpoolBatch[] {
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
    if (end - i - 1 === count) batches.push({ token: header.token, rows: { bytes: Buffer.from(lines.slice(i + 1, end).map((row) => `${row}\n`).join(''), 'utf8'), count } });
    i = end;
  }
  return batches;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
