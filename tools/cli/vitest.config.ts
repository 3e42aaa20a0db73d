import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'cli',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // The audit test loads chdb (segfaults in a worker thread that exits): one forked process per file.
    pool: 'forks',
  },
});
