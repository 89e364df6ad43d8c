/**
 * The built command, spawned, where the process is what is tested: exit codes, stdout/stderr, signals, key
 * sources, the result line, against an in-process sandbox and real `node:http` servers. Parsing and
 * rendering are tested in-process in cli-render.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { type Sandbox, type SandboxOutcome, startSandbox } from '../src/sandbox/index.js';
import { json, startServer, type TestServer } from './helpers/http-server.js';
import { CANARY, delay, type Env, ndjson, ROOT, result, run, start, until } from './helpers/run-cli.js';

const WRONG_KEY = `wrong-${randomUUID()}`;
const PLATFORM = 'douyin';
let sandbox: Sandbox;
/** Fails every request with HTTP 503, as a gateway in front of a down API would. */
let down: TestServer;
/** Counts requests: bad command lines must never reach it. */
let counter: TestServer;
let tmp: string;

beforeAll(async () => {
  sandbox = await startSandbox({ apiKeys: [CANARY, 'sandbox-key'] });
  down = await startServer((_req, res) => json(res, { message: 'down' }, { status: 503 }));
  counter = await startServer((_req, res) => json(res, { code: 500, message: 'should not be called' }));
  tmp = await mkdtemp(path.join(tmpdir(), 'aitoearn-cli-'));
});
afterAll(async () => {
  await Promise.all([sandbox?.close(), down?.close(), counter?.close()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const api = (env: Env = {}) => ({ env: { AITOEARN_BASE_URL: sandbox.url, ...env } });
const session = (outcome: SandboxOutcome, lifetimeMs?: number) =>
  sandbox.createSession({ platform: PLATFORM, outcome, ...(lifetimeMs ? { lifetimeMs } : {}) }).sessionId;
const checks = (id: string) =>
  sandbox.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${id}`)).length;
async function act(id: string, action: 'approve' | 'select', body?: unknown) {
  const init =
    body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  expect(
    (await fetch(`${sandbox.url}/sandbox/sessions/${id}/${action}`, { method: 'POST', ...init })).status,
  ).toBe(200);
}

it.concurrent('prints the version of package.json, and the help of one command on stdout with exit 0', async () => {
  const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  expect(await run(['-v'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  const help = await run(['connect', '--help']);
  expect(help).toMatchObject({ code: 0, stderr: '' });
  expect(help.stdout).toMatch(/^Usage: aitoearn-auth connect <platform> \[options\]\n/);
  expect(help.stdout).toMatch(/--no-callback.*\n(.*\n)*Exit codes:/);
});

describe.concurrent('wait', { timeout: 60_000 }, () => {
  it('exits 0 and prints the accounts; one progress line per change, no colour off a terminal', async () => {
    const id = session({ type: 'manual', accounts: ['Alice', 'Bob'] });
    const proc = start(['wait', PLATFORM, id], api());
    await proc.line('stderr', /^aitoearn-auth: pending · /);
    await until(() => checks(id) >= 2);
    await act(id, 'approve');
    const r = await proc.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^douyin Alice \(\S+\)\ndouyin Bob \(\S+\)\n$/);
    expect(r.stderr.match(/^aitoearn-auth: pending · /gm)).toHaveLength(1);
    expect(r.stderr).toMatch(/aitoearn-auth: completed after \d+s; 2 accounts connected\n$/);
    expect(r.stderr).not.toContain('\x1b[');
  });

  it('--json: a poll line per check, then the result with the session as decoded', async () => {
    const id = session({ type: 'manual' });
    const proc = start(['wait', PLATFORM, id, '--json'], api());
    await proc.line('stdout', /"type":"poll"/);
    await act(id, 'approve');
    const r = await proc.exited;
    expect(r.code).toBe(0);
    const records = ndjson(r.stdout);
    expect(records[0]).toMatchObject({ type: 'poll', kind: 'status', status: 'pending', attempt: 1 });
    expect(records[0]?.nextDelayMs).toEqual(expect.any(Number));
    expect(records.at(-2)).toMatchObject({ type: 'poll', status: 'completed', nextDelayMs: null });
    expect(records.at(-1)).toMatchObject({
      outcome: 'completed',
      exitCode: 0,
      session: { sessionId: id, status: 'completed', accounts: [{ platform: PLATFORM }] },
    });
    expect(r.stderr).toBe('');
  });

  it('--quiet prints only the accounts; "choose your accounts" while the person must select', async () => {
    const quiet = await run(
      ['wait', PLATFORM, session({ type: 'complete', afterMs: 0, accounts: ['Carol'] }), '-q'],
      api(),
    );
    expect(quiet).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^douyin Carol \(\S+\)\n$/),
      stderr: '',
    });
    const id = session({ type: 'select', accounts: ['Dan', 'Eve'] });
    const proc = start(['wait', PLATFORM, id], api());
    await proc.line('stderr', /choose your accounts in the browser$/);
    const res = await fetch(`${sandbox.url}/api/v2/channels/accounts/auth/${PLATFORM}/status/${id}`, {
      headers: { 'X-Api-Key': CANARY },
    });
    const { data } = (await res.json()) as {
      data: { selectableAccounts: { platformUid: string; displayName: string }[] };
    };
    await act(id, 'select', {
      platformUids: [data.selectableAccounts.find((a) => a.displayName === 'Eve')?.platformUid],
    });
    const r = await proc.exited;
    expect(r.stdout).toMatch(/^douyin Eve \(\S+\)\n$/);
    expect(r.stderr).toMatch(/^aitoearn-auth: completed after \d+s; 1 account connected$/m);
  });

  test.each([
    [
      'a failed session',
      [{ type: 'fail', errorCode: 15045 }],
      1,
      {
        outcome: 'failed',
        session: { errorCode: 15045 },
        error: { name: 'AuthFailedError', errorCode: 15045 },
      },
      /15045.*denied consent/,
    ],
    [
      'an unknown session',
      ['unknown'],
      3,
      { outcome: 'expired', error: { name: 'AuthExpiredError', code: 15039, requestId: expect.any(String) } },
      /15039/,
    ],
    [
      'a session of another platform',
      [{ type: 'complete' }, 'youtube'],
      5,
      { outcome: 'api-error', error: { code: 15040, kind: 'platform-mismatch' } },
      /15040/,
    ],
    [
      '--timeout running out',
      [{ type: 'never' }, PLATFORM, '--timeout', '1'],
      4,
      {
        outcome: 'timeout',
        session: { status: 'pending' },
        error: { name: 'AuthTimeoutError', message: 'gave up after --timeout 1 (last status: pending)' },
      },
      /^aitoearn-auth: gave up after --timeout 1 \(last status: pending\)$/m,
    ],
  ] as const)(
    '%s ends the wait with its exit code, in --json and for a person',
    async (_name, [outcome, platform = PLATFORM, ...flags], code, line, human) => {
      const id = outcome === 'unknown' ? `unknown-${randomUUID()}` : session(outcome);
      const machine = await run(['wait', platform, id, ...flags, '--json'], api());
      expect(machine.code).toBe(code);
      expect(result(machine.stdout)).toMatchObject({ exitCode: code, ...line });
      const person = await run(['wait', platform, id, ...flags], api());
      expect(person.code).toBe(code);
      expect(person.stdout).toBe('');
      expect(person.stderr).toMatch(human);
    },
  );

  it('exits 3 when the session expires while waiting', async () => {
    const r = await run(['wait', PLATFORM, session({ type: 'never' }, 6000)], api());
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^aitoearn-auth: pending · /m);
    expect(r.stderr).toMatch(/^aitoearn-auth: .*(expired|15039)/m);
  });

  it('exits 5 for a key the API refuses, never showing it; 6 for an API down until the deadline', async () => {
    const refused = await run(['wait', PLATFORM, 'abc', '--json'], {
      ...api({ AITOEARN_API_KEY: WRONG_KEY }),
      secrets: [WRONG_KEY],
    });
    expect(refused.code).toBe(5);
    expect(result(refused.stdout)).toMatchObject({
      outcome: 'api-error',
      error: { code: 401, kind: 'unauthorized' },
    });
    const unavailable = await run(
      ['wait', PLATFORM, 'abc', '--timeout', '2', '--json'],
      api({ AITOEARN_BASE_URL: down.url }),
    );
    expect(unavailable.code).toBe(6);
    const records = ndjson(unavailable.stdout);
    expect(records.at(-1)).toMatchObject({
      outcome: 'unavailable',
      exitCode: 6,
      error: { name: 'AitoearnUnavailableError' },
    });
    expect(records.some((p) => p.kind === 'retry' && /503/.test(String(p.warning)))).toBe(true);
  });

  it('exits 130 on SIGINT inside a long sleep and sends nothing more; 143 on SIGTERM with the result line', async () => {
    const id = session({ type: 'never' });
    const proc = start(['wait', PLATFORM, id], api());
    // After the third check the waiter sleeps about 4 s.
    await until(() => checks(id) >= 3);
    const sent = checks(id);
    proc.child.kill('SIGINT');
    const r = await proc.exited;
    expect(r).toMatchObject({ code: 130, signal: null, stdout: '' });
    expect(r.stderr).toMatch(/^aitoearn-auth: interrupted$/m);
    expect(checks(id)).toBe(sent);

    const term = start(['wait', PLATFORM, session({ type: 'never' }), '--json'], api());
    await term.line('stdout', /"type":"poll"/);
    term.child.kill('SIGTERM');
    const t = await term.exited;
    expect(t.code).toBe(143);
    expect(result(t.stdout)).toMatchObject({
      outcome: 'aborted',
      session: { status: 'pending' },
      error: { message: 'interrupted by SIGTERM' },
    });
  });
});

describe.concurrent('status', { timeout: 60_000 }, () => {
  it('prints the session generically and exits 0 whatever its status', async () => {
    const id = session({ type: 'complete', accounts: ['Frank'] });
    const r = await run(['status', PLATFORM, id], api());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^platform: douyin\nsessionId: ${id}\nstatus: completed\n`));
    expect(r.stdout).toMatch(/^accounts\[0\]\.displayName: Frank$/m);
    const pending = await run(['status', PLATFORM, session({ type: 'never' }), '--json'], api());
    expect(ndjson(pending.stdout)).toEqual([
      expect.objectContaining({
        outcome: 'ok',
        exitCode: 0,
        session: expect.objectContaining({ status: 'pending' }),
      }),
    ]);
  });

  it('exits 3 for an unknown session and 6 for an API that is down', async () => {
    const unknown = await run(['status', PLATFORM, 'no-such-session', '--json'], api());
    expect(unknown.code).toBe(3);
    const unreachable = await run(['status', PLATFORM, 'x', '--json'], api({ AITOEARN_BASE_URL: down.url }));
    expect(unreachable.code).toBe(6);
    expect(result(unreachable.stdout)).toMatchObject({
      error: { name: 'AitoearnTransportError', httpStatus: 503 },
    });
  });
});

