/**
 * One backoff for every retry loop (the authz outbox relay, the audit service's spool
 * replay, the SDK's audit client and Watch reconnects): exponential from `initialMs` to
 * `maxMs`, with jitter so many clients that failed together do not retry together.
 *
 * Invariant: every delay is within [initialMs × (1 − jitter), maxMs]; `reset()` after a
 * success makes the next delay `initialMs` (less its jitter) again.
 */

export interface BackoffOptions {
  /** The first delay, in milliseconds. @defaultValue 100 */
  readonly initialMs?: number;
  /** The longest delay, in milliseconds. @defaultValue 10000 */
  readonly maxMs?: number;
  /** Each delay is the previous one times this. @defaultValue 2 */
  readonly factor?: number;
  /** Up to this fraction of a delay is taken off at random (0: none). @defaultValue 0.2 */
  readonly jitter?: number;
  /** A number in [0, 1) (tests pass their own). @defaultValue Math.random */
  readonly random?: () => number;
}

export interface Backoff {
  /** The delay before the next attempt, in milliseconds; each call grows the one after. */
  next(): number;
  /** After a success: the next delay starts again from `initialMs`. */
  reset(): void;
  /** Failed attempts since the last reset. */
  readonly attempts: number;
}

export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initialMs = options.initialMs ?? 100;
  const maxMs = options.maxMs ?? 10_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.2;
  const random = options.random ?? Math.random;
  if (!(initialMs >= 0) || !(maxMs >= initialMs) || !(factor >= 1) || !(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`backoff: need 0 ≤ initialMs ≤ maxMs, factor ≥ 1 and jitter in [0, 1] (got ${initialMs}, ${maxMs}, ${factor}, ${jitter})`);
  }
  let attempts = 0;
  return {
    next() {
      const base = Math.min(maxMs, initialMs * factor ** attempts);
      attempts++;
      return Math.round(base * (1 - jitter * random()));
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}

/** Resolves after `ms`, or as soon as `signal` aborts (it never rejects: a stopping loop just looks at its signal). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
