/**
 * Spawns the built `aitoearn-auth` (run `npm run build` first; `npm test` does) as users run it: piped, or
 * on a pseudo-terminal through `script` (util-linux). Every run fails its test if a key shows in the output.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { type ChildResult, collect } from './collect.js';

export const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = path.join(ROOT, 'dist/cli/main.js');
/** The key every run uses unless it says otherwise; it must never be printed. */
export const CANARY = `canary-${randomUUID()}`;

export type Env = Record<string, string | undefined>;
export interface RunOptions {
  /** Set (undefined removes) on top of a clean environment with the canary key. */
  readonly env?: Env;
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  /** More values that must not appear in the output. */
  readonly secrets?: readonly string[];
}

export function childEnv(extra: Env = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(AITOEARN_|LANG$|LC_|NO_COLOR$|FORCE_COLOR$|CI$|BROWSER$|DISPLAY$)/.test(name)) env[name] = value;
  }
  env.AITOEARN_API_KEY = CANARY;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

function noSecrets(result: ChildResult, secrets: readonly string[] = []): ChildResult {
  for (const secret of [CANARY, ...secrets]) expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
  return result;
}

/** Starts the command; `line()` resolves with the first complete line matching `pattern`. */
export function start(args: readonly string[], options: RunOptions = {}) {
  expect(existsSync(CLI), 'dist/cli/main.js is missing: run `npm run build`').toBe(true);
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: childEnv(options.env) });
  const output = collect(child);
  child.stdin.end(options.input ?? '');
  const exited = output.closed.then((r) => noSecrets(r, options.secrets));
  const line = (stream: 'stdout' | 'stderr', pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = output[stream]
          .split('\n')
          .slice(0, -1)
          .find((l) => pattern.test(l));
        if (found !== undefined) resolve(found);
      };
      check();
      child[stream].on('data', check);
      child.on('close', () =>
        reject(new Error(`exited before a line matching ${pattern}: ${output.stderr}`)),
      );
    });
  return { child, exited, line, output };
}

export const run = (args: readonly string[], options?: RunOptions) => start(args, options).exited;

/** Every stdout line as JSON; fails unless exactly one `result` line ends it. Returns the records. */
export function ndjson(stdout: string): Record<string, unknown>[] {
  expect(stdout.endsWith('\n'), stdout).toBe(true);
  const records = stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(records.filter((r) => r.type === 'result')).toHaveLength(1);
  expect(records.at(-1)?.type).toBe('result');
  return records;
}

export const result = (stdout: string) => ndjson(stdout).at(-1) as Record<string, unknown>;

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Polls `condition` every 20 ms (the test's own timeout bounds it). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await delay(20);
}

/**
 * Runs the command on a pseudo-terminal `columns` wide, so that stdin and stderr are TTYs as in an
 * interactive shell. `screen()` shows ESC as `<ESC>`; `keys` types.
 */
export function onTerminal(args: readonly string[], env: Env = {}, columns = 80) {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qfec', `stty cols ${columns} rows 50; exec ${quoted}`, '/dev/null'], {
    cwd: ROOT,
    env: childEnv(env),
  });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    screen += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  return {
    child,
    keys: (text: string) => child.stdin.write(text),
    raw: () => screen,
    screen: () => screen.replaceAll('\x1b', '<ESC>'),
    exited: exited.then((code) => {
      expect(screen).not.toContain(CANARY);
      return code;
    }),
  };
}

/**
 * A stand-in browser for `open`'s xdg-open (which runs `$BROWSER` when no desktop is found): it writes the
 * address it was handed to `opened`, or fails as a machine without a browser does.
 */
export function fakeBrowser(works = true): { env: Env; opened: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'aitoearn-browser-'));
  const opened = path.join(dir, 'opened');
  const script = path.join(dir, 'browser');
  writeFileSync(script, works ? `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n` : '#!/bin/sh\nexit 1\n');
  chmodSync(script, 0o755);
  return { env: { BROWSER: script, DISPLAY: undefined, XDG_CURRENT_DESKTOP: undefined }, opened };
}
