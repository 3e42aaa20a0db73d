import { describe, expect, it } from 'vitest';
import { startNode, startProcess } from './process.js';

const script = (source: string) => ['-e', source];

describe('test processes', () => {
  it('waits for output, keeps stdout and stderr, and stops on SIGTERM', async () => {
    const proc = startProcess(process.execPath, script(`console.log('listening on 1234'); console.error('a warning'); setInterval(() => {}, 1000);`), { name: 'server' });
    const match = await proc.waitForOutput(/listening on (\d+)/);
    expect(match[1]).toBe('1234');
    await proc.waitFor('stderr', () => proc.stderr.includes('a warning'));
    expect(proc.stdout).toBe('listening on 1234\n');
    expect(proc.log).toContain('a warning');
    expect(proc.running).toBe(true);
    expect(await proc.stop()).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(proc.running).toBe(false);
  });

  it('kills with SIGKILL after the grace period when SIGTERM is ignored', async () => {
    const proc = startProcess(process.execPath, script(`process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000);`));
    await proc.waitForOutput(/up/);
    const sent = Date.now();
    expect(await proc.stop({ graceMs: 300 })).toMatchObject({ signal: 'SIGKILL' });
    expect(Date.now() - sent).toBeGreaterThanOrEqual(250);
  });

  it('fails a wait at once, with the output, when the process exits', async () => {
    const proc = startProcess(process.execPath, script(`console.error('bad config: PORT'); process.exit(2);`), { name: 'svc' });
    const started = Date.now();
    const error = (await proc.waitFor('ready', () => false, { timeoutMs: 20_000 }).catch((e: unknown) => e)) as Error;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.message).toMatch(/^svc exited \(code 2, signal null\)/);
    expect(error.message).toContain('bad config: PORT');
  });

  it('says what is missing when the command cannot be started', async () => {
    const proc = startProcess('warden-no-such-binary', [], { whenMissing: 'this test needs warden-no-such-binary on PATH' });
    await expect(proc.waitFor('ready', () => true)).rejects.toThrow(/^this test needs warden-no-such-binary on PATH: spawn warden-no-such-binary ENOENT/);
    expect(await proc.exited).toMatchObject({ code: null, signal: null });
  });

  it('passes the environment: inherited plus overrides, or only PATH plus the given', async () => {
    process.env['TESTKIT_INHERITED'] = 'yes';
    try {
      const inherited = startNode('-e', [`console.log(process.env.TESTKIT_INHERITED, process.env.EXTRA)`], { env: { EXTRA: 'x' } });
      expect((await inherited.exited).code).toBe(0);
      expect(inherited.stdout).toBe('yes x\n');
      const bare = startNode('-e', [`console.log(process.env.TESTKIT_INHERITED, process.env.EXTRA, typeof process.env.PATH)`], { env: { EXTRA: 'x' }, inheritEnv: false });
      expect((await bare.exited).code).toBe(0);
      expect(bare.stdout).toBe('undefined x string\n');
    } finally {
      delete process.env['TESTKIT_INHERITED'];
    }
  });
});
