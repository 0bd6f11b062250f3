import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: false,
    globalSetup: ['test/setup/redis.global.ts'],
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'rules/tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary', 'lcov'],
      reportsDirectory: 'coverage',
    },
  },
});
