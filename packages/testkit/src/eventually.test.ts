import { describe, expect, it } from 'vitest';
import { eventually } from './eventually.js';

describe('eventually', () => {
  it('returns the first settled value, after false, undefined, null and throws', async () => {
    const answers: unknown[] = [false, undefined, null, new Error('not yet'), 0, 'x'];
    let calls = 0;
    const value = await eventually(
      () => {
        const next = answers[calls++];
        if (next instanceof Error) throw next;
        return next;
      },
      { intervalMs: 1 },
    );
    expect(value).toBe(0);
    expect(calls).toBe(5);
  });

  it('times out naming what it awaited, the last error and the detail', async () => {
    const started = Date.now();
    const error = await eventually(
      () => {
        throw new Error('connection refused');
      },
      { timeoutMs: 100, intervalMs: 10, what: 'the server answers', detail: () => 'the server said: nothing' },
    ).catch((e: unknown) => e as Error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('the server answers: not within 100 ms (last error: connection refused)\nthe server said: nothing');
  });

  it('fails at once when bail says so', async () => {
    let calls = 0;
    const started = Date.now();
    await expect(
      eventually(() => (calls++, false), { timeoutMs: 5_000, intervalMs: 10, bail: () => (calls >= 3 ? 'the process exited' : undefined) }),
    ).rejects.toThrow(/^the process exited$/);
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