describe.concurrent('where the key and the API come from', { timeout: 60_000 }, () => {
  it('--api-key-file beats AITOEARN_API_KEY and drops one newline; "-" reads stdin; --base-url beats the env', async () => {
    const file = path.join(tmp, 'key');
    await writeFile(file, `${CANARY}\n`);
    const id = session({ type: 'complete' });
    const fromFile = await run(['status', PLATFORM, id, '--api-key-file', file], {
      ...api({ AITOEARN_API_KEY: WRONG_KEY }),
      secrets: [WRONG_KEY],
    });
    expect(fromFile.stdout).toContain('status: completed');
    const fromStdin = await run(['status', PLATFORM, id, '--api-key-file', '-'], {
      ...api({ AITOEARN_API_KEY: undefined }),
      input: `${CANARY}\r\n`,
    });
    expect(fromStdin.stdout).toContain('status: completed');
    const flag = await run(
      ['status', PLATFORM, id, '--base-url', sandbox.url],
      api({ AITOEARN_BASE_URL: counter.url }),
    );
    expect(flag.code).toBe(0);
  });

  it('reads at most 16 KiB of /dev/zero or of a FIFO whose writer stays open, then refuses it (exit 2)', async () => {
    const zero = await run(
      ['wait', PLATFORM, 'session-1', '--api-key-file', '/dev/zero'],
      api({ AITOEARN_BASE_URL: counter.url }),
    );
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/^aitoearn-auth: the API key file "\/dev\/zero" is over 16384 bytes$/m);
    const fifo = path.join(tmp, `over-${randomUUID()}`);
    execFileSync('mkfifo', [fifo]);
    const proc = start(
      ['status', PLATFORM, 'session-1', '--api-key-file', fifo],
      api({ AITOEARN_BASE_URL: counter.url }),
    );
    const writer = await open(fifo, 'w');
    try {
      await writer.write(Buffer.alloc(16 * 1024 + 1, 'k'));
      expect((await proc.exited).code).toBe(2);
    } finally {
      await writer.close();
    }
  });

  it('exits 130 on the first Ctrl-C while waiting for a silent FIFO; reads a key a FIFO delivers later', async () => {
    const fifo = path.join(tmp, `silent-${randomUUID()}`);
    execFileSync('mkfifo', [fifo]);
    const proc = start(
      ['wait', PLATFORM, 'session-1', '--api-key-file', fifo],
      api({ AITOEARN_BASE_URL: counter.url }),
    );
    // The FIFO is opened without blocking: the test sees it among the process's descriptors.
    const fds = `/proc/${proc.child.pid}/fd`;
    await until(() => {
      try {
        return readdirSync(fds).some((fd) => readlinkSync(`${fds}/${fd}`) === fifo);
      } catch {
        return false;
      }
    });
    proc.child.kill('SIGINT');
    expect(await proc.exited).toMatchObject({
      code: 130,
      stderr: expect.stringMatching(/^aitoearn-auth: interrupted$/m),
    });

    const late = path.join(tmp, `late-${randomUUID()}`);
    execFileSync('mkfifo', [late]);
    const reader = start(['status', PLATFORM, session({ type: 'complete' }), '--api-key-file', late], api());
    await delay(300);
    const writer = await open(late, 'w');
    await writer.write(`${CANARY}\n`);
    await writer.close();
    expect((await reader.exited).stdout).toContain('status: completed\n');
  });
});

