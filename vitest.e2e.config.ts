import { defineConfig } from 'vitest/config';

/**
 * End-to-end tests against real Apache Flink (scripts/flink-local): `npm run test:e2e`. Versions
 * from FLINK_E2E_VERSIONS (default "1.20.3,2.3.0"), one after the other.
 */
export default defineConfig({
  test: {
    globals: false,
    globalSetup: ['test/setup/flink.global.ts'],
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 10 * 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
