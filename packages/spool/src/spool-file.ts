/**
 * An fsynced append-only JSON Lines file: the one spool under the audit service
 * (batches not yet in ClickHouse) and the Node SDK's audit client (events the audit
 * service has not answered yet).
 *
 * Invariants:
 *  - append() resolves only once its lines are on disk (the file is open with O_DSYNC:
 *    each write returns once durable, as write + fdatasync; the folder is fsynced when
 *    the file is created): what a caller acknowledges after append()
 *    survives a crash.
 *  - Operations run one at a time, in call order (append, replace, clear, close), so
 *    a replace or clear never drops an append issued after it. Appends waiting behind
 *    one another are written and synced together (group commit).
 *  - Only newline-terminated lines are entries. A torn tail (a crash mid-append: that
 *    append never resolved) is ignored by read() and cut off before the next append,
 *    so it never ends up between complete lines.
 *  - replace() is atomic (temporary file, fsync, rename, folder fsync): after a crash
 *    the file holds the old or the new content, never a mix.
 *  - With `overwrite`, the file is a recycled one (see SpoolFileOptions): appends write
 *    from its start over the old bytes, and the folder is fsynced before the first append
 *    resolves. After a failed write every later append rejects: how much of it reached
 *    the disk is unknown, and writing over it could erase what a reader already saw.
 */
import { constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export type ReadOptions = {
  /**
   * Skip complete lines that are not JSON instead of throwing (the file was damaged
   * outside this code). A torn tail is always skipped.
   * @defaultValue false
   */
  readonly skipCorrupt?: boolean;
};

export type SpoolFileOptions = {
  /**
   * The file holds the bytes of an earlier life (a segment recycled by renaming it, as
   * PostgreSQL recycles its WAL segments): appends overwrite it from its start instead of
   * growing a new file, so a steady log neither allocates nor frees blocks. Freeing blocks
   * is what makes every fsync on the disk wait (on ext4 mounted with `discard`, the
   * journal commit that frees them waits for the discards). readLines() returns the old
   * lines after the new ones: the caller's format must tell where its content ends.
   * @defaultValue false
   */
  readonly overwrite?: boolean;
};

type Op =
  | { readonly kind: 'append'; readonly bytes: Uint8Array; readonly done: Settle }
  | { readonly kind: 'other'; readonly run: () => Promise<void>; readonly done: Settle };
type Settle = { resolve(): void; reject(error: unknown): void };

export class SpoolFile<T> {
  readonly path: string;
  private readonly dir: string;
  private handle: FileHandle | undefined;
  private hasContent: boolean;
  private readonly ops: Op[] = [];
  private running = false;
  /** With `overwrite`: where the next append writes, and whether the folder was fsynced since the file got its name. */
  private readonly overwrite: boolean;
  private position = 0;
  private named = false;
  /** With `overwrite`: the error of a failed write, after which appends reject. */
  private failed: unknown;

  constructor(path: string, options: SpoolFileOptions = {}) {
    this.path = path;
    this.dir = dirname(path);
    this.overwrite = options.overwrite === true;
    mkdirSync(this.dir, { recursive: true });
    this.hasContent = !this.overwrite && existsSync(path) && statSync(path).size > 0;
  }

  /** False once anything (even a torn tail) is on disk, true after clear(). */
  get isEmpty(): boolean {
    return !this.hasContent;
  }

  /**
   * Every entry in append order, parsed (not validated: the caller checks the shape).
   * Throws when a complete line before the last one is not JSON, unless `skipCorrupt`.
   */
  read(options: ReadOptions = {}): T[] {
    const lines = this.readLines();
    const lastFull = lines.findLastIndex((line) => line !== '');
    const entries: T[] = [];
    lines.forEach((line, i) => {
      if (line === '') return;
      try {
        entries.push(JSON.parse(line) as T);
      } catch (error) {
        // The last complete line may be a write torn before this code cut torn tails.
        if (i === lastFull || options.skipCorrupt === true) return;
        throw new Error(`spool ${this.path} is corrupt at line ${i + 1}`, { cause: error });
      }
    });
    return entries;
  }

  /**
   * Every complete line in append order, as written (without its newline; a torn tail is
   * left out): for a caller that writes its own lines with appendText().
   */
  readLines(): string[] {
    if (!existsSync(this.path)) return [];
    const text = readFileSync(this.path, 'utf8');
    const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n');
    lines.pop();
    return lines;
  }

  /** Appends one line per entry; resolves once they are on disk. */
  append(entries: readonly T[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    let bytes: Buffer;
    try {
      bytes = Buffer.from(lines(entries), 'utf8');
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.enqueue(bytes);
  }

  /**
   * Appends text the caller has already formatted as complete lines (each ending with a
   * newline, none empty), as a string or as its UTF-8 bytes (written as they are, so they
   * must not change until the call resolves: a caller that holds the bytes anyway spares
   * an encoding), in one write with the appends around it; resolves once it is on disk.
   * A crash mid-write may leave some of its lines complete: a caller that writes a record
   * as several lines must recognise an incomplete one when it reads.
   */
  appendText(text: string | Uint8Array): Promise<void> {
    if (text.length === 0) return Promise.resolve();
    const complete = typeof text === 'string' ? text.endsWith('\n') : text[text.length - 1] === 0x0a;
    if (!complete) return Promise.reject(new TypeError('appendText takes complete lines, each ending with a newline'));
    return this.enqueue(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  }

  private enqueue(bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.ops.push({ kind: 'append', bytes, done: { resolve, reject } });
      void this.drain();
    });
  }

  /** Atomically replaces the whole content with `entries` (compaction). */
  replace(entries: readonly T[]): Promise<void> {
    return this.exclusive(async () => {
      await this.closeHandle();
      if (entries.length === 0) {
        await this.remove();
        return;
      }
      const text = lines(entries);
      await writeFileDurably(this.path, text);
      this.position = Buffer.byteLength(text);
      this.failed = undefined;
      this.hasContent = true;
    });
  }

  /** Removes the file (every entry). */
  clear(): Promise<void> {
    return this.exclusive(async () => {
      await this.closeHandle();
      await this.remove();
    });
  }

  /** Closes the file after the operations already issued; a later append reopens it. */
  close(): Promise<void> {
    return this.exclusive(() => this.closeHandle());
  }

  private exclusive(run: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.ops.push({ kind: 'other', run, done: { resolve, reject } });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.ops.length > 0) {
        const first = this.ops.shift()!;
        if (first.kind === 'other') {
          await first.run().then(first.done.resolve, first.done.reject);
          continue;
        }
        const group: Settle[] = [first.done];
        const chunks = [first.bytes];
        while (this.ops[0]?.kind === 'append') {
          const next = this.ops.shift() as Extract<Op, { kind: 'append' }>;
          group.push(next.done);
          chunks.push(next.bytes);
        }
        try {
          await this.write(chunks.length === 1 ? first.bytes : Buffer.concat(chunks));
          for (const done of group) done.resolve();
        } catch (error) {
          for (const done of group) done.reject(error);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async write(bytes: Uint8Array): Promise<void> {
    if (this.failed !== undefined) throw new Error(`spool ${this.path}: an earlier write failed; this recycled file takes no more appends`, { cause: this.failed });
    const handle = await this.openForAppend();
    try {
      // The file is open with O_DSYNC: a write returns once its bytes are on disk, one
      // thread-pool round trip instead of a write and an fdatasync (half the latency of a
      // lone append here).
      for (let offset = 0; offset < bytes.length; ) {
        const { bytesWritten } = this.overwrite
          ? await handle.write(bytes, offset, bytes.length - offset, this.position + offset)
          : await handle.write(bytes, offset, bytes.length - offset);
        offset += bytesWritten;
        this.hasContent = true;
      }
      this.position += bytes.length;
    } catch (error) {
      // A partial line may be on disk: reopen (and cut it) before the next append; with
      // `overwrite` there is no next append (the caller moves to another file).
      if (this.overwrite) this.failed = error;
      await this.closeHandle().catch(() => undefined);
      throw error;
    }
  }

  private async openForAppend(): Promise<FileHandle> {
    if (this.handle !== undefined) return this.handle;
    // A new name (a created file, or a recycled one renamed) is on disk once the folder is fsynced.
    const newName = this.overwrite ? !this.named : !existsSync(this.path);
    const flags = constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC | (this.overwrite ? 0 : constants.O_APPEND);
    const handle = await open(this.path, flags, 0o600);
    try {
      if (newName) await syncDir(this.dir);
      else if (!this.overwrite) await cutTornTail(handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.named = true;
    this.handle = handle;
    return handle;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private async remove(): Promise<void> {
    if (existsSync(this.path)) await unlink(this.path);
    await syncDir(this.dir);
    this.hasContent = false;
    this.position = 0;
    this.named = false;
    this.failed = undefined;
  }
}

function lines(entries: readonly unknown[]): string {
  return entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
}

/** Truncates the file after its last newline (a torn tail is never an acknowledged entry). */
async function cutTornTail(handle: FileHandle): Promise<void> {
  const { size } = await handle.stat();
  if (size === 0) return;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] === 0x0a) return;
  const content = Buffer.alloc(size);
  await handle.read(content, 0, size, 0);
  await handle.truncate(content.lastIndexOf(0x0a) + 1);
  await handle.sync();
}

/** Fsyncs a folder, so a created, renamed or removed entry in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces a file atomically and durably: temporary file, fsync, rename, folder fsync. */
export async function writeFileDurably(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await syncDir(dirname(path));
}