describe.concurrent('a bug (an error that is not one of ours)', { timeout: 60_000 }, () => {
  /** Makes the runtime fail under the command where no error of ours is expected: reading `Date`. */
  const bug = (env: Env = {}) => {
    const inject = path.join(tmp, 'inject-bug.mjs');
    return writeFile(
      inject,
      `const get = Headers.prototype.get;
Headers.prototype.get = function (name) {
  if (String(name).toLowerCase() === 'date') throw new TypeError('injected fault reading the Date header');
  return get.call(this, name);
};`,
    ).then(() => api({ NODE_OPTIONS: `--import=${pathToFileURL(inject).href}`, ...env }));
  };

  it('exits 70 and says it is a bug, with the stack only under AITOEARN_DEBUG=1', async () => {
    const r = await run(['status', PLATFORM, session({ type: 'complete' })], await bug());
    expect(r).toMatchObject({ code: 70, stdout: '' });
    expect(r.stderr).toMatch(/^aitoearn-auth: bug: TypeError: injected fault reading the Date header$/m);
    expect(r.stderr).toMatch(/^This is a bug in aitoearn-auth \d+\.\d+\.\d+.*retrying will not help\.$/m);
    expect(r.stderr).not.toMatch(/^ +at /m);
    const debug = await run(
      ['status', PLATFORM, session({ type: 'complete' })],
      await bug({ AITOEARN_DEBUG: '1' }),
    );
    expect(debug.stderr).toMatch(/^ +at .*inject-bug\.mjs/m);
    const machine = await run(['wait', PLATFORM, session({ type: 'complete' }), '--json'], await bug());
    expect(result(machine.stdout)).toMatchObject({
      outcome: 'bug',
      exitCode: 70,
      error: { name: 'TypeError' },
    });
  });
});

