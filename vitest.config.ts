import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Each package owns its vitest config (its own pool, setup and timeouts);
// `npm test` at the root runs all of them and ends with one plain summary line.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'services/*/vitest.config.ts', 'sdks/*/vitest.config.ts', 'tools/*/vitest.config.ts', 'deploy/vitest.config.ts', 'examples/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
    reporters: ['default', './scripts/summary-reporter.ts'],
    // Two test files at a time, even on two cores: most wait on servers and timers, not CPU
    // (the whole suite 275–306 s against ~478 s one at a time, both green twice). The console's
    // browser specs keep one at a time in a group of their own (apps/console/vitest.config.ts).
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
