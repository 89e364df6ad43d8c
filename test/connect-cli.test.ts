// The built `connect` against a sandbox (the person: scripts/stand-in-person.ts) and scripted APIs, piped or
// on a pseudo-terminal (`script`).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { visitConsentPage } from '../scripts/stand-in-person.js';
import { type Sandbox, startSandbox } from '../src/sandbox/index.js';
import { json, startServer, statusBody } from './helpers/http-server.js';
import { CANARY, type Env, fakeBrowser, ndjson, onTerminal, start, until } from './helpers/run-cli.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ apiKeys: [CANARY] });
});
afterAll(() => sandbox?.close());

const connectTo = (baseUrl: string, args: string[] = [], env: Env = {}, platform = 'douyin') =>
  start(['connect', platform, ...args], { env: { AITOEARN_BASE_URL: baseUrl, ...env } });
async function started(run: ReturnType<typeof start>) {
  const line = JSON.parse(await run.line('stdout', /"type":"started"/)) as Record<string, string>;
  await run.line('stdout', /"type":"poll"/);
  return line;
}
const probe = (url = '') =>
  new Promise<string>((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.once('connect', () => resolve(socket.destroy() && 'connected'));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });

it.concurrent('--json: started with a callbackUrl the consent page posts to, polls, the result; the listener closes after', async () => {
  const run = connectTo(sandbox.url, ['--json']);
  const start = await started(run);
  expect(Object.keys(start)).toEqual(['type', 'platform', 'sessionId', 'url', 'expiresAt', 'callbackUrl']);
  expect(start.callbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}$/);
  expect((await visitConsentPage(start.url ?? '', 'approve')).callbackForm?.action).toBe(start.callbackUrl);
  const { code, stdout } = await run.exited;
  expect(code).toBe(0);
  expect(ndjson(stdout).at(-1)).toMatchObject({ outcome: 'completed', session: { accounts: [{}] } });
  expect(await probe(start.callbackUrl)).toBe('ECONNREFUSED');
});

it.concurrent('prints the URL and the session id for the person, then the account on stdout', async () => {
  // Polling alone: a scheduled check that sees the approval first closes the listener before the form's
  // POST arrives (issue 16, item 9, the waiter's part), and the stand-in person would see a refusal.
  const run = connectTo(sandbox.url, ['--no-callback']);
  const url = await run.line('stderr', /^\s+http:\/\/127\.0\.0\.1:\d+\/\S+$/);
  await run.line('stderr', /^aitoearn-auth: pending/);
  await visitConsentPage(url.trim(), 'approve');
  const { code, stdout, stderr } = await run.exited;
  expect(code).toBe(0);
  expect(stdout).toMatch(/^douyin Sandbox account 1 \(\S+\)\n$/);
  const id = /^Session (\S+) \(to wait on it later: aitoearn-auth wait douyin \1\)$/m.exec(stderr)?.[1];
  const done = `^aitoearn-auth: completed after \\d+s; 1 account connected \\(session ${id}\\)$`;
  expect(stderr).toMatch(new RegExp(done, 'm'));
  // Not a terminal: no QR code, no browser.
  expect(stderr).not.toMatch(/[█▀▄]|QR code|browser/);
});

it.concurrent('--no-callback: no callbackUrl, the approval noticed by polling; a denial exits 1 with 15045', async () => {
  const run = connectTo(sandbox.url, ['--json', '--no-callback']);
  const denied = connectTo(sandbox.url, ['--json']);
  const [start, other] = await Promise.all([started(run), started(denied)]);
  expect(start).not.toHaveProperty('callbackUrl');
  expect((await visitConsentPage(start.url ?? '', 'approve')).callbackForm).toBeUndefined();
  expect(ndjson((await run.exited).stdout).at(-1)).toMatchObject({ outcome: 'completed' });
  await visitConsentPage(other.url ?? '', 'deny');
  const r = await denied.exited;
  expect(r.code).toBe(1);
  expect(ndjson(r.stdout).at(-1)).toMatchObject({ outcome: 'failed', error: { errorCode: 15045 } });
  expect(await probe(other.callbackUrl)).toBe('ECONNREFUSED');
});

