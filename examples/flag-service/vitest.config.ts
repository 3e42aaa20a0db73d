import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'example',
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
