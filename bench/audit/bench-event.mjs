/**
 * The audit benchmarks' event (run.mjs, events-micro.mjs): a flag rollout change by one of
 * 97 users on one of 50 flags, signed by producer `bench` with key `b1`. One home for
 * its shape, so both benchmarks measure the same event.
 */
import { v7 as uuidv7 } from 'uuid';

export const BENCH_RESOURCES = Array.from({ length: 50 }, (_, i) => `org:bench/project:p${i % 5}/env:${i % 2 ? 'production' : 'staging'}/flag:f${i}`);

/** Event number `i`, occurred at `atMs`; its id a UUIDv7 minted at `mintedMs` (default: then too). */
export function benchEvent(i, atMs, mintedMs = atMs) {
  return {
    id: uuidv7({ msecs: mintedMs }),
    occurredAt: new Date(atMs).toISOString(),
    actor: { type: 'user', id: `user${i % 97}@bench.io` },
    action: 'flag.rollout_changed',
    resource: BENCH_RESOURCES[i % BENCH_RESOURCES.length],
    before: { rollout: i % 100 },
    after: { rollout: (i + 1) % 100 },
    reason: 'benchmark',
    request: { traceId: `t-${i}` },
    producer: 'bench',
    keyId: 'b1',
  };
}
