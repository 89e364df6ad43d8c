import type { ChildProcess } from 'node:child_process';

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What a child has printed so far (live getters), and `closed`, which settles once its streams closed. */
export interface Collected {
  readonly stdout: string;
  readonly stderr: string;
  readonly closed: Promise<ChildResult>;
}

export function collect(child: ChildProcess): Collected {
  const out = { stdout: '', stderr: '' };
  for (const name of ['stdout', 'stderr'] as const)
    child[name]?.setEncoding('utf8').on('data', (chunk: string) => {
      out[name] += chunk;
    });
  const closed = new Promise<ChildResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, ...out }));
  });
  return {
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    closed,
  };
}