describe('a hostile server', { timeout: 60_000 }, () => {
  const EVIL = '\x1b[2J\x1b]0;pwned\x07\u009b31m\u202e\u2028\u200b';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\p{Cf}\u2028\u2029]/u;
  let hostile: TestServer;
  beforeAll(async () => {
    hostile = await startServer((req, res) => {
      const id = decodeURIComponent(req.url?.split('/').pop() ?? '');
      const data = {
        sessionId: id,
        requiresSelection: false,
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      };
      if (id === 'api-error')
        return json(res, { code: 15040, message: `no${EVIL}`, data: {}, requestId: `rid${EVIL}` });
      if (id === 'weird')
        return json(res, { code: 0, message: 'ok', data: { ...data, status: `odd${EVIL}` } });
      const accounts = [
        { accountId: `id${EVIL}`, platform: PLATFORM, platformUid: 'u', displayName: `Mallory${EVIL}` },
      ];
      return json(res, {
        code: 0,
        message: 'ok',
        data: { ...data, status: 'completed', accounts },
        requestId: `rid${EVIL}`,
      });
    });
  });
  afterAll(() => hostile?.close());

  test.concurrent.each([
    [['wait', PLATFORM, 'api-error'], 5],
    [['wait', PLATFORM, 'completed'], 0],
    [['wait', PLATFORM, 'weird', '--timeout', '1.2'], 4],
    [['status', PLATFORM, 'completed'], 0],
  ])('never prints control or invisible characters from the server: %j', async (args, code) => {
    for (const mode of [[], ['--json']]) {
      const r = await run([...args, ...mode], { env: { AITOEARN_BASE_URL: hostile.url } });
      expect(r.code, r.stderr).toBe(code);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(UNSAFE);
      if (mode.length > 0) {
        for (const record of ndjson(r.stdout)) expect(JSON.stringify(record)).not.toMatch(UNSAFE);
      }
      // Replaced visibly: a person sees that something was there.
      expect(`${r.stdout}${r.stderr}`).toMatch(/\\x1b\[2J|\\x9b/);
    }
  });
});

