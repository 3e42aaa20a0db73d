/**
 * runService in real processes (test/fixtures/run-service.mjs, against the built package):
 * a configuration error exits 2 listing every problem; a failed start exits 1; SIGTERM
 * closes and exits 0; a close that outlives the grace period (plus STOP_MARGIN_MS) is cut
 * short with exit 1; a second signal exits at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/run-service.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build first (npx turbo run build)`);
});

interface Run {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly logs: () => Array<Record<string, unknown>>;
  readonly stderr: () => string;
  waitFor(msg: string): Promise<void>;
}

function run(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [FIXTURE], { env: { PATH: process.env['PATH'], ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const lines = stdout.split('\n');
    stdout = lines.pop()!;
    for (const line of lines) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    child,
    exited,
    logs: () => logs,
    stderr: () => stderr,
    async waitFor(msg) {
      for (let i = 0; i < 400; i++) {
        if (logs.some((l) => l['msg'] === msg)) return;
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`no "${msg}" log line; logs: ${JSON.stringify(logs)}; stderr: ${stderr}`);
    },
  };
}

describe('runService', () => {
  it('a configuration error: exit 2, every problem on stderr, nothing started', async () => {
    const r = run({ FIX_CLOSE_MS: 'soon', FIX_FAIL_START: 'maybe', FIX_TYPO: '1' });
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toMatch(/^kit-fixture: invalid configuration:\n {2}- FIX_TYPO: unknown setting\n {2}- FIX_CLOSE_MS: [^\n]+\n {2}- FIX_FAIL_START: /);
    expect(r.logs()).toEqual([]);
  });

  it('a failed start: exit 1, logged', async () => {
    const r = run({ FIX_FAIL_START: 'true' });
    expect(await r.exited).toBe(1);
    expect(r.logs()).toContainEqual(expect.objectContaining({ level: 60, service: 'kit-fixture', msg: 'kit-fixture failed to start', err: expect.objectContaining({ message: 'cannot open the store' }) }));
  });

  it('SIGTERM: closes, then exit 0', async () => {
    const r = run({ FIX_CLOSE_MS: '100' });
    await r.waitFor('ready');
    expect(r.logs().find((l) => l['msg'] === 'metrics served')?.['url']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    expect(r.logs().map((l) => l['msg'])).toEqual(expect.arrayContaining(['shutting down', 'fixture closing', 'fixture closed']));
  });

  it('a close that outlives the grace period and the margin: exit 1 at the bound', async () => {
    const r = run({ FIX_CLOSE_MS: '60000', FIX_SHUTDOWN_GRACE_MS: '0' });
    await r.waitFor('ready');
    const signalled = performance.now();
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(1);
    const took = performance.now() - signalled;
    expect(took).toBeGreaterThanOrEqual(4_500); // STOP_MARGIN_MS
    expect(took).toBeLessThan(15_000);
    expect(r.logs()).toContainEqual(expect.objectContaining({ msg: 'shutdown did not finish in time; exiting', boundMs: 5_000 }));
  });

  it('a second signal exits at once', async () => {
    const r = run({ FIX_CLOSE_MS: '60000' });
    await r.waitFor('ready');
    r.child.kill('SIGINT');
    await r.waitFor('fixture closing');
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(1);
    expect(r.logs().map((l) => l['msg'])).toContain('second signal: exiting now');
  });
});
