import { defineConfig } from 'vitest/config';

// End-to-end specs: a real authz on real Postgres, driven through Debian's Chromium. Each spec
// changes resources no other spec reads, so their order does not matter.
export default defineConfig({
  test: {
    name: 'console',
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    pool: 'forks',
    // One authz and one Chromium for all specs (global setup); specs run one after another (2 cores).
    globalSetup: ['test/support/global-setup.ts'],
    fileParallelism: false,
    // Its own group, after the others: one worker here while the rest of the suite may use more.
    sequence: { groupOrder: 1 },
    // The specs share one process (one import of playwright-core); each has its own module state.
    isolate: false,
  },
});
