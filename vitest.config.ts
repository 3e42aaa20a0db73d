import { defineConfig } from 'vitest/config';

// Each package owns its vitest config (its own pool, setup and timeouts);
// `npm test` at the root runs all of them and ends with one plain summary line.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'services/*/vitest.config.ts', 'sdks/*/vitest.config.ts', 'tools/*/vitest.config.ts', 'deploy/vitest.config.ts', 'examples/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
