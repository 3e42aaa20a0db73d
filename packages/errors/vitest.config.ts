import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'errors',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
  },
});
