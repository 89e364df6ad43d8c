import type { ChildProcess } from 'node:child_process';

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What a child has printed so far (live), and `closed`, which settles once its streams closed. */
export function collect(child: ChildProcess) {
  const out = { stdout: '', stderr: '' };
  for (const name of ['stdout', 'stderr'] as const)
    child[name]?.setEncoding('utf8').on('data', (chunk: string) => (out[name] += chunk));
  const closed = new Promise<ChildResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out.stdout, stderr: out.stderr }));
  });
  return Object.assign(out, { closed }) as Readonly<typeof out> & { readonly closed: typeof closed };
}
