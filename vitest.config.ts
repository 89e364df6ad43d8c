import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The longest files, longest first. On a clean clone vitest knows no timings and starts the largest files
 * first; these run long for their size (processes, real time), and started late they left one worker idle
 * for the last 10-20 s of the run.
 */
const LONG = [
  'cli',
  'spec-update',
  'bench',
  'connect-cli',
  'wait-for-auth.property',
  'cli-qr',
  'browser-connect',
];
const rank = (file: TestSpecification) => {
  const at = LONG.findIndex((name) => file.moduleId.endsWith(`/test/${name}.test.ts`));
  return at < 0 ? LONG.length : at;
};

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'mcp/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // Fault and CLI suites start real servers and processes; 2-core CI machines get a bounded pool.
    maxWorkers: 2,
    sequence: {
      sequencer: class extends BaseSequencer {
        override async sort(files: TestSpecification[]) {
          return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
        }
      },
    },
  },
});
