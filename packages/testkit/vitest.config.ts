import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'testkit',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
