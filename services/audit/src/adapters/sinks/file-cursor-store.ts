/**
 * A sink's delivery cursors (next seq per organization) in one small JSON file in the data
 * folder, replaced atomically and fsynced (writeFileDurably, @warden/spool) before `save`
 * resolves — the same durability as the spool and the rollback witness beside it.
 *
 * Why a file and not the store: the ClickHouse tables are insert-only and the server-mode
 * writer user may only INSERT; a cursor is mutable state of this process, like the spool.
 * A missing file means "from the start of every log"; an unreadable one stops start-up
 * (delivering everything again without saying so is not an option).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileDurably } from '@warden/spool';
import type { CursorStore } from '../../domain/delivery.js';

type CursorFile = { readonly v: 1; readonly sink: string; readonly cursors: Record<string, number> };

export class FileCursorStore implements CursorStore {
  constructor(
    private readonly path: string,
    private readonly sink: string,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  async load(): Promise<Map<string, number>> {
    if (!existsSync(this.path)) return new Map();
    const text = await readFile(this.path, 'utf8');
    let parsed: Partial<CursorFile>;
    try {
      parsed = JSON.parse(text) as Partial<CursorFile>;
    } catch (error) {
      throw new Error(`delivery cursor file ${this.path} is not JSON`, { cause: error });
    }
    const cursors = parsed.cursors;
    if (parsed.v !== 1 || parsed.sink !== this.sink || typeof cursors !== 'object' || cursors === null) {
      throw new Error(`delivery cursor file ${this.path} is not a v1 cursor file of sink ${this.sink}`);
    }
    const map = new Map<string, number>();
    for (const [org, seq] of Object.entries(cursors)) {
      if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`delivery cursor file ${this.path}: cursor of ${org} is not a seq`);
      map.set(org, seq);
    }
    return map;
  }

  async save(cursors: ReadonlyMap<string, number>): Promise<void> {
    const file: CursorFile = { v: 1, sink: this.sink, cursors: Object.fromEntries(cursors) };
    await writeFileDurably(this.path, JSON.stringify(file) + '\n');
  }
}
