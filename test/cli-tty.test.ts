// The built command on a pseudo-terminal (`script`), stdin and stderr TTYs as in an interactive shell: the
// live line, colour and NO_COLOR, Enter checking at once, Ctrl-C as a raw byte, `connect`'s QR code and browser.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Sandbox, type SandboxOutcome, startSandbox } from '../src/sandbox/index.js';
import { CANARY, fakeBrowser, onTerminal, until } from './helpers/run-cli.js';

const CLEAR_LINE = '\r<ESC>[2K';
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ apiKeys: [CANARY] });
});
afterAll(() => sandbox?.close());

const checks = (id: string) =>
  sandbox.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${id}`));
const wait = (outcome: SandboxOutcome, env = {}, columns = 80) => {
  const { sessionId } = sandbox.createSession({ platform: 'douyin', outcome });
  const term = onTerminal(['wait', 'douyin', sessionId], { AITOEARN_BASE_URL: sandbox.url, ...env }, columns);
  return { sessionId, term };
};
/** Every state of the live line, without colour: the text after each line clear. */
const drawn = (screen: string) => {
  const [, ...states] = screen.split(CLEAR_LINE);
  return states.flatMap((l) => l.replace(/<ESC>\[\d+m/g, '').split(/\r?\n/, 1)[0] || []);
};

it.concurrent('redraws one coloured live line in place; Enter checks at once; Ctrl-C exits 130', async () => {
  const { sessionId, term } = wait({ type: 'never' });
  // After the third check the next one is planned about 4 s later.
  await until(() => checks(sessionId).length >= 3 && /next check in [34]s/.test(term.screen()));
  term.keys('\r');
  await until(() => checks(sessionId).length >= 4);
  // Had the timer made the fourth check, the line would have counted down to "next check in 1s" or "0s"
  // first (it is redrawn every second); Enter made it before that.
  const checking = drawn(term.screen()).filter((l) => l.includes('checking now…'));
  expect(checking.join('\n')).toMatch(/next check in [234]s/);
  expect(checking.join('\n')).not.toMatch(/next check in [01]s/);
  term.keys('\x03');
  expect(await term.exited).toBe(130);
  const screen = term.screen();
  expect(screen).toContain(`${CLEAR_LINE}<ESC>[33mpending<ESC>[0m`);
  expect(screen).toMatch(/left<ESC>\[2m · <ESC>\[0mnext check in \d+s/);
  expect(screen.split('\n')).toHaveLength(2);
  expect(screen.endsWith(`${CLEAR_LINE}aitoearn-auth: <ESC>[31minterrupted<ESC>[0m\r\n`)).toBe(true);
});

it.concurrent('without colour under NO_COLOR, keeps "choose your accounts" and "Enter: check now" on 70 columns', async () => {
  const { term } = wait({ type: 'select', accounts: 2 }, { NO_COLOR: '1' }, 70);
  await until(() => drawn(term.screen()).length >= 3);
  term.keys('\x03');
  expect(await term.exited).toBe(130);
  expect(term.screen()).not.toMatch(/<ESC>\[\d+m/);
  const lines = drawn(term.screen()).filter((l) => l.startsWith('pending'));
  for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(69);
  expect(lines.at(-1)).toBe('pending · choose your accounts in the browser · Enter: check now');
});

it.concurrent.each([
  ['for a person: the URL, the QR code of that URL', []],
  ['with --json, by the same rule (issue 16, item 15)', ['--json']],
])('connect on a terminal opens the printed href in the browser %s', async (_name, flags) => {
  const browser = fakeBrowser();
  const env = { AITOEARN_BASE_URL: sandbox.url, ...browser.env };
  const term = onTerminal(['connect', 'douyin', '--no-callback', ...flags], env);
  await until(() => existsSync(browser.opened) && readFileSync(browser.opened, 'utf8').length > 0);
  const opened = readFileSync(browser.opened, 'utf8');
  expect(opened).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sandbox\/consent\//);
  await until(() => /pending/.test(term.screen()));
  term.keys('\x03');
  expect(await term.exited).toBe(130);
  const screen = term.raw();
  expect(screen).toContain(flags.length > 0 ? `"url":"${opened}"` : `  \x1b[1m${opened}\x1b[0m\r\n`);
  // The QR code's quiet zone, for a person only.
  expect(screen.includes('\x1b[30;107m        ')).toBe(flags.length === 0);
  expect(screen).not.toContain('no browser');
});
