// The built command, spawned (piped, or on a pseudo-terminal through `script`); parsing and rendering are
// tested in-process in cli-render.test.ts.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it, test } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { type Sandbox, type SandboxOutcome, startSandbox } from '../src/sandbox/index.js';
import { type Handler, json, startServer, type TestServer } from './helpers/http-server.js';
import { CANARY, delay, type Env, ndjson, onTerminal, result, run, start, until } from './helpers/run-cli.js';

const WRONG_KEY = `wrong-${randomUUID()}`;
const PLATFORM = 'douyin';
let sandbox: Sandbox;
/** Fails every request with HTTP 503, as a gateway in front of a down API would. */
let down: TestServer;
/** Counts requests: bad command lines must never reach it. */
let counter: TestServer;
/** Puts control and invisible characters in every string it answers. */
let hostile: TestServer;
let tmp: string;
beforeAll(async () => {
  sandbox = await startSandbox({ apiKeys: [CANARY, 'sandbox-key'] });
  down = await startServer((_req, res) => json(res, { message: 'down' }, { status: 503 }));
  counter = await startServer((_req, res) => json(res, { code: 500, message: 'should not be called' }));
  hostile = await startServer(hostileApi);
  tmp = await mkdtemp(path.join(tmpdir(), 'aitoearn-cli-'));
});
afterAll(async () => {
  await Promise.all([sandbox?.close(), down?.close(), counter?.close(), hostile?.close()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const api = (env: Env = {}) => ({ env: { AITOEARN_BASE_URL: sandbox.url, ...env } });
const toCounter = () => api({ AITOEARN_BASE_URL: counter.url });
const toDown = () => api({ AITOEARN_BASE_URL: down.url });
const session = (outcome: SandboxOutcome) => sandbox.createSession({ platform: PLATFORM, outcome }).sessionId;
const checks = (id: string) =>
  sandbox.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${id}`)).length;
const approve = async (id: string) =>
  expect((await fetch(`${sandbox.url}/sandbox/sessions/${id}/approve`, { method: 'POST' })).status).toBe(200);
/** `wait` on a terminal `columns` wide. */
const waitOnTerminal = (outcome: SandboxOutcome, env: Env = {}, columns = 80) => {
  const sessionId = session(outcome);
  return { sessionId, term: onTerminal(['wait', PLATFORM, sessionId], api(env).env, columns) };
};
const CLEAR_LINE = '\r<ESC>[2K';
/** Every state of the live line, without colour: the text after each line clear. */
const drawn = (screen: string) => {
  const [, ...states] = screen.split(CLEAR_LINE);
  return states.flatMap((l) => l.replace(/<ESC>\[\d+m/g, '').split(/\r?\n/, 1)[0] || []);
};
const fifo = (name: string) => {
  const file = path.join(tmp, `${name}-${randomUUID()}`);
  execFileSync('mkfifo', [file]);
  return file;
};

it.concurrent('prints the version of package.json, and the help of one command on stdout with exit 0', async () => {
  const [v, help] = await Promise.all([run(['-v']), run(['connect', '--help'])]);
  expect(v).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  const usage = /^Usage: aitoearn-auth connect <platform> \[options\]\n.*--no-callback.*Exit codes:/s;
  expect(help).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(usage) });
});

it.concurrent('exits 0 and prints the accounts, one progress line per change, no colour; --json: polls, then the decoded session; --quiet: the accounts only', async () => {
  const id = session({ type: 'manual', accounts: ['Alice', 'Bob'] });
  const machine = session({ type: 'manual' });
  const proc = start(['wait', PLATFORM, id], api());
  const json = start(['wait', PLATFORM, machine, '--json'], api());
  const quiet = run(['wait', PLATFORM, session({ type: 'complete', accounts: ['Carol'] }), '-q'], api());
  await proc.line('stderr', /^aitoearn-auth: pending · /);
  await json.line('stdout', /"type":"poll"/);
  await until(() => checks(id) >= 2);
  await Promise.all([approve(id), approve(machine)]);
  const r = await proc.exited;
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^douyin Alice \(\S+\)\ndouyin Bob \(\S+\)\n$/);
  expect(r.stderr.match(/^aitoearn-auth: pending · /gm)).toHaveLength(1);
  expect(r.stderr).toMatch(/aitoearn-auth: completed after \d+s; 2 accounts connected\n$/);
  expect(r.stderr).not.toContain('\x1b[');
  const j = await json.exited;
  expect(j).toMatchObject({ code: 0, stderr: '' });
  const records = ndjson(j.stdout);
  expect(records[0]).toMatchObject({ type: 'poll', kind: 'status', status: 'pending', attempt: 1 });
  expect(records[0]?.nextDelayMs).toEqual(expect.any(Number));
  expect(records.at(-2)).toMatchObject({ type: 'poll', status: 'completed', nextDelayMs: null });
  const decoded = { sessionId: machine, status: 'completed', accounts: [{ platform: PLATFORM }] };
  expect(records.at(-1)).toMatchObject({ outcome: 'completed', exitCode: 0, session: decoded });
  const q = await quiet;
  expect(q).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^douyin Carol \(\S+\)\n$/) });
});

const GAVE_UP = 'gave up after --timeout 3 (last status: pending)';
const [failed, pending] = [{ errorCode: 15045 }, { status: 'pending' }];
const denied = { name: 'AuthFailedError', ...failed };
const expired = { name: 'AuthExpiredError', code: 15039, requestId: expect.any(String) };
const mismatch = { code: 15040, kind: 'platform-mismatch' };
const timedOut = { name: 'AuthTimeoutError', message: GAVE_UP };
const [refused, wrongKey] = [{ code: 401, kind: 'unauthorized' }, { AITOEARN_API_KEY: WRONG_KEY }];
test.concurrent.each([
  [[{ type: 'fail', ...failed }], 1, 'failed', denied, /15045.*denied consent/, failed],
  [['unknown'], 3, 'expired', expired, /15039/],
  [[{ type: 'complete' }, 'youtube'], 5, 'api-error', mismatch, /15040/],
  [[{ type: 'never' }, PLATFORM, '--timeout', '3'], 4, 'timeout', timedOut, `: ${GAVE_UP}\n`, pending],
  // A key the API refuses: never shown.
  [['unknown'], 5, 'api-error', refused, /401/, undefined, wrongKey],
] as const)(
  'wait %j ends with exit %i, outcome %s, its error in the result line and its reason on stderr',
  async ([outcome, platform = PLATFORM, ...flags], code, kind, error, reason, last?, env?) => {
    const id = outcome === 'unknown' ? `unknown-${randomUUID()}` : session(outcome);
    const r = await run(['wait', platform, id, ...flags, '--json'], { ...api(env), secrets: [WRONG_KEY] });
    expect(r.code).toBe(code);
    const ended = { exitCode: code, outcome: kind, error, ...(last && { session: last }) };
    expect(result(r.stdout)).toMatchObject(ended);
    expect(r.stderr).toMatch(reason);
  },
);

it.concurrent('exits 6 for an API down until the deadline, its 503s reported as retries', async () => {
  const r = await run(['wait', PLATFORM, 'abc', '--timeout', '2', '--json'], toDown());
  expect(r.code).toBe(6);
  const records = ndjson(r.stdout);
  const error = { name: 'AitoearnUnavailableError' };
  expect(records.at(-1)).toMatchObject({ outcome: 'unavailable', exitCode: 6, error });
  expect(records.some((p) => p.kind === 'retry' && /503/.test(String(p.warning)))).toBe(true);
});

it.concurrent('redraws one coloured live line in place; Enter checks at once; Ctrl-C exits 130', async () => {
  const { sessionId, term } = waitOnTerminal({ type: 'never' });
  // After the third check the next one is planned about 4 s later.
  await until(() => checks(sessionId) >= 3 && /next check in [34]s/.test(term.screen()));
  term.keys('\r');
  // The screen reaches this process by another road than the request: it may lag behind under load.
  await until(() => checks(sessionId) >= 4 && term.screen().includes('checking now…'));
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
  const { term } = waitOnTerminal({ type: 'select', accounts: 2 }, { NO_COLOR: '1' }, 70);
  await until(() => drawn(term.screen()).length >= 3);
  term.keys('\x03');
  expect(await term.exited).toBe(130);
  expect(term.screen()).not.toMatch(/<ESC>\[\d+m/);
  const lines = drawn(term.screen()).filter((l) => l.startsWith('pending'));
  for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(69);
  expect(lines.at(-1)).toBe('pending · choose your accounts in the browser · Enter: check now');
});

it.concurrent('exits 130 on SIGINT inside a long sleep and sends nothing more; 143 on SIGTERM with the result line', async () => {
  const id = session({ type: 'never' });
  const proc = start(['wait', PLATFORM, id], api());
  const term = start(['wait', PLATFORM, session({ type: 'never' }), '--json'], api());
  // After the third check the waiter sleeps about 4 s.
  await until(() => checks(id) >= 3);
  const sent = checks(id);
  proc.child.kill('SIGINT');
  const p = await proc.exited;
  expect(p).toMatchObject({ code: 130, signal: null, stdout: '' });
  expect(p.stderr).toMatch(/^aitoearn-auth: interrupted$/m);
  expect(checks(id)).toBe(sent);
  await term.line('stdout', /"type":"poll"/);
  term.child.kill('SIGTERM');
  const t = await term.exited;
  expect(t.code).toBe(143);
  const aborted = { outcome: 'aborted', session: { status: 'pending' } };
  expect(result(t.stdout)).toMatchObject({ ...aborted, error: { message: 'interrupted by SIGTERM' } });
});

it.concurrent('status prints a session, exits 0 whatever its status, 3 if unknown, 6 if the API is down', async () => {
  const id = session({ type: 'complete', accounts: ['Frank'] });
  const [done, pending, unknown, unreachable] = await Promise.all([
    run(['status', PLATFORM, id], api()),
    run(['status', PLATFORM, session({ type: 'never' }), '--json'], api()),
    run(['status', PLATFORM, 'no-such-session', '--json'], api()),
    run(['status', PLATFORM, 'x', '--json'], toDown()),
  ]);
  expect(done.code).toBe(0);
  const lines = `^platform: douyin\nsessionId: ${id}\nstatus: completed\n(.*\n)*`;
  expect(done.stdout).toMatch(new RegExp(`${lines}accounts\\[0\\]\\.displayName: Frank\n`));
  const ok = { outcome: 'ok', exitCode: 0, session: expect.objectContaining({ status: 'pending' }) };
  expect(ndjson(pending.stdout)).toEqual([expect.objectContaining(ok)]);
  expect([unknown.code, unreachable.code]).toEqual([3, 6]);
  const error = { name: 'AitoearnTransportError', httpStatus: 503 };
  expect(result(unreachable.stdout)).toMatchObject({ error });
}, 60_000);

it.concurrent('--api-key-file beats AITOEARN_API_KEY and drops one newline; "-" reads stdin; --base-url beats the env', async () => {
  const file = path.join(tmp, 'key');
  const [wrongKey, noKey] = [{ AITOEARN_API_KEY: WRONG_KEY }, { AITOEARN_API_KEY: undefined }];
  await writeFile(file, `${CANARY}\n`);
  const id = session({ type: 'complete' });
  const runs = await Promise.all([
    run(['status', PLATFORM, id, '--api-key-file', file], { ...api(wrongKey), secrets: [WRONG_KEY] }),
    run(['status', PLATFORM, id, '--api-key-file', '-'], { ...api(noKey), input: `${CANARY}\r\n` }),
    run(['status', PLATFORM, id, '--base-url', sandbox.url], api({ AITOEARN_BASE_URL: counter.url })),
  ]);
  for (const r of runs)
    expect(r).toMatchObject({ code: 0, stdout: expect.stringContaining('status: completed\n') });
});

it.concurrent('reads at most 16 KiB of /dev/zero or of a FIFO whose writer stays open, then refuses it (exit 2)', async () => {
  const zero = await run(['wait', PLATFORM, 's1', '--api-key-file', '/dev/zero'], toCounter());
  expect(zero.code).toBe(2);
  expect(zero.stderr).toMatch(/^aitoearn-auth: the API key file "\/dev\/zero" is over 16384 bytes$/m);
  const over = fifo('over');
  const proc = start(['status', PLATFORM, 's1', '--api-key-file', over], toCounter());
  const writer = await open(over, 'w');
  await writer.write(Buffer.alloc(16 * 1024 + 1, 'k'));
  expect((await proc.exited).code).toBe(2);
  await writer.close();
});

it.concurrent('exits 130 on the first Ctrl-C while waiting for a silent FIFO; reads a key a FIFO delivers later', async () => {
  const silent = fifo('silent');
  const proc = start(['wait', PLATFORM, 's1', '--api-key-file', silent], toCounter());
  // Opened without blocking: the FIFO shows among the process's descriptors.
  const fds = `/proc/${proc.child.pid}/fd`;
  const ino = statSync(silent).ino;
  const holds = (fd: string) => statSync(`${fds}/${fd}`, { throwIfNoEntry: false })?.ino === ino;
  await until(() => readdirSync(fds).some(holds));
  proc.child.kill('SIGINT');
  const interrupted = await proc.exited;
  expect(interrupted.code).toBe(130);
  expect(interrupted.stderr).toMatch(/^aitoearn-auth: interrupted$/m);
  const late = fifo('late');
  const reader = start(['status', PLATFORM, session({ type: 'complete' }), '--api-key-file', late], api());
  await delay(300);
  const writer = await open(late, 'w');
  await writer.write(`${CANARY}\n`);
  await writer.close();
  expect((await reader.exited).stdout).toContain('status: completed\n');
});

it.concurrent('exits 70 for a bug (an error not of ours), the stack only under AITOEARN_DEBUG=1', async () => {
  const inject = path.join(tmp, 'inject-bug.mjs');
  const get = 'const get = Headers.prototype.get; Headers.prototype.get = function (n) {';
  const fault = "if (/^date$/i.test(n)) throw new TypeError('injected fault reading the Date header');";
  await writeFile(inject, `${get} ${fault} return get.call(this, n); };`);
  const bug = (env: Env = {}) => api({ NODE_OPTIONS: `--import=${pathToFileURL(inject).href}`, ...env });
  const [r, debug] = await Promise.all([
    run(['status', PLATFORM, session({ type: 'complete' })], bug()),
    run(['wait', PLATFORM, session({ type: 'complete' }), '--json'], bug({ AITOEARN_DEBUG: '1' })),
  ]);
  expect(r).toMatchObject({ code: 70, stdout: '' });
  expect(r.stderr).toMatch(/^aitoearn-auth: bug: TypeError: injected fault reading the Date header$/m);
  expect(r.stderr).toMatch(/^This is a bug in aitoearn-auth \d+\.\d+\.\d+.*retrying will not help\.$/m);
  expect(r.stderr).not.toMatch(/^ +at /m);
  expect(debug.stderr).toMatch(/^ +at .*inject-bug\.mjs/m);
  expect(result(debug.stdout)).toMatchObject({ outcome: 'bug', exitCode: 70, error: { name: 'TypeError' } });
}, 60_000);

const EVIL = '\x1b[2J\x1b]0;pwned\x07\u009b31m\u202e\u2028\u200b';
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\p{Cf}\u2028\u2029]/u;
const hostileApi: Handler = (req, res) => {
  const id = decodeURIComponent(req.url?.split('/').pop() ?? '');
  const expiresAt = new Date(Date.now() + 60_000).toISOString();
  const data = { sessionId: id, requiresSelection: false, expiresAt, status: 'completed' };
  if (id === 'api-error') return json(res, { code: 15040, message: `no${EVIL}`, requestId: `rid${EVIL}` });
  if (id === 'weird') return json(res, { code: 0, message: 'ok', data: { ...data, status: `odd${EVIL}` } });
  if (id === 'long')
    return json(res, { code: 0, message: 'ok', data: { ...data, status: `${EVIL}${'x'.repeat(400_000)}` } });
  const accounts = [
    { accountId: `id${EVIL}`, platform: PLATFORM, platformUid: 'u', displayName: `M${EVIL}` },
  ];
  return json(res, { code: 0, message: 'ok', data: { ...data, accounts }, requestId: `rid${EVIL}` });
};

test.concurrent.each([
  [['wait', PLATFORM, 'api-error', '--json'], 5],
  [['wait', PLATFORM, 'completed'], 0],
  [['wait', PLATFORM, 'weird', '--timeout', '3'], 4],
  [['wait', PLATFORM, 'weird', '--timeout', '3', '--json'], 4],
  [['wait', PLATFORM, 'long', '--timeout', '3'], 4],
  [['status', PLATFORM, 'completed'], 0],
  [['status', PLATFORM, 'completed', '--json'], 0],
])('never prints control or invisible characters from the server: %j', async (args, code) => {
  const r = await run(args, { env: { AITOEARN_BASE_URL: hostile.url } });
  expect(r.code, r.stderr).toBe(code);
  expect(`${r.stdout}${r.stderr}`).not.toMatch(UNSAFE);
  expect(r.stdout.length + r.stderr.length).toBeLessThan(20_000);
  if (args.includes('--json'))
    for (const record of ndjson(r.stdout)) expect(JSON.stringify(record)).not.toMatch(UNSAFE);
  // Replaced visibly: a person sees that something was there.
  expect(`${r.stdout}${r.stderr}`).toMatch(/\\x1b\[2J|\\x9b/);
});

it.concurrent('keeps redrawing the live line past a status of 400,000 characters, cut to a line', async () => {
  const term = onTerminal(['wait', PLATFORM, 'long', '--timeout', '3'], { AITOEARN_BASE_URL: hostile.url });
  expect([await term.exited, term.raw().length < 40_000]).toEqual([4, true]);
});

const KEY = { AITOEARN_API_KEY: `${CANARY} x` };
const S1 = ['wait', PLATFORM, 's1'];
const error = { name: expect.any(String), message: expect.any(String) };
test.concurrent.each<[string[], RegExp, Env?]>([
  [['connect', 'douyn', '--json'], /unknown platform "douyn"; did you mean douyin\?/],
  [['wait', PLATFORM, 's1'], /no API key: set AITOEARN_API_KEY/, { AITOEARN_API_KEY: undefined }],
  [['wait', PLATFORM, 's1', '--json'], /: AITOEARN_API_KEY must be a non-empty string .*not shown/, KEY],
  [['wait', PLATFORM, 's1', '--api-key-file', '/nonexistent/k'], /cannot read the API key file.*ENOENT/],
  // The key pasted as the file's path: the message quotes the path, never the key.
  [['wait', PLATFORM, 's1', '--api-key-file', CANARY], /the API key file "\[redacted\]".*ENOENT/],
  [[...S1, '--timeout', 'abc'], /--timeout must be a positive number of seconds/, { AITOEARN_API_KEY: 'e' }],
  [[...S1, '--base-url', 'x y', '--json'], /: --base-url must be an https URL .*"x y": it is not a URL$/],
  [S1, /: AITOEARN_BASE_URL must be .*unencrypted/, { AITOEARN_BASE_URL: 'http://example.com' }],
  [['wait', PLATFORM, '..', '--json'], /sessionId.*dot segment/],
])('exits 2 for %j (%s) with one line and a usage hint, sending nothing', async (args, reason, env = {}) => {
  const r = await run(args, { env: { AITOEARN_BASE_URL: counter.url, ...env } });
  expect(r.code).toBe(2);
  const hint = `Run 'aitoearn-auth help ${args[0]}' for usage\\.`;
  expect(r.stderr).toMatch(new RegExp(`^aitoearn-auth: .*\n${hint}\n$`));
  expect(r.stderr.split('\n')[0]).toMatch(reason);
  if (!args.includes('--json')) expect(r.stdout).toBe('');
  else expect(ndjson(r.stdout)).toMatchObject([{ type: 'result', outcome: 'usage', exitCode: 2, error }]);
  expect(counter.requests).toHaveLength(0);
});

it.concurrent('serves the API at the printed URL with the printed key, logging no request without --verbose; SIGTERM: closes, exits 143', async () => {
  const proc = start(['sandbox', '--port', '0']);
  await proc.line('stdout', /^ {2}export AITOEARN_API_KEY=sandbox-key$/);
  const url = /^Sandbox listening on (\S+)$/m.exec(proc.output.stdout)?.[1] ?? '';
  const headers = { 'X-Api-Key': 'sandbox-key' };
  expect((await fetch(`${url}/api/v2/channels/accounts/auth/douyin`, { headers })).status).toBe(200);
  expect(proc.output.stderr).not.toMatch(/^(GET|POST) \//m);
  proc.child.kill('SIGTERM');
  expect((await proc.exited).code).toBe(143);
  await expect(fetch(url)).rejects.toThrow();
});

it.concurrent('--json: the ready line, --lifetime, --verbose logging each request without the key; SIGINT: the result line, 130; a busy port: 6', async () => {
  const port = new URL(sandbox.url).port;
  const busy = run(['sandbox', '--port', port, '--json']);
  const proc = start(['sandbox', '--json', '--lifetime', '2', '--verbose']);
  const ready = JSON.parse(await proc.line('stdout', /"type":"ready"/)) as { url: string };
  const url = expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(ready).toEqual({ type: 'ready', url, apiKey: 'sandbox-key' });
  const headers = { 'X-Api-Key': 'sandbox-key' };
  const res = await fetch(`${ready.url}/api/v2/channels/accounts/auth/douyin`, { headers });
  const { data } = (await res.json()) as { data: { expiresAt: string } };
  const lifetime = Date.parse(data.expiresAt) - Date.parse(res.headers.get('date') ?? '');
  expect(Math.floor(lifetime / 1000)).toBe(2);
  await fetch(`${ready.url}/api/v2/channels/accounts/auth/douyin/status/sandbox-key`, { headers });
  await proc.line('stderr', /status\/\[redacted\] 200 code=15039 \d+ms$/);
  expect(proc.output.stderr).toMatch(/^GET \/api\/v2\/channels\/accounts\/auth\/douyin 200 code=0 \d+ms$/m);
  proc.child.kill('SIGINT');
  const r = await proc.exited;
  expect([r.code, result(r.stdout)]).toMatchObject([130, { outcome: 'aborted', exitCode: 130 }]);
  const b = await busy;
  expect(b.stderr).toMatch(new RegExp(`^aitoearn-auth: Cannot listen on 127.0.0.1:${port}: .*EADDRINUSE`));
  const unavailable = { outcome: 'unavailable', exitCode: 6, error: { code: 'EADDRINUSE' } };
  expect([b.code, result(b.stdout)]).toMatchObject([6, unavailable]);
});
