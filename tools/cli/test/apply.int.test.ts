/**
 * `warden apply FILE` against a real Postgres database of its own (empty: apply migrates it),
 * through the built bin and the authz package's apply entry: applies, is idempotent, and
 * refuses bad input with exit code 2.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type TestDatabase } from '@warden/testkit';
import { ACME_FILE, CLI } from './support/paths.js';

const run = promisify(execFile);
let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await createDatabase({ prefix: 'warden_cli_' });
  dir = await mkdtemp(path.join(tmpdir(), 'warden-cli-apply-'));
});

afterAll(async () => {
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function warden(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { DATABASE_URL: _unset, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...inherited, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('warden apply', () => {
  it('migrates an empty database and applies the example world, then changes nothing the second time', async () => {
    const first = await warden(['apply', ACME_FILE, '--database-url', db.url, '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const applied = JSON.parse(first.stdout) as { revision: number; changes: number };
    expect(applied.changes).toBeGreaterThan(10);
    expect(applied.revision).toBe(1);

    const again = await warden(['apply', ACME_FILE], { DATABASE_URL: db.url });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('0 changes; revision 1\n');
  });

  it('refuses a bad world file, and a missing database URL, with exit code 2', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'organizations: [{ id: "Not An Id" }]\n');
    const refused = await warden(['apply', bad, '--database-url', db.url]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^warden apply: .*bad\.yaml/);
    const missing = await warden(['apply', ACME_FILE]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('warden apply: set --database-url or DATABASE_URL (or start the service with --world FILE)\n');
  });
});
