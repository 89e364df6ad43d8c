import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'mcp/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // Fault and CLI suites start real servers and processes; 2-core CI machines get a bounded pool.
    maxWorkers: 2,
  },
});
