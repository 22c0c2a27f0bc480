import { defineConfig } from 'vitest/config';

/** End-to-end UI tests: browser mode driven in Debian's Chromium (npm run test:e2e builds first). */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default'],
  },
});
