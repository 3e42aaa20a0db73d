import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'client-kit',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
  },
});
