import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const TSX = import.meta.resolve('tsx');

export const benchDir = fileURLToPath(new URL('.', import.meta.url));

/** `node --import tsx <file> …args`, with the given extra node flags. */
export function spawnTs(
  file: string,
  args: readonly string[] = [],
  nodeFlags: readonly string[] = [],
): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, '--import', TSX, file, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

/** Reads a child's stdout as JSON lines: `next()` resolves with the next line parsed. */
export function jsonLines(child: ChildProcess): { next<T>(): Promise<T> } {
  if (!child.stdout) throw new Error('The child has no stdout pipe');
  const queue: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let exited: Error | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w.resolve(line);
    else queue.push(line);
  });
  child.once('exit', (code) => {
    exited = new Error(`The child exited (code ${code}) before it printed the expected line`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  return {
    next<T>() {
      return new Promise<string>((resolve, reject) => {
        const line = queue.shift();
        if (line !== undefined) resolve(line);
        else if (exited) reject(exited);
        else waiting.push({ resolve, reject });
      }).then((line) => JSON.parse(line) as T);
    },
  };
}

/** Resolves with the first stdout line parsed as JSON (a child's "ready" message). */
export function firstJsonLine<T>(child: ChildProcess): Promise<T> {
  return jsonLines(child).next<T>();
}

/** Ends a long-running child (closing its stdin, then a signal) and waits for it to exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs one benchmark part in a fresh process (`bench/children/part.ts`), so that parts do not share heaps,
 * JIT state or patched globals. Resolves with the JSON the part printed last.
 */
export async function runPart<T>(
  name: string,
  options: unknown,
  nodeFlags: readonly string[] = [],
): Promise<T> {
  const child = spawnTs(
    fileURLToPath(new URL('./children/part.ts', import.meta.url)),
    [name, JSON.stringify(options)],
    nodeFlags,
  );
  child.stdin?.end();
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const last = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0) throw new Error(`Benchmark part "${name}" exited with code ${code}: ${out.slice(-2000)}`);
  return JSON.parse(last) as T;
}
