/**
 * The built `aitoearn-auth` command, spawned as a subprocess exactly as users run it, against an in-process
 * sandbox (and real `node:http` servers for outages and for proving that bad command lines send nothing).
 * Every run goes through `run()`, which fails the test if a key appears in stdout or stderr.
 */

import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { type Sandbox, type SandboxOutcome, startSandbox } from '../src/sandbox/index.js';
import { collect } from './helpers/collect.js';
import { json, startServer, type TestServer } from './helpers/http-server.js';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = path.join(ROOT, 'dist/cli/main.js');
/** The key every run uses unless it says otherwise; it must never be printed. */
const CANARY = `canary-${randomUUID()}`;
const WRONG_KEY = `wrong-${randomUUID()}`;
const USAGE_HINT = "Run 'aitoearn-auth --help' for usage.";
const PLATFORM = 'douyin';

type Env = Record<string, string | undefined>;

interface RunOptions {
  /** Variables to set (undefined removes one) on top of the defaults: the canary key and the sandbox URL. */
  readonly env?: Env;
  /** Written to stdin, which is then closed; stdin is closed at once without it. */
  readonly input?: string;
  /** More values that must not appear in the output (the canary is always checked). */
  readonly secrets?: readonly string[];
}

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

let sandbox: Sandbox;

function childEnv(extra: Env = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('AITOEARN_') && name !== 'NO_COLOR' && name !== 'FORCE_COLOR') env[name] = value;
  }
  Object.assign(env, { AITOEARN_API_KEY: CANARY, AITOEARN_BASE_URL: sandbox.url });
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

function assertNoSecrets(result: RunResult, secrets: readonly string[] = []): void {
  for (const secret of [CANARY, ...secrets]) {
    expect(result.stdout, 'stdout shows a key').not.toContain(secret);
    expect(result.stderr, 'stderr shows a key').not.toContain(secret);
  }
}

/** Starts the command; the returned promise settles when it exits, after checking that no key leaked. */
function start(args: readonly string[], options: RunOptions = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: childEnv(options.env),
  });
  const output = collect(child);
  child.stdin.end(options.input ?? '');
  const exited = output.closed.then((result): RunResult => {
    assertNoSecrets(result, options.secrets);
    return result;
  });
  /** Resolves once stderr (or stdout) holds a complete line matching `pattern`. */
  const waitFor = (stream: 'stdout' | 'stderr', pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (
          output[stream]
            .split('\n')
            .slice(0, -1)
            .some((l) => pattern.test(l))
        ) {
          resolve();
          return true;
        }
        return false;
      };
      if (check()) return;
      child[stream].on('data', check);
      child.on('close', () =>
        reject(new Error(`exited before a line matching ${pattern}: ${output.stderr}`)),
      );
    });
  return { child, exited, waitFor, output: () => ({ stdout: output.stdout, stderr: output.stderr }) };
}

function run(args: readonly string[], options?: RunOptions): Promise<RunResult> {
  return start(args, options).exited;
}

/** Every stdout line parsed as JSON; fails unless exactly one `result` line ends the output. */
function ndjson(stdout: string): Record<string, unknown>[] {
  expect(stdout.endsWith('\n')).toBe(true);
  const records = stdout
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(records.filter((r) => r.type === 'result')).toHaveLength(1);
  expect(records.at(-1)?.type).toBe('result');
  for (const record of records.slice(0, -1)) expect(record.type).toBe('poll');
  return records;
}

