/**
 * Fault suite: the real client and `waitForAuth` against a scripted `node:http` server on 127.0.0.1, with
 * 20–80 ms backoff. Each row asserts the outcome, the exact number of requests, that nothing is sent after
 * settling, and that neither errors nor progress events carry the key. Timing (deadlines, hints, aborts) is
 * pinned on the fake clock in wait-for-auth.test.ts; how the client classifies each answer, in client.test.ts.
 */
import { createHook } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import {
  AitoearnApiError,
  AitoearnTransportError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  type AuthProgress,
  type AuthSession,
  createAitoearnClient,
  describeAuthErrorCode,
  waitForAuth,
} from '../src/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import { CANARY, expectNoKey } from './helpers/canary.js';
import { collect } from './helpers/collect.js';
import { errorBody, json, startServer, statusBody } from './helpers/http-server.js';
import { liveResources } from './helpers/leaks.js';

const PLATFORM = 'douyin';
const SESSION_ID = 'sess-fault';
const STATUS_PATH = `/api/v2/channels/accounts/auth/${PLATFORM}/status/${SESSION_ID}`;
const EXPIRES_AT = new Date(Date.now() + 10 * 60_000).toISOString();
/** A generous request timeout, so that a loaded machine never turns a slow answer into a retry. */
const TUNING = { initialDelayMs: 20, maxDelayMs: 80, requestTimeoutMs: 2000, timeoutMs: 10_000 } as const;

/** What the server does with one request. */
type Step = (req: IncomingMessage, res: ServerResponse) => void;

const withStatus =
  (fields: Record<string, unknown>): Step =>
  (_req, res) =>
    json(
      res,
      statusBody({
        sessionId: SESSION_ID,
        status: 'pending',
        requiresSelection: false,
        expiresAt: EXPIRES_AT,
        ...fields,
      }),
    );
const pending = withStatus({});
const selecting = withStatus({
  requiresSelection: true,
  selectableAccounts: [{ platform: PLATFORM, platformUid: 'uid-1', displayName: 'Fault Tester' }],
});
const ACCOUNT = { accountId: 'acc-1', platform: PLATFORM, platformUid: 'uid-1', displayName: 'Fault Tester' };
const completed = withStatus({
  status: 'completed',
  accountId: 'acc-1',
  accountIds: ['acc-1'],
  accounts: [ACCOUNT],
});

/** A business error: HTTP 200 with a non-zero `code`, as the real API answers. */
const business =
  (code: number, message?: string): Step =>
  (_req, res) =>
    json(res, errorBody(code, message));

/** A gateway's HTML page that, like many debugging proxies, echoes the request headers — the key included. */
const gateway =
  (status: number): Step =>
  (req, res) =>
    res.writeHead(status, { 'Content-Type': 'text/html' }).end(`<pre>${JSON.stringify(req.headers)}</pre>`);

const hang: Step = () => {};
const reset: Step = (req) => req.socket.destroy();

/** Headers at once, the body 5 s later (long after the request timeout). */
const slowBody: Step = (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
  const timer = setTimeout(() => res.end('{}'), 5000);
  res.once('close', () => clearTimeout(timer));
};

/** Promises a longer body than it sends, then drops the connection. */
const truncated: Step = (req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 200 });
  res.write('{"code":0,"data":{"sessi', () => req.socket.destroy());
};

type ErrorClass = new (...args: never[]) => Error;

interface Run {
  readonly events: readonly AuthProgress[];
  readonly value: AuthSession | undefined;
  readonly error: unknown;
}

interface Row {
  /** Request i gets `script[i]`; the last step repeats. */
  readonly script: readonly Step[];
  readonly options?: { readonly requestTimeoutMs?: number; readonly retries?: number };
  readonly requests: number;
  /** The error's class and fields; none: resolves with the completed session. */
  readonly rejects?: ErrorClass;
  readonly fields?: Readonly<Record<string, unknown>>;
  readonly verify?: (run: Run) => void;
}

const statuses = (run: Run) => run.events.filter((event) => event.type === 'status');
const retryReasons = (run: Run) =>
  run.events
    .filter((event) => event.type === 'retry')
    .map((event) => (event.error instanceof AitoearnTransportError ? event.error.reason : event.error?.name));

