/**
 * `aitoearn-auth connect`, the built command, against an in-process sandbox (the person is the stand-in of
 * scripts/stand-in-person.ts, which submits the callback form as a browser would) and scripted APIs for the
 * URLs the sandbox never sends.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitConsentPage } from '../scripts/stand-in-person.js';
import { type Sandbox, startSandbox } from '../src/sandbox/index.js';
import { json, startServer, statusBody, type TestServer } from './helpers/http-server.js';
import { CANARY, type Env, ndjson, start } from './helpers/run-cli.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ apiKeys: [CANARY] });
});
afterAll(() => sandbox?.close());

const connectTo = (baseUrl: string, args: string[] = [], env: Env = {}) =>
  start(['connect', 'douyin', ...args], { env: { AITOEARN_BASE_URL: baseUrl, ...env } });
const started = async (run: ReturnType<typeof start>) =>
  JSON.parse(await run.line('stdout', /"type":"started"/)) as Record<string, string>;
/** Whether anything still listens at `url`'s port. */
const probe = (url: string) =>
  new Promise<string>((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.once('connect', () => resolve(socket.destroy() && 'connected'));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });

describe.concurrent('aitoearn-auth connect', { timeout: 60_000 }, () => {
  it('--json: started with a callbackUrl the consent page posts to, polls, the result; the listener closes after', async () => {
    const run = connectTo(sandbox.url, ['--json']);
    const start = await started(run);
    expect(Object.keys(start)).toEqual(['type', 'platform', 'sessionId', 'url', 'expiresAt', 'callbackUrl']);
    expect(start.callbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}$/);
    await run.line('stdout', /"type":"poll"/);
    const visit = await visitConsentPage(start.url ?? '', 'approve');
    expect(visit.callbackForm?.action).toBe(start.callbackUrl);
    const { code, stdout } = await run.exited;
    expect(code).toBe(0);
    const lines = ndjson(stdout);
    expect(lines.at(-1)).toMatchObject({ outcome: 'completed', session: { accounts: [expect.any(Object)] } });
    expect(await probe(start.callbackUrl ?? '')).toBe('ECONNREFUSED');
  });

  it('prints the URL and the session id for the person, then the account on stdout', async () => {
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
    expect(stderr).toMatch(
      new RegExp(`^aitoearn-auth: completed after \\d+s; 1 account connected \\(session ${id}\\)$`, 'm'),
    );
    // Not a terminal: no QR code and no browser (so nothing says one could not be opened).
    expect(stderr).not.toMatch(/[█▀▄]|QR code|browser/);
  });

  it('--no-callback: no callbackUrl, the approval noticed by polling; a denial exits 1 with 15045', async () => {
    const run = connectTo(sandbox.url, ['--json', '--no-callback']);
    const start = await started(run);
    expect(start).not.toHaveProperty('callbackUrl');
    await run.line('stdout', /"type":"poll"/);
    expect((await visitConsentPage(start.url ?? '', 'approve')).callbackForm).toBeUndefined();
    expect(ndjson((await run.exited).stdout).at(-1)).toMatchObject({ outcome: 'completed' });

    const denied = connectTo(sandbox.url, ['--json']);
    const other = await started(denied);
    await denied.line('stdout', /"type":"poll"/);
    await visitConsentPage(other.url ?? '', 'deny');
    const r = await denied.exited;
    expect(r.code).toBe(1);
    expect(ndjson(r.stdout).at(-1)).toMatchObject({ outcome: 'failed', error: { errorCode: 15045 } });
    expect(await probe(other.callbackUrl ?? '')).toBe('ECONNREFUSED');
  });

  it('Ctrl-C exits 130 and closes the listener; an unsupported platform exits 5 with 15032, polling nothing', async () => {
    const run = connectTo(sandbox.url, ['--json']);
    const start = await started(run);
    await run.line('stdout', /"type":"poll"/);
    expect(await probe(start.callbackUrl ?? '')).toBe('connected');
    run.child.kill('SIGINT');
    const r = await run.exited;
    expect(r.code).toBe(130);
    expect(ndjson(r.stdout).at(-1)).toMatchObject({ outcome: 'aborted', exitCode: 130 });
    expect(await probe(start.callbackUrl ?? '')).toBe('ECONNREFUSED');

    const xhs = await start_(['connect', 'xhs', '--json'], sandbox.url);
    expect(xhs.code).toBe(5);
    expect(ndjson(xhs.stdout)).toEqual([
      expect.objectContaining({ outcome: 'api-error', error: expect.objectContaining({ code: 15032 }) }),
    ]);
  });
});

