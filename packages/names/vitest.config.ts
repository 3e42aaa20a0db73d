import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'names',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
  },
});
