import { defineConfig } from 'vitest/config';

// End-to-end specs: a real authz on real Postgres, driven through Debian's Chromium.
export default defineConfig({
  test: {
    name: 'console',
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    pool: 'forks',
  },
});