const rows: Record<string, Row> = {
  'a session completed at once resolves after one request': {
    script: [completed],
    requests: 1,
    verify: ({ value, events }) => {
      expect(value?.accounts?.[0]?.displayName).toBe('Fault Tester');
      expect(events.map((event) => [event.type, event.status, event.attempt])).toEqual([
        ['status', 'completed', 1],
      ]);
    },
  },
  'pending → selection → pending → completed, and progress shows the selection': {
    script: [pending, selecting, pending, completed],
    requests: 4,
    verify: (run) => {
      expect(statuses(run).map((event) => event.selectionRequired)).toEqual([false, true, false, false]);
      expect(statuses(run).at(-1)?.nextDelayMs).toBeUndefined();
    },
  },
  'every kind of transient failure is retried, then completed; no event carries the key': {
    script: [
      gateway(408),
      gateway(502),
      business(500, `internal error for key ${CANARY}`),
      (_req, res) => res.writeHead(200).end('<html>maintenance</html>'),
      truncated,
      (_req, res) => json(res, statusBody({})),
      reset,
      completed,
    ],
    requests: 8,
    verify: (run) =>
      expect(retryReasons(run)).toEqual([
        'http-status',
        'http-status',
        'AitoearnApiError',
        'bad-body',
        'network',
        'bad-body',
        'network',
      ]),
  },
  'headers at once and the body 5 s later: the request times out and is retried': {
    script: [slowBody, completed],
    options: { requestTimeoutMs: 1000 },
    requests: 2,
    verify: (run) => expect(retryReasons(run)).toEqual(['timeout']),
  },
  'retries: 2 stops after three failed requests in a row': {
    script: [reset],
    options: { retries: 2 },
    requests: 3,
    rejects: AitoearnUnavailableError,
    fields: { failures: 3, cause: expect.objectContaining({ reason: 'network' }) },
  },
  'an unknown status "cancelled" is treated as pending, with one warning over several polls': {
    script: [withStatus({ status: 'cancelled' }), withStatus({ status: 'cancelled' }), completed],
    requests: 3,
    verify: (run) => {
      expect(statuses(run).map((event) => event.status)).toEqual(['cancelled', 'cancelled', 'completed']);
      const warnings = run.events.flatMap((event) => event.warning ?? []);
      expect(warnings).toEqual([expect.stringContaining('"cancelled"')]);
    },
  },
  'failed with errorCode 15045 gives AuthFailedError with the code and its meaning': {
    script: [pending, withStatus({ status: 'failed', errorCode: 15045 })],
    requests: 2,
    rejects: AuthFailedError,
    fields: { errorCode: 15045, meaning: describeAuthErrorCode(15045) },
  },
  'pending, then business 15039 (the server expired the session) gives AuthExpiredError': {
    script: [pending, business(15039)],
    requests: 2,
    rejects: AuthExpiredError,
    fields: {
      session: expect.objectContaining({ status: 'pending' }),
      cause: expect.objectContaining({ code: 15039, kind: 'session-invalid' }),
    },
  },
  'a business 401 whose message echoes the API key does not carry the key into the error': {
    script: [business(401, `invalid API key ${CANARY}`)],
    requests: 1,
    rejects: AitoearnApiError,
    fields: { code: 401, kind: 'unauthorized' },
  },
};
for (const code of [15040, 10002, 400, 99999]) {
  rows[`business code ${code} is terminal after one request`] = {
    script: [business(code)],
    requests: 1,
    rejects: AitoearnApiError,
    fields: { code, httpStatus: 200, requestId: `req-${code}` },
  };
}
for (const status of [401, 403, 404]) {
  rows[`HTTP ${status} is terminal after one request`] = {
    script: [gateway(status)],
    requests: 1,
    rejects: AitoearnTransportError,
    fields: { reason: 'http-status', httpStatus: status },
  };
}

describe('waitForAuth against a scripted real HTTP server', () => {
  test.concurrent.each(Object.entries(rows))('%s', async (_name, row) => {
    const server = await startServer((req, res, i) =>
      row.script[Math.min(i, row.script.length - 1)]?.(req, res),
    );
    const events: AuthProgress[] = [];
    const controller = new AbortController();
    const client = createAitoearnClient({ apiKey: CANARY, baseUrl: server.url });
    try {
      const { value, error } = await waitForAuth(client, {
        platform: PLATFORM,
        sessionId: SESSION_ID,
        signal: controller.signal,
        onProgress: (event) => events.push(event),
        ...TUNING,
        ...row.options,
      }).then(
        (session) => ({ value: session, error: undefined }),
        (thrown: unknown) => ({ value: undefined, error: thrown }),
      );
      const atSettle = server.requests.length;
      // A loop left running at 20 ms cadence would show within this pause.
      await delay(100);
      if (row.rejects === undefined) {
        expect(error).toBeUndefined();
        expect(value).toMatchObject({ status: 'completed', sessionId: SESSION_ID });
      } else {
        expect(error).toBeInstanceOf(row.rejects);
        expect(error).toMatchObject(row.fields ?? {});
      }
      expectNoKey(error, events);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      expect(atSettle).toBe(row.requests);
      expect(server.requests.length).toBe(atSettle);
      for (const request of server.requests) {
        expect(request.url).toBe(STATUS_PATH);
        expect(request.headers['x-api-key']).toBe(CANARY);
      }
      row.verify?.({ events, value, error });
    } finally {
      await server.close();
    }
  });
});

