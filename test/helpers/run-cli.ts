/**
 * The built `aitoearn-auth` (`npm run build` first) run as users run it: piped, or on a pseudo-terminal
 * through `script` (util-linux). Every run fails its test if a key shows in the output.
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
/** The key of every run unless it says otherwise; never printed. */
export const CANARY = `canary-${randomUUID()}`;

export type Env = Record<string, string | undefined>;
/** `env` goes on top of a clean one with the canary key (undefined removes); `input` is written to stdin,
 * then closed; `secrets` must not be printed either. */
export type RunOptions = {
  readonly env?: Env;
  readonly input?: string;
  readonly secrets?: readonly string[];
};

export function childEnv(extra: Env = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!/^(AITOEARN_|LANG$|LC_|NO_COLOR$|FORCE_COLOR$|CI$|BROWSER$|DISPLAY$)/.test(name)) env[name] = value;
  env.AITOEARN_API_KEY = CANARY;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Starts the command; `line()` resolves with the first complete line matching `pattern`. */
export function start(args: readonly string[], options: RunOptions = {}) {
  expect(existsSync(CLI), 'dist/cli/main.js is missing: run `npm run build`').toBe(true);
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: childEnv(options.env) });
  const output = collect(child);
  child.stdin.end(options.input ?? '');
  const exited = output.closed.then((r: ChildResult) => {
    for (const secret of [CANARY, ...(options.secrets ?? [])])
      expect(r.stdout + r.stderr).not.toContain(secret);
    return r;
  });
  const line = (stream: 'stdout' | 'stderr', pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const complete = output[stream].split('\n').slice(0, -1);
        const found = complete.find((l) => pattern.test(l));
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

/** Every stdout line as JSON; fails unless exactly one `result` line ends it. */
export function ndjson(stdout: string): Record<string, unknown>[] {
  expect(stdout.endsWith('\n'), stdout).toBe(true);
  const lines = stdout.trimEnd().split('\n');
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(records.filter((r) => r.type === 'result')).toHaveLength(1);
  expect(records.at(-1)?.type).toBe('result');
  return records;
}

export const result = (stdout: string) => ndjson(stdout).at(-1) as Record<string, unknown>;

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Polls `condition` every 20 ms; the test's own timeout bounds it. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await delay(20);
}

/** The command on a pseudo-terminal `columns` wide, as in an interactive shell; `screen()` shows ESC as `<ESC>`. */
export function onTerminal(args: readonly string[], env: Env = {}, columns = 80) {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const command = `stty cols ${columns} rows 50; exec ${quoted}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: childEnv(env) });
  const output = collect(child);
  return {
    child,
    keys: (text: string) => child.stdin.write(text),
    raw: () => output.stdout,
    screen: () => output.stdout.replaceAll('\x1b', '<ESC>'),
    exited: output.closed.then(({ code, stdout }) => {
      expect(stdout).not.toContain(CANARY);
      return code;
    }),
  };
}

/** A `$BROWSER` for `open`'s xdg-open: writes the address it got to `opened`, or fails as no browser does. */
export function fakeBrowser(works = true): { env: Env; opened: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'aitoearn-browser-'));
  const opened = path.join(dir, 'opened');
  const script = path.join(dir, 'browser');
  writeFileSync(script, works ? `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n` : '#!/bin/sh\nexit 1\n');
  chmodSync(script, 0o755);
  return { env: { BROWSER: script, DISPLAY: undefined, XDG_CURRENT_DESKTOP: undefined }, opened };
}
