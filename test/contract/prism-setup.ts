/**
 * Vitest global setup: one Prism mock of the vendored spec for the whole run, shared by the contract suites
 * through `inject('prismMockUrl')`. Teardown fails the run if the process outlives `stop()`.
 */
import { readFileSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { startPrism } from '../../scripts/prism.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:PORT`; '' when no suite of this run injects it. */
    prismMockUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // Prism costs seconds of CPU to start: a run of other files (`vitest run test/client.test.ts`) skips it.
  // A global setup is not told the run's files; the command line's filters are not public API, so without
  // them Prism starts as for a full run.
  const filters = (project.vitest as { filenamePattern?: unknown }).filenamePattern;
  const files = Array.isArray(filters) && (await project.globTestFiles(filters.map(String))).testFiles;
  if (files && !files.some((file) => readFileSync(file, 'utf8').includes("inject('prismMockUrl')"))) {
    project.provide('prismMockUrl', '');
    return undefined;
  }
  const prism = await startPrism({ mode: 'mock' });
  project.provide('prismMockUrl', prism.url);
  return async () => {
    await prism.stop();
    if (prism.child.exitCode === null && prism.child.signalCode === null)
      throw new Error(`The shared Prism mock (pid ${prism.child.pid}) is still running after stop().`);
  };
}
