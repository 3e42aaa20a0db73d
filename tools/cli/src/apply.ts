/**
 * `warden apply FILE`: the seam where a world file leaves the CLI.
 *
 * Today the authz package's own entry (`@warden/authz/apply`) migrates the Postgres database
 * and writes the world straight to it (`--database-url`); the CLI runs it as a child process,
 * so it imports nothing of the service. Issue 13 replaces this one function with a call of the
 * admin API's ApplyWorld RPC (same arguments, same exit codes); nothing else changes.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type ApplyOptions = { readonly databaseUrl: string; readonly json: boolean };

/** Deadline of one apply: a large world on a slow database still fits. */
const APPLY_TIMEOUT_MS = 10 * 60_000;
const USAGE = 2;

/** Applies FILE and returns the exit code (0 done, 2 bad input); output goes to this process's stdout/stderr. */
export async function applyWorldFile(file: string, options: ApplyOptions): Promise<number> {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve('@warden/authz/apply'));
  } catch {
    process.stderr.write('warden apply: needs the authz service package (@warden/authz) installed beside the CLI, or start the service with --world FILE\n');
    return USAGE;
  }
  const child = spawn(process.execPath, [entry, file, ...(options.json ? ['--json'] : [])], {
    env: { ...process.env, DATABASE_URL: options.databaseUrl },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: APPLY_TIMEOUT_MS,
  });
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (signal !== null) process.stderr.write(`warden apply: stopped by ${signal}\n`);
      resolve(code ?? 4);
    });
  });
}
