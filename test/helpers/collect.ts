import type { ChildProcess } from 'node:child_process';

/** How a spawned process ended, with everything it printed. */
export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What a spawned process has printed so far (live), and its end. */
export interface Collected {
  readonly stdout: string;
  readonly stderr: string;
  readonly closed: Promise<ChildResult>;
}

/** Collects a child's stdout and stderr as text; `closed` settles when its streams have closed. */
export function collect(child: ChildProcess): Collected {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const closed = new Promise<ChildResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    closed,
  };
}
