/**
 * Vitest global setup: one Prism mock of the vendored spec for the whole run, shared by the contract
 * suites through `inject('prismMockUrl')`. Teardown fails the run if the process outlives `stop()`.
 */
import { readFileSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { startPrism } from '../../scripts/prism.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:PORT` of the shared Prism mock (static examples); '' when no contract file runs. */
    prismMockUrl: string;
  }
}

/**
 * Whether this run includes a suite that injects the mock's URL. Prism costs seconds of CPU to start, so a
 * run of other files (`vitest run test/client.test.ts test/contract/proxy.test.ts`) skips it. A global setup
 * is not told the run's files; it reads the command line's file filters (not public API: without them, Prism
 * starts as for a full run).
 */
async function runsMockSuites(project: TestProject): Promise<boolean> {
  const filters = (project.vitest as { filenamePattern?: unknown }).filenamePattern;
  if (!Array.isArray(filters) || filters.length === 0) return true;
  const { testFiles } = await project.globTestFiles(filters.map(String));
  return testFiles.some((file) => readFileSync(file, 'utf8').includes("inject('prismMockUrl')"));
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!(await runsMockSuites(project))) {
    project.provide('prismMockUrl', '');
    return undefined;
  }
  const prism = await startPrism({ mode: 'mock' });
  project.provide('prismMockUrl', prism.url);
  return async () => {
    await prism.stop();
    const { exitCode, signalCode } = prism.child;
    if (exitCode === null && signalCode === null) {
      throw new Error(`The shared Prism mock (pid ${prism.child.pid}) is still running after stop().`);
    }
  };
}
