/**
 * A real crash: a child process appends to a spool and reports each append that
 * resolved; it is killed (SIGKILL) mid-stream. Every entry it reported is in the file,
 * in order, and the spool takes new appends after the crash.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpoolFile } from '../src/spool-file.js';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'warden-spool-crash-'));

// Four writers append at once (so appends are grouped); each resolved append is printed.
const CHILD = `
const { SpoolFile } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)});
const spool = new SpoolFile(process.argv[1]);
let next = 0;
async function writer() {
  for (;;) {
    const i = next++;
    await spool.append([{ i, pad: 'x'.repeat(200) }]);
    process.stdout.write(i + '\\n');
  }
}
await Promise.all([writer(), writer(), writer(), writer()]);
`;

describe('SpoolFile across a SIGKILL', () => {
  beforeAll(() => {
    // The child runs the built package: compile it first (the suite may run without a build).
    execFileSync(process.execPath, [join(root, '..', '..', 'node_modules', '@typescript', 'native', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged entry, in order', async () => {
    const path = join(dir, 'spool.jsonl');
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const acknowledged: number[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      acknowledged.push(Number(line));
      if (acknowledged.length === 500) child.kill('SIGKILL');
    }
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    const spool = new SpoolFile<{ i: number }>(path);
    const stored = spool.read().map((e) => e.i);
    expect(stored).toEqual([...stored].sort((a, b) => a - b));
    const onDisk = new Set(stored);
    for (const i of acknowledged) expect(onDisk.has(i), `entry ${i}`).toBe(true);
    await spool.append([{ i: -1 }]);
    expect(spool.read().at(-1)).toEqual({ i: -1 });
    await spool.close();
  });
});