describe.concurrent('bad command lines the process must refuse', () => {
  test.each([
    [
      'a misspelt platform (issue 16, item 16)',
      ['connect', 'douyn'],
      {},
      /unknown platform "douyn"; did you mean douyin\?/,
    ],
    [
      'no key at all',
      ['wait', PLATFORM, 's1'],
      { AITOEARN_API_KEY: undefined },
      /no API key: set AITOEARN_API_KEY/,
    ],
    [
      'a key with whitespace',
      ['wait', PLATFORM, 's1'],
      { AITOEARN_API_KEY: `${CANARY} x` },
      /: AITOEARN_API_KEY must be a non-empty string .*not shown/,
    ],
    [
      'an unreadable key file',
      ['wait', PLATFORM, 's1', '--api-key-file', '/nonexistent/k'],
      {},
      /cannot read the API key file.*ENOENT/,
    ],
    [
      'a --base-url that is not a URL',
      ['wait', PLATFORM, 's1', '--base-url', 'not a url'],
      {},
      /: --base-url must be an https URL .*, got "not a url": it is not a URL$/,
    ],
    [
      'an AITOEARN_BASE_URL with plain http',
      ['wait', PLATFORM, 's1'],
      { AITOEARN_BASE_URL: 'http://example.com' },
      /: AITOEARN_BASE_URL must be .*unencrypted/,
    ],
    ['a dot-dot session id', ['wait', PLATFORM, '..'], {}, /sessionId.*dot segment/],
  ])(
    'exits 2 for %s: one line, the usage hint, nothing sent; with --json a usage result line',
    async (_n, args, env, reason) => {
      for (const mode of [[], ['--json']]) {
        const r = await run([...args, ...mode], { env: { AITOEARN_BASE_URL: counter.url, ...env } });
        expect(r.code).toBe(2);
        const [line, hint, end] = r.stderr.split('\n');
        expect(line).toMatch(/^aitoearn-auth: /);
        expect(line).toMatch(reason);
        expect(hint).toBe(`Run 'aitoearn-auth help ${args[0]}' for usage.`);
        expect(end).toBe('');
        if (mode.length === 0) expect(r.stdout).toBe('');
        else
          expect(ndjson(r.stdout)).toMatchObject([
            {
              type: 'result',
              outcome: 'usage',
              exitCode: 2,
              error: { name: expect.any(String), message: expect.any(String) },
            },
          ]);
      }
      expect(counter.requests).toHaveLength(0);
    },
  );
});

