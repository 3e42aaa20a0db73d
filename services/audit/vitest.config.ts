import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'audit',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    setupFiles: ['test/support/cleanup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // chdb segfaults when loaded in a worker thread that exits: one forked process per test file.
    pool: 'forks',
  },
});
