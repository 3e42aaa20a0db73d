/**
 * The README's example, as a user runs it: `node examples/flag-service/dist/main.js`
 * (authz on embedded Postgres, audit on the embedded ClickHouse engine, the flag
 * service), then the demo; its output is the audit timeline of the seed scenario.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
let dir: string;
let child: ChildProcess;
let env: NodeJS.ProcessEnv;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  if (!existsSync(path.join(DIST, 'main.js'))) throw new Error('build first (npm test does)');
  dir = await mkdtemp(path.join(tmpdir(), 'warden-example-'));
  await chmod(dir, 0o755);
  env = {
    ...process.env,
    EXAMPLE_DATA_DIR: path.join(dir, 'data'),
    EXAMPLE_LOG_LEVEL: 'warn',
    EXAMPLE_PORT: String(await freePort()),
    EXAMPLE_AUTHZ_GRPC_PORT: String(await freePort()),
    EXAMPLE_AUTHZ_HTTP_PORT: String(await freePort()),
    EXAMPLE_AUDIT_PORT: String(await freePort()),
    EXAMPLE_PG_PORT: String(await freePort()),
  };
  child = spawn(process.execPath, [path.join(DIST, 'main.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const deadline = Date.now() + 100_000;
  while (!existsSync(path.join(dir, 'data', 'endpoints.json'))) {
    if (child.exitCode !== null) throw new Error(`the example exited with ${child.exitCode}: ${errors}`);
    if (Date.now() > deadline) throw new Error(`the example did not start: ${errors}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

describe('the example flag service', () => {
  it('runs the seed scenario and shows its audit timeline', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(DIST, 'demo.js')], { env });
    const timeline = stdout.slice(stdout.indexOf('audit timeline'));
    const rows = timeline.split('\n').filter((line) => line.includes('…/production'));
    const flagRows = rows.filter((row) => row.includes('flag:checkout-v2'));
    expect(flagRows.map((row) => row.split(' | ').slice(2, 4).join(' '))).toEqual([
      'user:alex@acme.com flag.rollout_changed',
      'user:sarah@acme.com flag.rollout_changed',
      'user:sarah@acme.com flag.enabled',
    ]);
    expect(flagRows[0]).toContain('{"rollout":0} → {"rollout":25} | canary');
    expect(flagRows[1]).toContain('{"rollout":25} → {"rollout":50}');
    // sam's refused attempt changed nothing and recorded nothing.
    expect(stdout).toMatch(/sam@acme.com .* → 403 /);
    expect(timeline).not.toContain('user:sam@acme.com');
    // The grant, made through the admin API, arrives through the outbox relay.
    expect(rows.at(-1)).toMatch(/service:acme-admin \| binding\.created \| …\/production \| null → .* \| sarah approves production changes from now on/);
  });
});
