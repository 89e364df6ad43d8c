/**
 * The built command on a real terminal: `script` (util-linux) gives it a pseudo-terminal, so stdin and
 * stderr are TTYs exactly as in an interactive shell. Checks the live line redrawn in place, colour and
 * NO_COLOR, Enter checking at once, and Ctrl-C arriving as a byte in raw mode.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../src/sandbox/index.js';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = path.join(ROOT, 'dist/cli/main.js');
const CANARY = `canary-${randomUUID()}`;
const CLEAR_LINE = '\r<ESC>[2K';

let sandbox: Sandbox;

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  sandbox = await startSandbox({ apiKeys: [CANARY] });
});

afterAll(() => sandbox?.close());

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await delay(20);
}

function statusRequests(id: string) {
  return sandbox.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${id}`));
}

/** Runs `aitoearn-auth wait` on a pseudo-terminal (`columns` wide); `keys` types into it. */
function onTerminal(sessionId: string, env: Record<string, string | undefined> = {}, columns = 80) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined };
  Object.assign(
    childEnv,
    { AITOEARN_API_KEY: CANARY, AITOEARN_BASE_URL: sandbox.url, AITOEARN_SITE: '' },
    env,
  );
  for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name];
  const command = `stty cols ${columns} rows 24; exec ${[process.execPath, CLI, 'wait', 'douyin', sessionId]
    .map((a) => `'${a}'`)
    .join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: childEnv });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    screen += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  return {
    keys: (text: string) => child.stdin.write(text),
    /** What the terminal received, with ESC shown as `<ESC>` so that patterns stay readable. */
    screen: () => screen.replaceAll('\x1b', '<ESC>'),
    exited,
  };
}

it('redraws one coloured live line in place; Enter checks at once; Ctrl-C exits 130', async () => {
  const { sessionId } = sandbox.createSession({ platform: 'douyin', outcome: { type: 'never' } });
  const term = onTerminal(sessionId);
  // After the third check the waiter plans the next one about 4 s later (backoff 1 s, 2 s, 4 s).
  await until(() => statusRequests(sessionId).length >= 3);
  await until(() => /next check in [34]s/.test(term.screen()));
  term.keys('\r');
  await until(() => statusRequests(sessionId).length >= 4);
  const [, , third, fourth] = statusRequests(sessionId);
  // Enter checks as soon as the 1 s floor after the last request allows, not at the planned ~4 s.
  expect((fourth?.at ?? 0) - (third?.at ?? 0)).toBeLessThan(2500);
  // The line said so at once, before the answer came.
  expect(term.screen()).toContain('checking now…');
  term.keys('\x03');
  expect(await term.exited).toBe(130);

  const screen = term.screen();
  expect(screen).toContain(`${CLEAR_LINE}<ESC>[33mpending<ESC>[0m`);
  expect(screen).toContain('Enter: check now');
  expect(screen).toMatch(/left<ESC>\[2m · <ESC>\[0mnext check in \d+s/);
  // Redrawn in place: the progress never starts a new line; only the final message ends one.
  expect(screen.split('\n')).toHaveLength(2);
  expect(screen.endsWith(`${CLEAR_LINE}aitoearn-auth: <ESC>[31minterrupted<ESC>[0m\r\n`)).toBe(true);
  expect(screen).not.toContain(CANARY);
});

it('draws no colour when NO_COLOR is set, and still exits 130 on Ctrl-C', async () => {
  const { sessionId } = sandbox.createSession({ platform: 'douyin', outcome: { type: 'never' } });
  const term = onTerminal(sessionId, { NO_COLOR: '1' });
  await until(() => term.screen().includes('pending'));
  term.keys('\x03');
  expect(await term.exited).toBe(130);
  const screen = term.screen();
  expect(screen).toContain(`${CLEAR_LINE}pending · 0s elapsed · `);
  expect(screen).not.toMatch(/<ESC>\[\d+m/);
  expect(screen).toContain('aitoearn-auth: interrupted\r\n');
  expect(screen).not.toContain(CANARY);
});

/** Every state of the live line the terminal was shown, without colour: the text after each line clear. */
function drawnLines(screen: string): string[] {
  return screen
    .split(CLEAR_LINE)
    .slice(1)
    .map((line) => line.replace(/<ESC>\[\d+m/g, '').split(/\r?\n/, 1)[0] ?? '')
    .filter(Boolean);
}

it('keeps "choose your accounts in the browser" and "Enter: check now" on a 70-column terminal', async () => {
  const { sessionId } = sandbox.createSession({
    platform: 'douyin',
    outcome: { type: 'select', accounts: 2 },
  });
  const term = onTerminal(sessionId, {}, 70);
  await until(() => term.screen().includes('choose'));
  // Let the line be redrawn a few times (every second) before stopping.
  await until(() => drawnLines(term.screen()).length >= 3);
  term.keys('\x03');
  expect(await term.exited).toBe(130);
  const lines = drawnLines(term.screen()).filter((l) => l.startsWith('pending'));
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    // One column is left free so that the line never wraps (and can be redrawn with \r).
    expect(line.length, line).toBeLessThanOrEqual(69);
    expect(line).toContain('choose your accounts in the browser');
    expect(line).toContain('Enter: check now');
    expect(line).not.toContain('…');
  }
  // The clocks went first, the least useful parts.
  expect(lines.at(-1)).toBe('pending · choose your accounts in the browser · Enter: check now');
});
