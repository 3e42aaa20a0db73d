/**
 * A deadline as an AbortSignal: aborts after `ms`, or when any of `signals` aborts.
 *
 * Why not plain `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: Node (through 20.x
 * and later, nodejs/node#57736, fix proposed in #57867) holds the sources of an `any()`
 * signal weakly and the timer of `AbortSignal.timeout()` holds its signal weakly, so when
 * nothing else references the timeout signal a garbage collection can take it before it
 * fires, and the combined signal then never aborts: a call with that "deadline" can hang
 * for good. Seen here: a SIEM delivery's 300 ms deadline never fired once allocation
 * rates grew. The timeout signal is kept reachable from the combined one until then.
 */
const keepAlive = new WeakMap<AbortSignal, AbortSignal>();

export function deadline(ms: number, ...signals: readonly (AbortSignal | undefined)[]): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  const sources = signals.filter((s): s is AbortSignal => s !== undefined);
  if (sources.length === 0) return timeout;
  const combined = AbortSignal.any([...sources, timeout]);
  keepAlive.set(combined, timeout);
  return combined;
}