describe.concurrent('sandbox', { timeout: 30_000 }, () => {
  it('serves sessions at the printed URL until SIGTERM, then closes and exits 143', async () => {
    const proc = start(['sandbox', '--port', '0']);
    await proc.line('stdout', /^ {2}export AITOEARN_API_KEY=sandbox-key$/);
    const url = /^Sandbox listening on (\S+)$/m.exec(proc.output.stdout)?.[1] ?? '';
    const created = await fetch(`${url}/sandbox/sessions`, {
      method: 'POST',
      headers: { 'X-Api-Key': 'sandbox-key', 'Content-Type': 'application/json' },
      body: JSON.stringify({ platform: PLATFORM, outcome: { type: 'complete' } }),
    });
    const { sessionId } = (await created.json()) as { sessionId: string };
    const status = await run(['status', PLATFORM, sessionId], {
      env: { AITOEARN_BASE_URL: url, AITOEARN_API_KEY: 'sandbox-key' },
    });
    expect(status.stdout).toContain('status: completed\n');
    // Requests are logged only with --verbose.
    expect(proc.output.stderr).not.toMatch(/^(GET|POST) \//m);
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(143);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('--json: the ready line, then on SIGINT the result line its help promises, exit 130', async () => {
    const proc = start(['sandbox', '--json']);
    const ready = JSON.parse(await proc.line('stdout', /"type":"ready"/)) as { url: string };
    expect(ready).toEqual({
      type: 'ready',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      apiKey: 'sandbox-key',
    });
    proc.child.kill('SIGINT');
    const r = await proc.exited;
    expect(r.code).toBe(130);
    expect(result(r.stdout)).toMatchObject({ outcome: 'aborted', exitCode: 130 });
  });

  it('exits 6 on a busy port, naming the address and the cause (with --json, in the result line)', async () => {
    const port = new URL(sandbox.url).port;
    const r = await run(['sandbox', '--port', port]);
    expect(r).toMatchObject({ code: 6, stdout: '' });
    expect(r.stderr).toMatch(
      new RegExp(`^aitoearn-auth: Cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
    );
    const machine = await run(['sandbox', '--port', port, '--json']);
    expect(result(machine.stdout)).toMatchObject({
      outcome: 'unavailable',
      exitCode: 6,
      error: { code: 'EADDRINUSE' },
    });
  });

  it('--lifetime sets how long started sessions live; --verbose logs each request without the key', async () => {
    const proc = start(['sandbox', '--lifetime', '2', '--verbose', '--quiet']);
    try {
      const url = /Sandbox listening on (\S+)/.exec(await proc.line('stdout', /^Sandbox listening on/))?.[1];
      const res = await fetch(`${url}/api/v2/channels/accounts/auth/douyin`, {
        headers: { 'X-Api-Key': 'sandbox-key' },
      });
      const { data } = (await res.json()) as { data: { expiresAt: string } };
      const lifetime = Date.parse(data.expiresAt) - Date.parse(res.headers.get('date') ?? '');
      expect(lifetime).toBeGreaterThanOrEqual(2000);
      expect(lifetime).toBeLessThan(3000);
      await fetch(`${url}/api/v2/channels/accounts/auth/douyin/status/sandbox-key`, {
        headers: { 'X-Api-Key': 'sandbox-key' },
      });
      await proc.line('stderr', /status\/\[redacted\] 200 code=15039 \d+ms$/);
      expect(proc.output.stderr).toMatch(
        /^GET \/api\/v2\/channels\/accounts\/auth\/douyin 200 code=0 \d+ms$/m,
      );
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });
});
