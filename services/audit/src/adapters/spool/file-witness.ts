/**
 * The rollback witness: the newest checkpoint the service signed per
 * organization, kept on local disk outside ClickHouse (atomic replace, fsynced).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '@warden/spool';
import type { CheckpointWitness } from '../../domain/ports.js';

export class FileWitness implements CheckpointWitness {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private file(org: string): string {
    return join(this.dir, `${encodeURIComponent(org)}.checkpoint`);
  }

  async read(org: string): Promise<string | undefined> {
    const path = this.file(org);
    return existsSync(path) ? readFile(path, 'utf8') : undefined;
  }

  async write(org: string, note: string): Promise<void> {
    await writeFileDurably(this.file(org), note);
  }
}