function result(stdout: string): Record<string, unknown> & { error?: Record<string, unknown> } {
  return ndjson(stdout).at(-1) as Record<string, unknown>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 20 ms (the test's own timeout bounds it). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await delay(20);
}

/** How many status requests the sandbox answered for session `id`. */
function statusRequests(id: string): number {
  return sandbox.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${id}`)).length;
}

/** What a person does on the consent page: approve, deny or select. */
async function act(id: string, action: 'approve' | 'deny' | 'select', body?: unknown): Promise<void> {
  const response = await fetch(`${sandbox.url}/sandbox/sessions/${id}/${action}`, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  });
  expect(response.status).toBe(200);
}

/** A real server that fails every request with HTTP 503, as a gateway in front of a down API would. */
let down: TestServer;
/** A real server that counts requests: bad command lines must never reach it. */
let counter: TestServer;
let tmp: string;

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  sandbox = await startSandbox({ apiKeys: [CANARY, 'sandbox-key'] });
  down = await startServer((_req, res) => json(res, { message: 'down' }, { status: 503 }));
  counter = await startServer((_req, res) => json(res, { code: 500, message: 'should not be called' }));
  tmp = await mkdtemp(path.join(tmpdir(), 'aitoearn-cli-'));
});

afterAll(async () => {
  await Promise.all([sandbox?.close(), down?.close(), counter?.close()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function session(outcome: SandboxOutcome, lifetimeMs?: number) {
  return sandbox.createSession({
    platform: PLATFORM,
    outcome,
    ...(lifetimeMs === undefined ? {} : { lifetimeMs }),
  }).sessionId;
}

describe('aitoearn-auth --help and --version', () => {
  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const r = await run([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('documents every exit code in --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage:/);
    for (const [code, meaning] of [
      [0, 'completed'],
      [1, 'failed'],
      [2, 'usage'],
      [3, 'expired'],
      [4, 'timeout'],
      [5, 'API error'],
      [6, 'unreachable'],
      [130, 'interrupted'],
      [143, 'SIGTERM'],
    ] as const) {
      expect(r.stdout).toMatch(new RegExp(`^ +${code} +.*${meaning}`, 'm'));
    }
    expect((await run(['wait', '-h'])).stdout).toBe(r.stdout);
  });
});

describe('aitoearn-auth wait', () => {
  it.concurrent('exits 0 and prints the connected accounts when the session completes (human)', async () => {
    const id = session({ type: 'manual', accounts: ['Alice', 'Bob'] });
    const proc = start(['wait', PLATFORM, id]);
    await proc.waitFor('stderr', /^aitoearn-auth: pending · /);
    // Approve only after a second "pending" answer, so that one line per change is what is being tested.
    await until(() => statusRequests(id) >= 2);
    await act(id, 'approve');
    const r = await proc.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^douyin Alice \(\S+\)\ndouyin Bob \(\S+\)\n$/);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines.filter((l) => /^aitoearn-auth: pending · /.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^aitoearn-auth: completed · /.test(l))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^aitoearn-auth: completed after \d+s; 2 account\(s\) connected$/);
    // No colour outside a terminal.
    expect(r.stderr).not.toContain('\x1b[');
  });

  it.concurrent('exits 0 once a session completes after about 300 ms, with NDJSON lines (--json)', async () => {
    const id = session({ type: 'complete', afterMs: 300 });
    const r = await run(['wait', PLATFORM, id, '--json']);
    expect(r.code).toBe(0);
    const records = ndjson(r.stdout);
    const polls = records.slice(0, -1);
    expect(polls.length).toBeGreaterThanOrEqual(1);
    for (const poll of polls) {
      expect(Object.keys(poll)).toEqual(
        expect.arrayContaining([
          'kind',
          'status',
          'attempt',
          'elapsedMs',
          'remainingMs',
          'nextDelayMs',
          'selectionRequired',
        ]),
      );
    }
    expect(polls.at(-1)).toMatchObject({ kind: 'status', status: 'completed', nextDelayMs: null });
    expect(records.at(-1)).toMatchObject({
      type: 'result',
      outcome: 'completed',
      exitCode: 0,
      session: { sessionId: id, status: 'completed', accounts: [{ platform: PLATFORM }] },
    });
    expect(r.stderr).toBe('');
  });

  it.concurrent('emits a pending poll line, then a completed one (--json)', async () => {
    const id = session({ type: 'manual' });
    const proc = start(['wait', PLATFORM, id, '--json']);
    await proc.waitFor('stdout', /"type":"poll"/);
    await act(id, 'approve');
    const r = await proc.exited;
    expect(r.code).toBe(0);
    const records = ndjson(r.stdout);
    expect(records[0]).toMatchObject({ type: 'poll', kind: 'status', status: 'pending', attempt: 1 });
    expect(records[0]?.nextDelayMs).toEqual(expect.any(Number));
    expect(records.at(-2)).toMatchObject({ type: 'poll', status: 'completed' });
  });

  it.concurrent('prints only the accounts with --quiet', async () => {
    const id = session({ type: 'complete', afterMs: 0, accounts: ['Carol'] });
    const r = await run(['wait', PLATFORM, id, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^douyin Carol \(\S+\)\n$/);
    expect(r.stderr).toBe('');
  });

  it.concurrent('reports "choose your accounts" while the user must select', async () => {
    const id = session({ type: 'select', accounts: ['Dan', 'Eve'] });
    const proc = start(['wait', PLATFORM, id]);
    await proc.waitFor('stderr', /choose your accounts in the browser$/);
    const { data } = (await (
      await fetch(`${sandbox.url}/api/v2/channels/accounts/auth/${PLATFORM}/status/${id}`, {
        headers: { 'X-Api-Key': CANARY },
      })
    ).json()) as { data: { selectableAccounts: { platformUid: string; displayName: string }[] } };
    const eve = data.selectableAccounts.find((a) => a.displayName === 'Eve');
    await act(id, 'select', { platformUids: [eve?.platformUid] });
    const r = await proc.exited;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^aitoearn-auth: pending · .* · choose your accounts in the browser$/m);
    expect(r.stdout).toMatch(/^douyin Eve \(\S+\)\n$/);
  });

  it.concurrent('exits 1 when the authorization fails, naming the error code', async () => {
    const human = await run(['wait', PLATFORM, session({ type: 'fail', errorCode: 15045 })]);
    expect(human.code).toBe(1);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/^aitoearn-auth: .*15045.*denied consent/m);

    const machine = await run(['wait', PLATFORM, session({ type: 'fail', errorCode: 15045 }), '--json']);
    expect(machine.code).toBe(1);
    expect(result(machine.stdout)).toMatchObject({
      outcome: 'failed',
      exitCode: 1,
      session: { status: 'failed', errorCode: 15045 },
      error: { name: 'AuthFailedError', errorCode: 15045 },
    });
  });

  it.concurrent('exits 3 for an unknown session (code 15039), with the request id', async () => {
    const r = await run(['wait', PLATFORM, `unknown-${randomUUID()}`, '--json']);
    expect(r.code).toBe(3);
    const line = result(r.stdout);
    expect(line).toMatchObject({
      outcome: 'expired',
      exitCode: 3,
      error: { name: 'AuthExpiredError', code: 15039 },
    });
    expect(line.error?.requestId).toEqual(expect.any(String));
    expect(r.stderr).toMatch(/^aitoearn-auth: .*15039/m);
  });

  it.concurrent('exits 3 when the session expires while waiting', async () => {
    const r = await run(['wait', PLATFORM, session({ type: 'never' }, 1500)]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^aitoearn-auth: pending · /m);
    expect(r.stderr).toMatch(/^aitoearn-auth: .*(expired|15039)/m);
  });

  it.concurrent('exits 4 when --timeout runs out first', async () => {
    const r = await run(['wait', PLATFORM, session({ type: 'never' }), '--timeout', '1', '--json']);
    expect(r.code).toBe(4);
    expect(result(r.stdout)).toMatchObject({
      outcome: 'timeout',
      exitCode: 4,
      session: { status: 'pending' },
      error: { name: 'AuthTimeoutError' },
    });
  });

  it.concurrent('exits 5 for a key the API refuses (code 401), without showing that key', async () => {
    const id = session({ type: 'complete' });
    const r = await run(['wait', PLATFORM, id, '--json'], {
      env: { AITOEARN_API_KEY: WRONG_KEY },
      secrets: [WRONG_KEY],
    });
    expect(r.code).toBe(5);
    expect(result(r.stdout)).toMatchObject({
      outcome: 'api-error',
      error: { name: 'AitoearnApiError', code: 401, kind: 'unauthorized' },
    });
    const human = await run(['wait', PLATFORM, id], {
      env: { AITOEARN_API_KEY: WRONG_KEY },
      secrets: [WRONG_KEY],
    });
    expect(human.code).toBe(5);
    expect(human.stderr).toMatch(/^aitoearn-auth: .*code 401/m);
  });

  it.concurrent('exits 5 when the session belongs to another platform (code 15040)', async () => {
    const r = await run(['wait', 'youtube', session({ type: 'complete' }), '--json']);
    expect(r.code).toBe(5);
    expect(result(r.stdout)).toMatchObject({
      outcome: 'api-error',
      error: { code: 15040, kind: 'platform-mismatch' },
    });
  });

  it.concurrent('exits 6 when the API answers HTTP 503 until the deadline, after retrying', async () => {
    const before = down.requests.length;
    const r = await run(['wait', PLATFORM, 'abc', '--timeout', '2', '--json'], {
      env: { AITOEARN_BASE_URL: down.url },
    });
    expect(r.code).toBe(6);
    const records = ndjson(r.stdout);
    expect(records.at(-1)).toMatchObject({
      outcome: 'unavailable',
      exitCode: 6,
      error: { name: 'AitoearnUnavailableError' },
    });
    expect(records.some((p) => p.kind === 'retry' && /503/.test(String(p.warning)))).toBe(true);
    expect(down.requests.length - before).toBeGreaterThan(1);
  });
});

describe('interrupting aitoearn-auth wait', () => {
  it('exits 130 within 200 ms of SIGINT and sends nothing more', async () => {
    // The 200 ms bound is the command's; a loaded CI machine can delay this test's own event loop, so
    // the best of three interrupts must meet it, and every one must end well within a second.
    const exitTimes: number[] = [];
    for (let trial = 0; trial < 3; trial++) {
      const id = session({ type: 'never' });
      const run = start(['wait', PLATFORM, id]);
      await run.waitFor('stderr', /^aitoearn-auth: pending/);
      const sent = statusRequests(id);
      const killedAt = performance.now();
      run.child.kill('SIGINT');
      const exitedAt = await new Promise<number>((resolve) =>
        run.child.on('exit', () => resolve(performance.now())),
      );
      const r = await run.exited;
      exitTimes.push(exitedAt - killedAt);
      expect(r.code).toBe(130);
      expect(r.signal).toBeNull();
      expect(r.stderr).toMatch(/^aitoearn-auth: interrupted$/m);
      expect(r.stdout).toBe('');
      if (trial === 0) {
        // Longer than the waiter's next delay (about 1 s): a leftover poller would have sent by now.
        await delay(1300);
        expect(statusRequests(id)).toBe(sent);
      }
    }
    expect(Math.min(...exitTimes)).toBeLessThan(200);
    expect(Math.max(...exitTimes)).toBeLessThan(1000);
  });

  it('exits 143 on SIGTERM, with an aborted result line last (--json)', async () => {
    const run = start(['wait', PLATFORM, session({ type: 'never' }), '--json']);
    await run.waitFor('stdout', /"type":"poll"/);
    run.child.kill('SIGTERM');
    const r = await run.exited;
    expect(r.code).toBe(143);
    expect(result(r.stdout)).toMatchObject({
      outcome: 'aborted',
      exitCode: 143,
      session: { status: 'pending' },
      error: { message: 'interrupted by SIGTERM' },
    });
  });
});

describe('aitoearn-auth status', () => {
  it.concurrent('prints the session and exits 0, whatever its status', async () => {
    const done = session({ type: 'complete', accounts: ['Frank'] });
    const r = await run(['status', PLATFORM, done]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`sessionId: ${done}\n`);
    expect(r.stdout).toContain('status: completed\n');
    expect(r.stdout).toMatch(/^account: douyin Frank \(\S+\)$/m);

    const pending = await run(['status', PLATFORM, session({ type: 'never' }), '--json']);
    expect(pending.code).toBe(0);
    const records = ndjson(pending.stdout);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'ok', exitCode: 0, session: { status: 'pending' } });
  });

  it.concurrent('exits 3 for an unknown session, 5 for a refused key, 6 for an API that is down', async () => {
    const unknown = await run(['status', PLATFORM, 'no-such-session', '--json']);
    expect(unknown.code).toBe(3);
    expect(result(unknown.stdout)).toMatchObject({ outcome: 'expired', error: { code: 15039 } });

    const refused = await run(['status', PLATFORM, 'x'], {
      env: { AITOEARN_API_KEY: WRONG_KEY },
      secrets: [WRONG_KEY],
    });
    expect(refused.code).toBe(5);

    const unreachable = await run(['status', PLATFORM, 'x', '--json'], {
      env: { AITOEARN_BASE_URL: down.url },
    });
    expect(unreachable.code).toBe(6);
    expect(result(unreachable.stdout)).toMatchObject({
      outcome: 'unavailable',
      error: { name: 'AitoearnTransportError', httpStatus: 503 },
    });
  });
});

describe('where the key and the API come from', () => {
  it('reads the key from --api-key-file, which beats AITOEARN_API_KEY, dropping one trailing newline', async () => {
    const file = path.join(tmp, 'key');
    await writeFile(file, `${CANARY}\n`);
    const id = session({ type: 'complete' });
    const r = await run(['status', PLATFORM, id, '--api-key-file', file], {
      env: { AITOEARN_API_KEY: WRONG_KEY },
      secrets: [WRONG_KEY],
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('status: completed');
  });

  it('reads the key from stdin with --api-key-file -', async () => {
    const id = session({ type: 'complete' });
    const r = await run(['wait', PLATFORM, id, '--api-key-file', '-', '--quiet'], {
      env: { AITOEARN_API_KEY: undefined },
      input: `${CANARY}\r\n`,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^douyin Sandbox account 1 \(\S+\)\n$/);
  });

  it('lets --base-url beat AITOEARN_BASE_URL', async () => {
    const before = counter.requests.length;
    const r = await run(['status', PLATFORM, session({ type: 'complete' }), '--base-url', sandbox.url], {
      env: { AITOEARN_BASE_URL: counter.url },
    });
    expect(r.code).toBe(0);
    expect(counter.requests.length).toBe(before);
  });
});

describe('bad command lines', () => {
  const base = ['wait', PLATFORM, 'session-1'];
  const cases: [string, string[], Env, RegExp][] = [
    ['an unknown flag', [...base, '--frobnicate'], {}, /unknown option '--frobnicate'/],
    ['an unknown short flag', [...base, '-x'], {}, /unknown option '-x'/],
    ['an unknown subcommand', ['frobnicate', PLATFORM, 'session-1'], {}, /unknown command "frobnicate"/],
    ['no subcommand', [], {}, /missing a command/],
    ['no platform or session id', ['wait'], {}, /both are missing/],
    ['no session id', ['status', PLATFORM], {}, /<sessionId> is missing/],
    ['an extra argument (not echoed)', [...base, CANARY], {}, /exactly <platform> <sessionId>, got 3/],
    ['a bad --site', [...base, '--site', 'xx'], { AITOEARN_BASE_URL: undefined }, /--site must be cn or ai/],
    [
      'a bad AITOEARN_SITE',
      base,
      { AITOEARN_BASE_URL: undefined, AITOEARN_SITE: 'eu' },
      /AITOEARN_SITE must be cn or ai/,
    ],
    [
      '--site together with --base-url',
      [...base, '--site', 'cn', '--base-url', 'https://x.test'],
      {},
      /not both/,
    ],
    ['a --base-url that is not a URL', [...base, '--base-url', 'not a url'], {}, /baseUrl.*not a URL/],
    ['plain http to a non-loopback host', [...base, '--base-url', 'http://example.com'], {}, /unencrypted/],
    [
      '--api-key with a value',
      [...base, '--api-key', CANARY],
      {},
      /--api-key is refused.*'ps'.*AITOEARN_API_KEY/,
    ],
    ['--api-key=value', [...base, `--api-key=${CANARY}`], {}, /--api-key is refused/],
    ['--key with a value', [...base, '--key', CANARY], {}, /--key is refused/],
    ['a dot-dot session id', ['wait', PLATFORM, '..'], {}, /sessionId.*dot segment/],
    ['a session id with a slash', ['status', PLATFORM, 'a/b'], {}, /sessionId.*"\/"/],
    ['a platform with a slash', ['wait', 'a/b', 'session-1'], {}, /platform.*"\/"/],
    ['a negative --timeout', [...base, '--timeout', '-5'], {}, /--timeout needs a value/],
    [
      'a negative --timeout=',
      [...base, '--timeout=-5'],
      {},
      /--timeout must be a positive number of seconds, got "-5"/,
    ],
    ['a zero --timeout', [...base, '--timeout', '0'], {}, /--timeout must be a positive number/],
    ['a non-numeric --timeout', [...base, '--timeout', 'soon'], {}, /--timeout must be a positive number/],
    [
      '--timeout on status',
      ['status', PLATFORM, 'session-1', '--timeout', '5'],
      {},
      /--timeout does not apply to status/,
    ],
    ['--port on wait', [...base, '--port', '1'], {}, /--port does not apply to wait/],
    ['a bad sandbox --port', ['sandbox', '--port', '99999'], {}, /--port must be an integer/],
    ['a value for a boolean flag', [...base, '--json=yes'], {}, /--json' does not take an argument/],
    ['no key at all', base, { AITOEARN_API_KEY: undefined }, /no API key: set AITOEARN_API_KEY/],
    ['a key with whitespace', base, { AITOEARN_API_KEY: `${CANARY} x` }, /apiKey.*not shown/],
    [
      'an unreadable key file',
      [...base, '--api-key-file', '/nonexistent/aitoearn-key'],
      {},
      /cannot read the API key file.*ENOENT/,
    ],
    ['an empty key on stdin', [...base, '--api-key-file', '-'], {}, /API key on stdin is empty/],
  ];

  test.each(cases)(
    'exits 2 for %s, with a one-line reason and the usage hint, sending nothing',
    async (_name, args, env, reason) => {
      const r = await run(args, { env: { AITOEARN_BASE_URL: counter.url, ...env } });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^aitoearn-auth: /);
      expect(lines[0]).toMatch(reason);
      expect(lines[1]).toBe(USAGE_HINT);
      expect(lines[2]).toBe('');
      expect(counter.requests).toHaveLength(0);
    },
  );
});

describe('aitoearn-auth sandbox', () => {
  it('serves sessions at the printed URL until SIGTERM, then closes and exits 143', async () => {
    const proc = start(['sandbox', '--port', '0']);
    await proc.waitFor('stdout', /^ {2}export AITOEARN_API_KEY=/);
    const url = /^Sandbox listening on (\S+)$/m.exec(proc.output().stdout)?.[1] ?? '';
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(proc.output().stdout).toContain('export AITOEARN_API_KEY=sandbox-key\n');
    const created = await fetch(`${url}/sandbox/sessions`, {
      method: 'POST',
      headers: { 'X-Api-Key': 'sandbox-key', 'Content-Type': 'application/json' },
      body: JSON.stringify({ platform: PLATFORM, outcome: { type: 'complete' } }),
    });
    expect(created.status).toBe(201);
    const { sessionId } = (await created.json()) as { sessionId: string };
    const status = await run(['status', PLATFORM, sessionId], {
      env: { AITOEARN_BASE_URL: url, AITOEARN_API_KEY: 'sandbox-key' },
    });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('status: completed\n');

    proc.child.kill('SIGTERM');
    const r = await proc.exited;
    expect(r.code).toBe(143);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('prints a JSON ready line with --json and exits 130 on SIGINT', async () => {
    const proc = start(['sandbox', '--json']);
    await proc.waitFor('stdout', /"type":"ready"/);
    const ready = JSON.parse(proc.output().stdout) as { url: string; apiKey: string };
    expect(ready).toEqual({
      type: 'ready',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      apiKey: 'sandbox-key',
    });
    proc.child.kill('SIGINT');
    const r = await proc.exited;
    expect(r.code).toBe(130);
    await expect(fetch(ready.url)).rejects.toThrow();
  });
});
