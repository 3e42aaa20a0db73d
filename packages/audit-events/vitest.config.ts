import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'audit-events',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
  },
});
