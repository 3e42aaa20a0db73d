/**
 * Temporary folders of one test file (one forked process), removed after its
 * tests by test/support/cleanup.ts (a vitest setup file).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(tmpdir(), `warden-audit-test-${process.pid}`);

export function tempDir(prefix: string): string {
  mkdirSync(root, { recursive: true });
  return mkdtempSync(join(root, `${prefix}-`));
}

export function removeTempDirs(): void {
  rmSync(root, { recursive: true, force: true });
}
