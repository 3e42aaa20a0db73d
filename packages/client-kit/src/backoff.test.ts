import { describe, expect, it } from 'vitest';
import { createBackoff, delay } from './backoff.js';

describe('createBackoff', () => {
  it('doubles from initialMs up to maxMs, and starts over after reset()', () => {
    const backoff = createBackoff({ initialMs: 250, maxMs: 2_000, jitter: 0 });
    expect(Array.from({ length: 6 }, () => backoff.next())).toEqual([250, 500, 1000, 2000, 2000, 2000]);
    expect(backoff.attempts).toBe(6);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(250);
  });

  it('takes up to `jitter` of each delay off, never adding to it', () => {
    const highest = createBackoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2, random: () => 0 });
    const lowest = createBackoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2, random: () => 0.999_999 });
    expect(highest.next()).toBe(1000);
    expect(lowest.next()).toBe(800);
    const real = createBackoff({ initialMs: 100, maxMs: 10_000 });
    for (let i = 0; i < 50; i++) {
      const ms = real.next();
      expect(ms).toBeGreaterThanOrEqual(Math.min(10_000, 100 * 2 ** i) * 0.8 - 1);
      expect(ms).toBeLessThanOrEqual(10_000);
    }
  });

  it('refuses settings that cannot make a backoff', () => {
    expect(() => createBackoff({ initialMs: 500, maxMs: 100 })).toThrow(RangeError);
    expect(() => createBackoff({ factor: 0.5 })).toThrow(RangeError);
    expect(() => createBackoff({ jitter: 2 })).toThrow(RangeError);
  });
});

describe('delay', () => {
  it('waits, and returns at once when its signal aborts (never rejecting)', async () => {
    let started = performance.now();
    await delay(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    const controller = new AbortController();
    started = performance.now();
    const waiting = delay(10_000, controller.signal);
    setTimeout(() => controller.abort(), 10);
    await waiting;
    expect(performance.now() - started).toBeLessThan(1_000);
    await delay(10_000, controller.signal); // already aborted
  });
});
