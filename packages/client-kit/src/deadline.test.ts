import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { deadline } from './deadline.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('deadline', () => {
  it('fires after ms even when garbage collections run before it (the timeout signal is not collected)', async () => {
    const signal = deadline(50, new AbortController().signal);
    for (let i = 0; i < 5; i += 1) {
      gc();
      await sleep(5);
    }
    await sleep(120);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).name).toBe('TimeoutError');
  });

  it('aborts with the caller signal first, with its reason', () => {
    const caller = new AbortController();
    const signal = deadline(60_000, caller.signal);
    caller.abort(new Error('stopped'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('stopped');
  });

  it('without other signals it is the timeout signal itself', async () => {
    const signal = deadline(10);
    await sleep(40);
    expect(signal.aborted).toBe(true);
  });
});