it.concurrent('Ctrl-C exits 130 and closes the listener; an unsupported platform exits 5 with 15032, polling nothing', async () => {
  const [run, xhs] = [connectTo(sandbox.url, ['--json']), connectTo(sandbox.url, ['--json'], {}, 'xhs')];
  const { callbackUrl } = await started(run);
  expect(await probe(callbackUrl)).toBe('connected');
  run.child.kill('SIGINT');
  const r = await run.exited;
  expect([r.code, ndjson(r.stdout).at(-1)]).toMatchObject([130, { outcome: 'aborted', exitCode: 130 }]);
  expect(await probe(callbackUrl)).toBe('ECONNREFUSED');
  const x = await xhs.exited;
  expect([x.code, ndjson(x.stdout)]).toMatchObject([5, [{ outcome: 'api-error', error: { code: 15032 } }]]);
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

const PNG = Buffer.from('89504e470d0a1a0a0000000d494844520000000100000001', 'hex');

/** A scripted API: start answers `url`; status answers pending, then completed after `pendingChecks`. */
function api(url: string, pendingChecks: number, authInstructions?: Record<string, string>) {
  const expiresAt = new Date(Date.now() + 300_000).toISOString();
  const session = { sessionId: 'abcdefghijklmnop', requiresSelection: false, expiresAt };
  const accounts = [{ accountId: 'a1', platform: 'douyin', platformUid: 'u1', displayName: 'Zhang' }];
  let count = 0;
  return startServer((req, res) => {
    if (!req.url?.includes('/status/')) return json(res, statusBody({ ...session, url, authInstructions }));
    const done = ++count > pendingChecks;
    const status = done ? 'completed' : 'pending';
    return json(res, statusBody({ ...session, status, ...(done && { accounts }) }));
  });
}

it.concurrent.each<[string, NodeJS.Signals[], number[]]>([
  ['SIGHUP (the terminal closed)', ['SIGHUP'], [129]],
  // Two of the same signal sent at once merge in the kernel: a second, different one is what arrives.
  // Whichever the process reads first decides the exit (on a busy machine the first may finish alone).
  ['Ctrl-C followed at once by SIGTERM (a second signal)', ['SIGINT', 'SIGTERM'], [130, 143]],
])('writes a data:image URL to a private file, and removes it on %s too', async (_name, signals, codes) => {
  const server = await api(`data:image/png;base64,${PNG.toString('base64')}`, 1000);
  const run = connectTo(server.url, ['--no-callback']);
  const line = await run.line('stderr', /^Scan the QR code in \S+ with the douyin app/);
  const file = /in (\S+) with/.exec(line)?.[1] ?? '';
  expect(readFileSync(file)).toEqual(PNG);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  await run.line('stderr', /^aitoearn-auth: pending/);
  for (const signal of signals) run.child.kill(signal);
  expect(codes).toContain((await run.exited).code);
  await server.close();
  expect(existsSync(file)).toBe(false);
});

it.concurrent('shows the instructions in the locale LC_ALL names, cleaned of control characters', async () => {
  const instructions = { 'en-US': 'Scan with Douyin\x1b[2J', 'zh-CN': '请用抖音扫码\x1b[2J' };
  const server = await api('https://open.douyin.com/oauth?x=1', 1, instructions);
  const env = { LANG: 'en_US.UTF-8', LC_ALL: 'zh_CN.UTF-8' };
  const { code, stderr } = await connectTo(server.url, ['--no-callback'], env).exited;
  await server.close();
  expect(code).toBe(0);
  expect(stderr).toContain('  https://open.douyin.com/oauth?x=1\n  请用抖音扫码[2J\n');
  expect(['Scan with Douyin', '\x1b'].filter((text) => stderr.includes(text))).toEqual([]);
});
