import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Fault and CLI suites start real servers and processes; 2-core CI machines get a bounded pool.
    maxWorkers: 2,
  },
});
