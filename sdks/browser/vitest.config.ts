import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'sdk-browser',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    pool: 'forks',
  },
});