const start_ = (args: string[], baseUrl: string) =>
  start(args, { env: { AITOEARN_BASE_URL: baseUrl } }).exited;

describe.concurrent('aitoearn-auth connect with URLs the sandbox never sends', { timeout: 60_000 }, () => {
  const PNG = Buffer.from('89504e470d0a1a0a0000000d494844520000000100000001', 'hex');
  const IMAGE = `data:image/png;base64,${PNG.toString('base64')}`;

  /** A scripted API: start answers `url`; status answers pending, then completed after `pendingChecks`. */
  function api(
    url: string,
    pendingChecks = 1,
    authInstructions?: Record<string, string>,
  ): Promise<TestServer> {
    const expiresAt = new Date(Date.now() + 300_000).toISOString();
    const session = { sessionId: 'abcdefghijklmnop', requiresSelection: false, expiresAt };
    let count = 0;
    return startServer((req, res) => {
      if (!req.url?.includes('/status/'))
        return json(res, statusBody({ url, sessionId: session.sessionId, expiresAt, authInstructions }));
      count += 1;
      const done = count > pendingChecks;
      const accounts = [{ accountId: 'a1', platform: 'douyin', platformUid: 'u1', displayName: 'Zhang' }];
      return json(
        res,
        statusBody({ ...session, status: done ? 'completed' : 'pending', ...(done ? { accounts } : {}) }),
      );
    });
  }

  async function imageRun(pendingChecks: number, args: string[] = []) {
    const server = await api(IMAGE, pendingChecks);
    const run = connectTo(server.url, ['--no-callback', ...args]);
    const line = await run.line('stderr', /^Scan the QR code in \S+ with the douyin app/);
    const file = /in (\S+) with/.exec(line)?.[1] ?? '';
    expect(readFileSync(file)).toEqual(PNG);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    return { run, file, close: () => server.close() };
  }

  it.each([
    ['SIGHUP (the terminal closed)', ['SIGHUP'], [129]],
    // Two of the same signal sent at once merge in the kernel: a second, different one is what arrives.
    // Whichever the process reads first decides the exit (on a busy machine the first may finish alone).
    ['Ctrl-C followed at once by SIGTERM (a second signal)', ['SIGINT', 'SIGTERM'], [130, 143]],
  ] as const)('removes the temporary image on %s too', async (_name, signals, codes) => {
    const { run, file, close } = await imageRun(1000);
    await run.line('stderr', /^aitoearn-auth: pending/);
    for (const signal of signals) run.child.kill(signal);
    expect(codes).toContain((await run.exited).code);
    await close();
    expect(existsSync(file)).toBe(false);
  });

  it('shows the instructions in the locale LC_ALL names, cleaned of control characters', async () => {
    const server = await api('https://open.douyin.com/oauth?x=1', 1, {
      'en-US': 'Scan with Douyin\x1b[2J',
      'zh-CN': '请用抖音扫码\x1b[2J',
    });
    const { code, stderr } = await connectTo(server.url, ['--no-callback'], {
      LANG: 'en_US.UTF-8',
      LC_ALL: 'zh_CN.UTF-8',
    }).exited;
    await server.close();
    expect(code).toBe(0);
    expect(stderr).toContain('请用抖音扫码');
    expect(stderr).not.toContain('Scan with Douyin');
    expect(stderr).not.toContain('\x1b');
    expect(stderr).toContain('  https://open.douyin.com/oauth?x=1\n');
  });
});
