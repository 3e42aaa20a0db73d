/**
 * The witness's memory: per log origin, the latest checkpoint it cosigned (size, root and
 * the note as served to monitors), one JSON file per origin named by the hex SHA-256 of
 * the origin, replaced atomically and fsynced before a cosignature is returned
 * (tlog-witness: "The witness MUST persist the new checkpoint before responding").
 *
 * Check-and-update is atomic per origin: `update` runs its callback under a per-origin
 * lock, so two concurrent requests cannot both pass the old-size check (the race the
 * spec describes). One process per state directory: a lock file holding the pid refuses
 * a second live process.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '@warden/spool';
import { originHash } from '@warden/audit-events';

export type LogState = { readonly origin: string; readonly size: number; readonly root: Buffer; readonly note: string };


function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class WitnessState {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly lockFile: string;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.lockFile = join(dir, 'LOCK');
    if (existsSync(this.lockFile)) {
      const pid = Number(readFileSync(this.lockFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) throw new Error(`${dir} is in use by process ${pid}: one witness process per state directory`);
    }
    writeFileSync(this.lockFile, `${process.pid}\n`);
  }

  private file(hash: string): string {
    return join(this.dir, `${hash}.json`);
  }

  /** The state of a log by the hex SHA-256 of its origin. */
  async readByHash(hash: string): Promise<LogState | undefined> {
    if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
    const path = this.file(hash);
    if (!existsSync(path)) return undefined;
    const json = JSON.parse(await readFile(path, 'utf8')) as { origin: string; size: number; root: string; note: string };
    return { origin: json.origin, size: json.size, root: Buffer.from(json.root, 'base64'), note: json.note };
  }

  read(origin: string): Promise<LogState | undefined> {
    return this.readByHash(originHash(origin));
  }

  /**
   * Runs `decide` with the current state under the origin's lock; when it returns a new
   * state, that state is on disk (fsynced) before `update` resolves.
   */
  async update<T>(origin: string, decide: (current: LogState | undefined) => { next?: LogState; result: T }): Promise<T> {
    const previous = this.locks.get(origin) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(async () => {
      const { next, result } = decide(await this.read(origin));
      if (next !== undefined) {
        await writeFileDurably(this.file(originHash(origin)), JSON.stringify({ origin: next.origin, size: next.size, root: next.root.toString('base64'), note: next.note }));
      }
      return result;
    });
    this.locks.set(origin, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(origin) === run) this.locks.delete(origin);
    }
  }

  close(): void {
    try {
      if (readFileSync(this.lockFile, 'utf8').trim() === String(process.pid)) unlinkSync(this.lockFile);
    } catch {
      // already gone
    }
  }
}
