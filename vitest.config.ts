import { defineConfig } from 'vitest/config';

// Each package owns its vitest config (its own pool, setup and timeouts);
// `npm test` at the root runs all of them.
export default defineConfig({
  test: {
    projects: ['services/*/vitest.config.ts', 'sdks/*/vitest.config.ts'],
  },
});
