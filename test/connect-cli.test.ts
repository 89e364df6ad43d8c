/**
 * `aitoearn-auth connect`, the real built command, against an in-process sandbox (and, for the URL kinds
 * the sandbox never sends, a scripted node:http API). The person is the stand-in of
 * scripts/stand-in-person.ts: it opens the consent page over HTTP and submits the callback form as a
 * browser would.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitConsentPage } from '../scripts/stand-in-person.js';
import { type Sandbox, startSandbox } from '../src/sandbox/index.js';
import { collect } from './helpers/collect.js';
import { json, startServer, statusBody } from './helpers/http-server.js';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = path.join(ROOT, 'dist/cli/main.js');
const CANARY = `canary-${randomUUID()}`;

let sandbox: Sandbox;

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  sandbox = await startSandbox({ apiKeys: [CANARY] });
});
afterAll(() => sandbox?.close());

type Env = Record<string, string | undefined>;

function childEnv(baseUrl: string, extra: Env = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(AITOEARN_|LANG$|LC_|NO_COLOR$|FORCE_COLOR$)/.test(name)) env[name] = value;
  }
  Object.assign(env, { AITOEARN_API_KEY: CANARY, AITOEARN_BASE_URL: baseUrl });
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Spawns the command; `line()` waits for a complete stdout/stderr line matching a pattern. */
function start(args: readonly string[], options: { env?: Env; baseUrl?: string } = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: childEnv(options.baseUrl ?? sandbox.url, options.env),
  });
  const output = collect(child);
  child.stdin.end();
  const exited = output.closed.then((result) => {
    expect(result.stdout).not.toContain(CANARY);
    expect(result.stderr).not.toContain(CANARY);
    return result;
  });
  const line = (stream: 'stdout' | 'stderr', pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = output[stream]
          .split('\n')
          .slice(0, -1)
          .find((l) => pattern.test(l));
        if (found !== undefined) resolve(found);
        return found !== undefined;
      };
      if (check()) return;
      child[stream].on('data', check);
      child.on('close', () =>
        reject(new Error(`exited before a line matching ${pattern}: ${output.stderr}`)),
      );
    });
  return { child, exited, line };
}

const records = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

