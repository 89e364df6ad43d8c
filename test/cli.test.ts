/**
 * The built `aitoearn-auth` command, spawned as a subprocess exactly as users run it, against an in-process
 * sandbox (and real `node:http` servers for outages and for proving that bad command lines send nothing).
 * Every run goes through `run()`, which fails the test if a key appears in stdout or stderr.
 */

import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { parse } from 'yaml';
import { type Sandbox, type SandboxOutcome, startSandbox } from '../src/sandbox/index.js';
import { collect } from './helpers/collect.js';
import { json, startServer, type TestServer } from './helpers/http-server.js';

type AccountsSchema = { items: { properties: { platform: { enum: string[] } } } };

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = path.join(ROOT, 'dist/cli/main.js');
/** The key every run uses unless it says otherwise; it must never be printed. */
const CANARY = `canary-${randomUUID()}`;
const WRONG_KEY = `wrong-${randomUUID()}`;
/** The usage hint points to the command's own help when the command is known. */
const USAGE_HINT = /^Run 'aitoearn-auth (--help|help (wait|status|sandbox))' for usage\.$/;
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
    for (const args of [['--version'], ['-V'], ['-v'], ['version']]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(0);
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
      [70, 'a bug in aitoearn-auth'],
      [130, 'interrupted'],
      [143, 'SIGTERM'],
    ] as const) {
      expect(r.stdout).toMatch(new RegExp(`^ +${code} +.*${meaning}`, 'm'));
    }
    expect((await run(['help'])).stdout).toBe(r.stdout);
    expect((await run(['-h'])).stdout).toBe(r.stdout);
  });

  it('lists the 15 platforms the spec names in --help and in the help of a command that takes one', async () => {
    // As the vendored spec names them: the connected account's `platform` enum.
    const spec = parse(readFileSync(path.join(ROOT, 'openapi/aitoearn.openapi.yaml'), 'utf8')) as {
      components: { schemas: { AuthSessionStatusVo: { properties: { accounts: AccountsSchema } } } };
    };
    const platforms =
      spec.components.schemas.AuthSessionStatusVo.properties.accounts.items.properties.platform.enum;
    expect(platforms).toHaveLength(15);
    for (const args of [['--help'], ['help', 'wait'], ['status', '--help']]) {
      const { stdout } = await run(args);
      const listed = /^Platforms.*\n((?: {2}.*\n)+)/m.exec(stdout)?.[1] ?? '';
      expect(listed.split(/[\s,]+/).filter(Boolean), args.join(' ')).toEqual(platforms);
    }
  });

  it("prints only one command's usage for 'wait --help', 'help wait' and 'wait -h'", async () => {
    const help = await run(['wait', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: aitoearn-auth wait <platform> <sessionId> \[options\]\n/);
    expect(help.stdout).toContain('--timeout SECONDS');
    expect(help.stdout).toContain('--api-key-file PATH');
    // Nothing of the other commands.
    expect(help.stdout).not.toMatch(/--port|--host|aitoearn-auth status|aitoearn-auth sandbox/);
    expect((await run(['help', 'wait'])).stdout).toBe(help.stdout);
    expect((await run(['wait', '-h'])).stdout).toBe(help.stdout);
    expect(help.stdout).not.toBe((await run(['--help'])).stdout);

    const sandboxHelp = await run(['help', 'sandbox']);
    expect(sandboxHelp.stdout).toMatch(/^Usage: aitoearn-auth sandbox \[options\]\n/);
    expect(sandboxHelp.stdout).toContain('--port N');
    expect(sandboxHelp.stdout).not.toMatch(/--timeout|--api-key-file|<platform>/);

    const statusHelp = await run(['status', '--help']);
    expect(statusHelp.stdout).toMatch(/^Usage: aitoearn-auth status <platform> <sessionId>/);
    expect(statusHelp.stdout).not.toContain('--timeout');
  });

  it('refuses help on an unknown command, with a suggestion', async () => {
    const r = await run(['help', 'wiat']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^aitoearn-auth: unknown command "wiat": .*did you mean wait\?$/m);
  });
});

