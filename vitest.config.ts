import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'mcp/test/**/*.test.ts'],
    // One Prism mock of the vendored spec for the whole run (the contract suites inject its URL).
    globalSetup: ['test/contract/prism-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // Fault and CLI suites start real servers and processes; 2-core CI machines get a bounded pool.
    maxWorkers: 2,
  },
});