function statusChecks(sessionId: string) {
  return sandbox.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/status/${sessionId}`)).length;
}

function probe(url: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

describe('aitoearn-auth connect', () => {
  it('--json: started, polls, and an approval noticed through the callback before the next scheduled poll', async () => {
    const run = start(['connect', 'douyin', '--json']);
    const started = JSON.parse(await run.line('stdout', /"type":"started"/)) as Record<string, string>;
    expect(Object.keys(started)).toEqual([
      'type',
      'platform',
      'sessionId',
      'url',
      'expiresAt',
      'callbackUrl',
    ]);
    expect(started).toMatchObject({ type: 'started', platform: 'douyin' });
    expect(started.callbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}$/);
    // Wait until the next scheduled check is seconds away (from the fourth check on, 4.5–5 s).
    const poll = JSON.parse(await run.line('stdout', /"nextDelayMs":(4[5-9]\d\d|[5-9]\d\d\d)\b/)) as {
      attempt: number;
      elapsedMs: number;
      nextDelayMs: number;
    };
    const checksBefore = statusChecks(started.sessionId ?? '');
    const visit = await visitConsentPage(started.url ?? '', 'approve');
    expect(visit.callbackForm?.action).toBe(started.callbackUrl);
    expect(visit.callbackStatus).toBe(200);

    const { code, stdout } = await run.exited;
    expect(code).toBe(0);
    const lines = records(stdout);
    const last = lines.at(-1) as { type: string; outcome: string; session: { accounts: unknown[] } };
    expect(last).toMatchObject({ type: 'result', outcome: 'completed', exitCode: 0 });
    expect(last.session.accounts).toHaveLength(1);
    const completed = lines.at(-2) as { status: string; attempt: number; elapsedMs: number };
    expect(completed.status).toBe('completed');
    // One check more than when the person acted, and before the check that was scheduled.
    expect(completed.attempt).toBe(poll.attempt + 1);
    expect(completed.elapsedMs).toBeLessThan(poll.elapsedMs + poll.nextDelayMs);
    expect(statusChecks(started.sessionId ?? '')).toBe(checksBefore + 1);
    expect(await probe(started.callbackUrl ?? '')).toBe('ECONNREFUSED');
  });

  it('prints the URL and the session id for the person, then the account on stdout', async () => {
    const run = start(['connect', 'douyin']);
    const urlLine = await run.line('stderr', /^\s+http:\/\/127\.0\.0\.1:\d+\/\S+$/);
    await run.line('stderr', /^aitoearn-auth: pending/);
    await visitConsentPage(urlLine.trim(), 'approve');
    const { code, stdout, stderr } = await run.exited;
    expect(code).toBe(0);
    expect(stdout).toMatch(/^douyin Sandbox account 1 \(\S+\)\n$/);
    const sessionId = /^Session (\S+) \(to wait on it later: aitoearn-auth wait douyin \1\)$/m.exec(
      stderr,
    )?.[1];
    expect(sessionId).toHaveLength(16);
    expect(stderr).toMatch(
      new RegExp(
        `^aitoearn-auth: completed after \\d+s; 1 account connected \\(session ${sessionId}\\)$`,
        'm',
      ),
    );
    // Not a terminal: no QR code, and no browser was opened (nothing says it could not be).
    expect(stderr).not.toMatch(/[█▀▄]/);
    expect(stderr).not.toMatch(/could not open/);
  });

  it('--no-callback: no callbackUrl, and the approval is noticed by polling', async () => {
    const run = start(['connect', 'douyin', '--json', '--no-callback']);
    const started = JSON.parse(await run.line('stdout', /"type":"started"/)) as Record<string, string>;
    expect(started).not.toHaveProperty('callbackUrl');
    await run.line('stdout', /"type":"poll"/);
    const visit = await visitConsentPage(started.url ?? '', 'approve');
    expect(visit.callbackForm).toBeUndefined();
    const { code, stdout } = await run.exited;
    expect(code).toBe(0);
    expect(records(stdout).at(-1)).toMatchObject({ outcome: 'completed' });
  });

  it('a denial is noticed by polling: exit 1 with errorCode 15045', async () => {
    const run = start(['connect', 'douyin', '--json']);
    const started = JSON.parse(await run.line('stdout', /"type":"started"/)) as Record<string, string>;
    await run.line('stdout', /"type":"poll"/);
    await visitConsentPage(started.url ?? '', 'deny');
    const { code, stdout } = await run.exited;
    expect(code).toBe(1);
    expect(records(stdout).at(-1)).toMatchObject({ outcome: 'failed', error: { errorCode: 15045 } });
    expect(await probe(started.callbackUrl ?? '')).toBe('ECONNREFUSED');
  });

  it('Ctrl-C while connecting exits 130 and closes the listener', async () => {
    const run = start(['connect', 'douyin', '--json']);
    const started = JSON.parse(await run.line('stdout', /"type":"started"/)) as Record<string, string>;
    await run.line('stdout', /"type":"poll"/);
    expect(await probe(started.callbackUrl ?? '')).toBe('connected');
    run.child.kill('SIGINT');
    const { code, stdout } = await run.exited;
    expect(code).toBe(130);
    expect(records(stdout).at(-1)).toMatchObject({ type: 'result', outcome: 'aborted', exitCode: 130 });
    expect(await probe(started.callbackUrl ?? '')).toBe('ECONNREFUSED');
  });

  it('a platform the server does not support exits 5 with code 15032, and nothing is polled', async () => {
    const before = sandbox.requests.filter((r) => r.path.includes('/status/')).length;
    const { code, stdout, stderr } = await start(['connect', 'xhs', '--json']).exited;
    expect(code).toBe(5);
    const lines = records(stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      type: 'result',
      outcome: 'api-error',
      exitCode: 5,
      error: { code: 15032 },
    });
    expect(stderr).toMatch(/15032/);
    expect(sandbox.requests.filter((r) => r.path.includes('/status/')).length).toBe(before);
  });

  it.each([
    ['no platform', ['connect'], /connect needs <platform>/],
    [
      'an extra argument',
      ['connect', 'douyin', 'extra'],
      /connect takes exactly <platform>, got 2 arguments/,
    ],
    ['an unknown flag', ['connect', 'douyin', '--open'], /unknown option '--open'/],
    ['a negative timeout', ['connect', 'douyin', '--timeout', '-1'], /--timeout/],
    ['the key as an argument', ['connect', 'douyin', `--api-key=${CANARY}`], /--api-key is refused/],
    ['a platform unsafe in a path', ['connect', '../x'], /platform/],
  ])('%s is a usage error (exit 2) and sends nothing', async (_name, args, message) => {
    const before = sandbox.requestCount;
    const { code, stdout, stderr } = await start(args).exited;
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(sandbox.requestCount).toBe(before);
  });

  it('connect --help prints its own usage', async () => {
    const { code, stdout } = await start(['connect', '--help']).exited;
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: aitoearn-auth connect <platform> \[options\]\n/);
    for (const flag of ['--group-id', '--no-open', '--no-callback', '--timeout', '--json']) {
      expect(stdout).toContain(flag);
    }
  });
});

describe('aitoearn-auth connect with URLs the sandbox never sends', () => {
  const PNG = Buffer.from('89504e470d0a1a0a0000000d494844520000000100000001', 'hex');

  /** A scripted API: start answers `url`, status answers pending once, then completed. */
  async function api(url: string, authInstructions?: Record<string, string>) {
    const expiresAt = new Date(Date.now() + 300_000).toISOString();
    const session = { sessionId: 'abcdefghijklmnop', requiresSelection: false, expiresAt };
    let checks = 0;
    return startServer((req, res) => {
      if (req.url?.includes('/status/')) {
        checks += 1;
        const done = checks > 1;
        return json(
          res,
          statusBody({
            ...session,
            status: done ? 'completed' : 'pending',
            ...(done
              ? {
                  accounts: [
                    { accountId: 'a1', platform: 'douyin', platformUid: 'u1', displayName: 'Zhang' },
                  ],
                }
              : {}),
          }),
        );
      }
      return json(res, statusBody({ url, sessionId: session.sessionId, expiresAt, authInstructions }));
    });
  }

  it('writes a data:image URL to a private temporary file, prints its path, and removes it at the end', async () => {
    const server = await api(`data:image/png;base64,${PNG.toString('base64')}`);
    try {
      const run = start(['connect', 'douyin', '--no-callback'], { baseUrl: server.url });
      const line = await run.line('stderr', /^Scan the QR code in \S+ with the douyin app/);
      const file = /in (\S+) with/.exec(line)?.[1] ?? '';
      expect(readFileSync(file)).toEqual(PNG);
      const { code, stderr } = await run.exited;
      expect(code).toBe(0);
      expect(stderr).not.toContain('data:image');
      expect(existsSync(file)).toBe(false);
    } finally {
      await server.close();
    }
  });

  // The client already refuses anything but http(s) and data:image/ URLs; these pass it, and are still
  // not handed to the desktop's opener (an SVG opened from disk can run script; credentials in a URL hide
  // its real host).
  it.each([
    `data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>').toString('base64')}`,
    'https://aitoearn.cn@evil.example/consent',
  ])('never offers to open %s, and says so', async (url) => {
    const server = await api(url);
    try {
      const { code, stderr } = await start(['connect', 'douyin', '--no-callback'], { baseUrl: server.url })
        .exited;
      expect(code).toBe(0);
      expect(stderr).toMatch(/not opening that URL: only http\(s\) pages and PNG, JPEG, GIF or WebP images/);
      expect(stderr).not.toMatch(/^Scan the QR code/m);
    } finally {
      await server.close();
    }
  });

  it('refuses a start answer whose url is javascript: (the client checks it) and opens nothing', async () => {
    const server = await api('javascript:alert(1)');
    try {
      const { code, stderr } = await start(['connect', 'douyin', '--no-callback'], { baseUrl: server.url })
        .exited;
      expect(code).not.toBe(0);
      expect(stderr).not.toMatch(/Open this page/);
      expect(stderr).toMatch(/url/);
      expect(server.requests.filter((r) => r.url.includes('/status/'))).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it.each([
    [{ LANG: 'zh_CN.UTF-8' }, '请用抖音扫码', 'Scan with the Douyin app'],
    [{ LANG: 'en_US.UTF-8' }, 'Scan with the Douyin app', '请用抖音扫码'],
    [{ LANG: 'en_US.UTF-8', LC_ALL: 'zh_CN.UTF-8' }, '请用抖音扫码', 'Scan with the Douyin app'],
  ])(
    'shows the instructions in the language of %o, cleaned of control characters',
    async (env, shown, hidden) => {
      const server = await api('https://open.douyin.com/oauth?x=1', {
        'en-US': 'Scan with the Douyin app\x1b[2J',
        'zh-CN': '请用抖音扫码\x1b[2J',
      });
      try {
        const { code, stderr } = await start(['connect', 'douyin', '--no-callback'], {
          baseUrl: server.url,
          env,
        }).exited;
        expect(code).toBe(0);
        expect(stderr).toContain(shown);
        expect(stderr).not.toContain(hidden);
        expect(stderr).not.toContain('\x1b');
        expect(stderr).toContain('https://open.douyin.com/oauth?x=1');
      } finally {
        await server.close();
      }
    },
  );
});