describe('after settling, nothing of the waiter keeps the process alive', () => {
  test.each([
    ['a completed wait', [pending, pending, completed], undefined],
    ['a terminal business error', [business(15040)], undefined],
    ['an abort during a 60 s sleep', [pending], { initialDelayMs: 60_000, maxDelayMs: 60_000 }],
    ['an abort during a hanging request', [hang], {}],
  ] as const)('no timer or socket of ours outlives %s', async (_name, script, abortable) => {
    const baseline = liveResources('Timeout', 'TCPSocketWrap');
    // Timers created while the wait runs and not yet fired or cleared (the destroy hook says which).
    const live = new Map<number, NodeJS.Timeout>();
    let tracking = true;
    const hook = createHook({
      init: (id, type, _trigger, resource) =>
        tracking && type === 'Timeout' && live.set(id, resource as NodeJS.Timeout),
      destroy: (id) => live.delete(id),
    });
    const controller = new AbortController();
    const server = await startServer((req, res, index) => {
      if (index === 0 && abortable) setTimeout(() => controller.abort(new Error('stop')), 50);
      script[Math.min(index, script.length - 1)]?.(req, res);
    });
    hook.enable();
    try {
      // The default timeoutMs (10 min) and requestTimeoutMs: a leaked deadline, sleep or request timer
      // would still be pending when the timers are counted.
      await waitForAuth(createAitoearnClient({ apiKey: CANARY, baseUrl: server.url }), {
        platform: PLATFORM,
        sessionId: SESSION_ID,
        signal: controller.signal,
        initialDelayMs: 20,
        maxDelayMs: 80,
        ...abortable,
      }).catch(() => {});
      tracking = false;
      await server.close();
      // Sockets close, and destroy hooks run, asynchronously: a bounded wait.
      for (let i = 0; i < 50 && liveResources('Timeout', 'TCPSocketWrap') > baseline; i += 1) await delay(20);
      await delay(20);
      expect([...live.values()].filter((timer) => timer.hasRef()).map((timer) => inspect(timer))).toEqual([]);
      expect(liveResources('Timeout', 'TCPSocketWrap')).toBeLessThanOrEqual(baseline);
    } finally {
      hook.disable();
      await server.close();
    }
  });
});

describe("the README's watchAuth example", () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dist = join(root, 'dist', 'index.js');

  /** The README's one code block that calls watchAuth, importing `module` and pointed at the sandbox. */
  function example(module: string): string {
    const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
      .map((match) => match[1] as string)
      .filter((block) => block.includes('watchAuth(client') && block.includes("site: 'cn'"));
    expect(blocks).toHaveLength(1);
    return (blocks[0] as string)
      .replace("site: 'cn'", "baseUrl: process.env.AITOEARN_BASE_URL ?? ''")
      .replace("from 'aitoearn-auth'", `from ${JSON.stringify(module)}`);
  }

  /** Runs `args` with node in a fresh directory holding `file` (the README example importing `module`). */
  async function inDir(file: string, module: string, args: (path: string) => string[], env = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'aitoearn-readme-'));
    try {
      writeFileSync(join(dir, file), example(module));
      // stdin is a pipe this test keeps open, as a terminal would be.
      const child = spawn(process.execPath, args(join(dir, file)), {
        cwd: dir,
        env: { ...process.env, ...env },
      });
      const guard = setTimeout(() => child.kill(), 55_000);
      try {
        return await collect(child).closed;
      } finally {
        clearTimeout(guard);
        child.stdin.destroy();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('type-checks against the built package', { timeout: 60_000 }, async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags =
      '--noEmit --skipLibCheck --strict --exactOptionalPropertyTypes --target es2022 --types node';
    const module = '--module nodenext --moduleResolution nodenext --typeRoots';
    const args = [...flags.split(' '), ...module.split(' '), join(root, 'node_modules', '@types')];
    // TypeScript resolves a path, not a file: URL; it finds dist/index.d.ts next to the module.
    const result = await inDir('watch.mts', dist, (file) => [tsc, ...args, file]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  test('runs to completion and exits by itself while stdin stays open, with no "undefined"', {
    timeout: 60_000,
  }, async () => {
    const sandbox = await startSandbox();
    try {
      const outcome = { type: 'complete', afterMs: 2500 } as const;
      const { sessionId } = sandbox.createSession({ platform: PLATFORM, outcome });
      const env = { AITOEARN_API_KEY: sandbox.apiKey, AITOEARN_BASE_URL: sandbox.url };
      const result = await inDir('watch.mjs', pathToFileURL(dist).href, (file) => [file, sessionId], env);
      expect(result.signal, `stderr: ${result.stderr}`).toBeNull();
      expect(result.code).toBe(0);
      const lines = result.stderr.trim().split('\n');
      // Pending (or, on a loaded machine, retrying) lines before the end; the session completes after 2.5 s.
      for (const line of lines.slice(0, -1)) expect(line).toMatch(/, next check in \d+ ms$/);
      expect(lines.at(-1)).toBe('completed');
      expect(result.stderr).not.toContain('undefined');
    } finally {
      await sandbox.close();
    }
  });
});