// Up to five commands run at once here, each spawned twice in some tests: a loaded 2-core machine needs time.
describe('aitoearn-auth wait', { timeout: 60_000 }, () => {
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
    expect(lines.at(-1)).toMatch(/^aitoearn-auth: completed after \d+s; 2 accounts connected$/);
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
    expect(r.stderr).toMatch(/^aitoearn-auth: completed after \d+s; 1 account connected$/m);
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
    // Long enough for a loaded machine to start the command before the session expires.
    const r = await run(['wait', PLATFORM, session({ type: 'never' }, 4000)]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^aitoearn-auth: pending · /m);
    expect(r.stderr).toMatch(/^aitoearn-auth: .*(expired|15039)/m);
  });

  it.concurrent('exits 4 when --timeout runs out first, saying so in the words of the command', async () => {
    const r = await run(['wait', PLATFORM, session({ type: 'never' }), '--timeout', '1', '--json']);
    expect(r.code).toBe(4);
    expect(result(r.stdout)).toMatchObject({
      outcome: 'timeout',
      exitCode: 4,
      session: { status: 'pending' },
      error: { name: 'AuthTimeoutError', message: 'gave up after --timeout 1 (last status: pending)' },
    });
    const human = await run(['wait', PLATFORM, session({ type: 'never' }), '--timeout', '1.5']);
    expect(human.code).toBe(4);
    expect(human.stderr).toMatch(/^aitoearn-auth: gave up after --timeout 1\.5 \(last status: pending\)$/m);
    expect(human.stderr).not.toMatch(/timeoutMs/);
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
  it('exits 130 on SIGINT during a long sleep, without waiting for the next check, and sends nothing more', async () => {
    const id = session({ type: 'never' });
    const run = start(['wait', PLATFORM, id]);
    // After the third check the waiter sleeps about 4 s (backoff 1 s, 2 s, 4 s).
    await until(() => statusRequests(id) >= 3);
    const sent = statusRequests(id);
    const killedAt = performance.now();
    run.child.kill('SIGINT');
    const exitedAt = await new Promise<number>((resolve) =>
      run.child.on('exit', () => resolve(performance.now())),
    );
    const r = await run.exited;
    expect(r.code).toBe(130);
    expect(r.signal).toBeNull();
    expect(r.stderr).toMatch(/^aitoearn-auth: interrupted$/m);
    expect(r.stdout).toBe('');
    // Behaviour, not speed (bench/ measures that): it ended inside the sleep, not after it, with a
    // second's margin for a loaded machine.
    expect(exitedAt - killedAt).toBeLessThan(3000);
    await delay(1300);
    expect(statusRequests(id)).toBe(sent);
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

describe('aitoearn-auth status', { timeout: 60_000 }, () => {
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

describe('a key file that never ends', () => {
  it('reads at most 16 KiB of /dev/zero, then refuses it (exit 2), sending nothing', async () => {
    const r = await run(['wait', PLATFORM, 'session-1', '--api-key-file', '/dev/zero'], {
      env: { AITOEARN_BASE_URL: counter.url },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^aitoearn-auth: the API key file "\/dev\/zero" is over 16384 bytes$/m);
    expect(counter.requests).toHaveLength(0);
  });

  it('stops reading a FIFO past 16 KiB although its writer never closes it', async () => {
    const fifo = path.join(tmp, `over-${randomUUID()}`);
    execFileSync('mkfifo', [fifo]);
    const proc = start(['status', PLATFORM, 'session-1', '--api-key-file', fifo], {
      env: { AITOEARN_BASE_URL: counter.url },
    });
    // Opening for writing blocks until the command opens the FIFO for reading; the writer then stays open.
    const writer = await open(fifo, 'w');
    try {
      await writer.write(Buffer.alloc(16 * 1024 + 1, 'k'));
      const r = await proc.exited;
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/the API key file ".*" is over 16384 bytes$/m);
    } finally {
      await writer.close();
    }
    expect(counter.requests).toHaveLength(0);
  });

  it('exits 130 on the first Ctrl-C while it waits for a FIFO that nobody writes', async () => {
    const fifo = path.join(tmp, `silent-${randomUUID()}`);
    execFileSync('mkfifo', [fifo]);
    const proc = start(['wait', PLATFORM, 'session-1', '--api-key-file', fifo], {
      env: { AITOEARN_BASE_URL: counter.url },
    });
    // The command opens the FIFO without blocking, so the test cannot see the open; it sees the process
    // holding the FIFO open among its descriptors, which comes after the signal handlers are installed.
    const holdsFifo = () => {
      try {
        return readdirSync(`/proc/${proc.child.pid}/fd`).some((fd) => {
          try {
            return readlinkSync(`/proc/${proc.child.pid}/fd/${fd}`) === fifo;
          } catch {
            return false;
          }
        });
      } catch {
        return false;
      }
    };
    await until(holdsFifo);
    proc.child.kill('SIGINT');
    const r = await proc.exited;
    expect(r.code).toBe(130);
    expect(r.signal).toBeNull();
    expect(r.stderr).toMatch(/^aitoearn-auth: interrupted$/m);
    expect(counter.requests).toHaveLength(0);
  });

  it('still reads a key that a FIFO delivers later', async () => {
    const fifo = path.join(tmp, `late-${randomUUID()}`);
    execFileSync('mkfifo', [fifo]);
    const id = session({ type: 'complete' });
    const proc = start(['status', PLATFORM, id, '--api-key-file', fifo], {
      env: { AITOEARN_API_KEY: WRONG_KEY },
      secrets: [WRONG_KEY],
    });
    await delay(300);
    const writer = await open(fifo, 'w');
    await writer.write(`${CANARY}\n`);
    await writer.close();
    const r = await proc.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('status: completed\n');
  });
});

describe('a bug (an error that is not one of ours)', { timeout: 60_000 }, () => {
  /** Makes the runtime fail under the command where no error of ours is expected: reading `Date`. */
  let inject: string;
  beforeAll(async () => {
    inject = path.join(tmp, 'inject-bug.mjs');
    await writeFile(
      inject,
      `const get = Headers.prototype.get;
Headers.prototype.get = function (name) {
  if (String(name).toLowerCase() === 'date') throw new TypeError('injected fault reading the Date header');
  return get.call(this, name);
};
`,
    );
  });

  function runWithBug(args: readonly string[], env: Env = {}) {
    return run(args, { env: { NODE_OPTIONS: `--import=${pathToFileURL(inject).href}`, ...env } });
  }

  it.concurrent('exits 70 and says it is a bug, not an outage (human)', async () => {
    const r = await runWithBug(['status', PLATFORM, session({ type: 'complete' })]);
    expect(r.code).toBe(70);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^aitoearn-auth: bug: TypeError: injected fault reading the Date header$/m);
    expect(r.stderr).toMatch(/^This is a bug in aitoearn-auth \d+\.\d+\.\d+.*retrying will not help\.$/m);
    expect(r.stderr).toMatch(/AITOEARN_DEBUG=1 adds the stack trace/);
    expect(r.stderr).not.toMatch(/^ +at /m);
  });

  it.concurrent('prints the stack with AITOEARN_DEBUG=1', async () => {
    const r = await runWithBug(['status', PLATFORM, session({ type: 'complete' })], { AITOEARN_DEBUG: '1' });
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/^ +at .*inject-bug\.mjs/m);
  });

  it.concurrent('ends wait --json with a result line of outcome "bug" and exit code 70', async () => {
    const r = await runWithBug(['wait', PLATFORM, session({ type: 'complete' }), '--json']);
    expect(r.code).toBe(70);
    expect(result(r.stdout)).toMatchObject({
      outcome: 'bug',
      exitCode: 70,
      error: { name: 'TypeError', message: 'injected fault reading the Date header' },
    });
  });
});

describe('a hostile server', { timeout: 60_000 }, () => {
  /** Control sequences a server might slip into any text: screen clear, window title, C1 CSI, bidi. */
  const EVIL = '\x1b[2J\x1b]0;pwned\x07\u009b31m\u202e\u2028';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;
  let hostile: TestServer;

  beforeAll(async () => {
    hostile = await startServer((req, res) => {
      const id = decodeURIComponent(req.url?.split('/').pop() ?? '');
      const session = {
        sessionId: `s${EVIL}`,
        requiresSelection: false,
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      };
      switch (id) {
        case 'api-error':
          return json(res, { code: 15040, message: `no${EVIL}`, data: {}, requestId: `rid${EVIL}` });
        case 'header-id':
          // Header bytes 0x80-0xff arrive as U+0080-U+00FF: 0x9b is a C1 CSI once decoded.
          return json(
            res,
            { code: 401, message: 'bad key', data: {} },
            { headers: { 'x-request-id': 'rid\u009b2J' } },
          );
        case 'failed':
          return json(res, {
            code: 0,
            message: 'ok',
            data: { ...session, status: 'failed', errorCode: 15045 },
            requestId: `rid${EVIL}`,
          });
        case 'weird-status':
          return json(res, { code: 0, message: 'ok', data: { ...session, status: `odd${EVIL}` } });
        default:
          return json(res, {
            code: 0,
            message: 'ok',
            data: {
              ...session,
              status: 'completed',
              accountIds: [`id${EVIL}`],
              accounts: [
                {
                  accountId: `id${EVIL}`,
                  platform: PLATFORM,
                  platformUid: 'u',
                  displayName: `Mallory${EVIL}`,
                },
              ],
            },
            requestId: `rid${EVIL}`,
          });
      }
    });
  });

  afterAll(() => hostile?.close());

  /** Nothing that acts on a terminal reaches stdout or stderr; every NDJSON line parses to safe strings. */
  function expectSafe(r: RunResult, json: boolean): void {
    expect(r.stdout).not.toMatch(UNSAFE);
    expect(r.stderr).not.toMatch(UNSAFE);
    if (!json) return;
    for (const record of ndjson(r.stdout)) {
      JSON.stringify(record, (_key, value: unknown) => {
        if (typeof value === 'string') expect(value).not.toMatch(UNSAFE);
        return value;
      });
    }
  }

  test.each([
    ['a business error message and request id', ['wait', PLATFORM, 'api-error'], 5],
    ['a request id in a header', ['status', PLATFORM, 'header-id'], 5],
    ['a failed session', ['wait', PLATFORM, 'failed'], 1],
    ['account names and ids', ['wait', PLATFORM, 'completed'], 0],
    [
      'a status the package does not know, then the expiry',
      ['wait', PLATFORM, 'weird-status', '--timeout', '1.2'],
      4,
    ],
    ['a session shown by status', ['status', PLATFORM, 'completed'], 0],
  ])('never prints control sequences from %s, in human or --json mode', async (_name, args, code) => {
    for (const mode of [[], ['--json']]) {
      const r = await run([...args, ...mode], { env: { AITOEARN_BASE_URL: hostile.url } });
      expect(r.code, `${args.join(' ')} ${mode.join(' ')}: ${r.stderr}`).toBe(code);
      expectSafe(r, mode.length > 0);
      // Replaced visibly, not dropped: a person sees that something was there.
      expect(`${r.stdout}${r.stderr}`).toMatch(/\\x1b\[2J|\\x9b/);
    }
  });
});

describe('bad command lines', () => {
  const base = ['wait', PLATFORM, 'session-1'];
  const cases: [string, string[], Env, RegExp][] = [
    ['an unknown flag', [...base, '--frobnicate'], {}, /unknown option '--frobnicate'$/],
    [
      'a misspelt flag',
      [...base, '--timout', '5'],
      {},
      /unknown option '--timout'; did you mean --timeout\?$/,
    ],
    ['a flag in the wrong case', [...base, '--JSON'], {}, /unknown option '--JSON'; did you mean --json\?$/],
    ['an unknown short flag', [...base, '-x'], {}, /unknown option '-x'/],
    ['an unknown subcommand', ['frobnicate', PLATFORM, 'session-1'], {}, /unknown command "frobnicate"/],
    [
      'a misspelt subcommand',
      ['stauts', PLATFORM, 'session-1'],
      {},
      /unknown command "stauts".*did you mean status\?$/,
    ],
    [
      'a platform in the wrong case',
      ['wait', 'DouYin', 'session-1'],
      {},
      /^aitoearn-auth: unknown platform "DouYin"; did you mean douyin\? \(platforms: douyin, xhs, wxSph, KWAI, youtube, wxGzh, bilibili, twitter, tiktok, facebook, instagram, threads, pinterest, linkedin, google_business\)$/,
    ],
    [
      'a misspelt platform',
      ['status', 'youtub', 'session-1'],
      {},
      /unknown platform "youtub"; did you mean youtube\?/,
    ],
    [
      'an unknown platform',
      ['wait', 'mastodon', 'session-1'],
      {},
      /unknown platform "mastodon" \(platforms: douyin, /,
    ],
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
    [
      'a --base-url that is not a URL',
      [...base, '--base-url', 'not a url'],
      {},
      /: --base-url must be an https URL .*, got "not a url": it is not a URL$/,
    ],
    [
      'plain http to a non-loopback host',
      [...base, '--base-url', 'http://example.com'],
      {},
      /: --base-url must be .*unencrypted/,
    ],
    [
      'an AITOEARN_BASE_URL with plain http',
      base,
      { AITOEARN_BASE_URL: 'http://example.com' },
      /: AITOEARN_BASE_URL must be .*unencrypted/,
    ],
    [
      'a --timeout longer than a timer can hold',
      [...base, '--timeout', '9999999'],
      {},
      /--timeout must be a positive number of seconds up to 2147483, got "9999999"$/,
    ],
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
    [
      'a platform with a slash (not shown)',
      ['wait', 'a/b', 'session-1'],
      {},
      /unknown platform a value \(not shown\)/,
    ],
    ['a negative --timeout', [...base, '--timeout', '-5'], {}, /--timeout needs a value/],
    [
      'a negative --timeout=',
      [...base, '--timeout=-5'],
      {},
      /--timeout must be a positive number of seconds up to 2147483, got "-5"$/,
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
    [
      'a key with whitespace',
      base,
      { AITOEARN_API_KEY: `${CANARY} x` },
      /: AITOEARN_API_KEY must be a non-empty string .*not shown/,
    ],
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
      expect(lines[1]).toMatch(USAGE_HINT);
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
