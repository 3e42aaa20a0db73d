/**
 * Polling until a condition holds, with a deadline. The condition is a function: it is
 * "not yet" while it throws or returns false, null or undefined, and settled with the
 * first other value, which `eventually` returns. A timeout names what was awaited, the
 * last error thrown, and any detail the caller adds (a process's output, a log).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** How long to keep trying. @defaultValue 5000 */
  readonly timeoutMs?: number;
  /** Pause between attempts. @defaultValue 20 */
  readonly intervalMs?: number;
  /** What is awaited, for the timeout's message. @defaultValue 'the condition' */
  readonly what?: string;
  /** More for the timeout's message (called once, on timeout). */
  readonly detail?: () => string | Promise<string>;
  /** Called before each attempt: a message fails at once (e.g. the process being waited for exited). */
  readonly bail?: () => string | undefined;
}

/** What a settled condition returns: anything but the "not yet" values. */
export type Settled<T> = Exclude<T, false | null | undefined>;

function settled<T>(value: T): value is Settled<T> {
  return value !== false && value !== null && value !== undefined;
}

export async function eventually<T>(condition: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<Settled<T>> {
  const { timeoutMs = 5_000, intervalMs = 20, what = 'the condition', detail, bail } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const stop = bail?.();
    if (stop !== undefined) throw new Error(stop);
    try {
      const value = await condition();
      if (settled(value)) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const cause = last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : String(last)})`;
      const more = detail === undefined ? '' : `\n${await Promise.resolve(detail()).catch((error: unknown) => `(no detail: ${String(error)})`)}`;
      throw new Error(`${what}: not within ${timeoutMs} ms${cause}${more}`, last === undefined ? undefined : { cause: last });
    }
    await sleep(intervalMs);
  }
}
