/**
 * Fault suite: the real client and `waitForAuth` against a real, scripted `node:http` server on 127.0.0.1,
 * on the real clock with compressed tuning (20–80 ms backoff, 300 ms request timeouts against hanging
 * servers, deadlines 1.5 s ahead). Each row scripts the server per request and asserts the outcome class,
 * the number of requests (a range where timing decides it, whose lower bound load cannot break), that
 * nothing is sent after settling or to any other origin, and that neither errors nor progress events carry
 * the key. How soon a wait settles (deadline + 1 s, abort) is pinned on the fake clock in
 * wait-for-auth.test.ts; the only times measured here are floors (a `Retry-After: 1` retry comes ≥ ~1 s
 * later), which load can only move further inside.
 */
import { createHook } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
  AuthTimeoutError,
  createAitoearnClient,
  describeAuthErrorCode,
  waitForAuth,
} from '../src/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import { collect } from './helpers/collect.js';
import { errorBody, json, startServer, statusBody, type TestServer } from './helpers/http-server.js';
import { liveResources } from './helpers/leaks.js';

/** The key every client here uses; no error may contain its distinctive part. */
const CANARY = 'CANARY-7d41-FAULT-KEY';
const NEEDLE = '7d41';
const PLATFORM = 'douyin';
const SESSION_ID = 'sess-fault';
const STATUS_PATH = `/api/v2/channels/accounts/auth/${PLATFORM}/status/${SESSION_ID}`;

/**
 * Compressed tuning on the real clock. The request timeout is generous by default, so that a loaded
 * machine never turns a slow answer into a retry (and an extra request); rows about hanging servers set a
 * short one. Likewise sessions expire 10 s ahead unless the row is about the deadline (then 1.5 s).
 */
const TUNING = { initialDelayMs: 20, maxDelayMs: 80, requestTimeoutMs: 2000 } as const;
const HANG_TIMEOUT_MS = 300;
const SHORT_EXPIRY_MS = 1500;
const DEFAULT_EXPIRES_IN_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------------------
// The scripted server

interface Ctx {
  /** The scripted server's clock (epoch ms): real time plus the row's skew. */
  readonly serverNow: () => number;
  /** What the server sends as its `Date` header: its clock (default), nothing, or garbage. */
  readonly date?: 'none' | 'garbage';
  /** The session's `expiresAt` in server time, or undefined when the row's sessions carry none. */
  readonly expiresAt: string | undefined;
  /** A second server on another port; a redirect points there, and it must never see a request. */
  readonly elsewhere?: TestServer;
}

/** What the server does with one request. */
type Step = (req: IncomingMessage, res: ServerResponse, ctx: Ctx) => void;

const httpDate = (ctx: Ctx) => new Date(ctx.serverNow()).toUTCString();

/** The `Date` header the row asks for (node:http adds its own unless told not to). */
function dated(res: ServerResponse, ctx: Ctx): Record<string, string> {
  if (ctx.date === 'none') {
    res.sendDate = false;
    return {};
  }
  return { Date: ctx.date === 'garbage' ? 'the day after yesterday' : httpDate(ctx) };
}

function send(
  res: ServerResponse,
  ctx: Ctx,
  body: unknown,
  options: { status?: number; headers?: Record<string, string> } = {},
): void {
  json(res, body, { status: options.status ?? 200, headers: { ...dated(res, ctx), ...options.headers } });
}

function session(ctx: Ctx, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    sessionId: SESSION_ID,
    status: 'pending',
    requiresSelection: false,
    ...(ctx.expiresAt === undefined ? {} : { expiresAt: ctx.expiresAt }),
    ...fields,
  };
}

const ACCOUNT = { accountId: 'acc-1', platform: PLATFORM, platformUid: 'uid-1', displayName: 'Fault Tester' };

const withStatus =
  (fields: Record<string, unknown>): Step =>
  (_req, res, ctx) =>
    send(res, ctx, statusBody(session(ctx, fields)));

const pending = withStatus({});
const selecting = withStatus({
  requiresSelection: true,
  selectableAccounts: [{ platform: PLATFORM, platformUid: 'uid-1', displayName: 'Fault Tester' }],
});
const completed = withStatus({
  status: 'completed',
  accountId: ACCOUNT.accountId,
  accountIds: [ACCOUNT.accountId],
  accounts: [ACCOUNT],
});
const failed = (errorCode: number) => withStatus({ status: 'failed', errorCode });

/** A business error: HTTP 200 with a non-zero `code`, as the real API answers. */
const business =
  (code: number, headers: (ctx: Ctx) => Record<string, string> = () => ({}), message?: string): Step =>
  (_req, res, ctx) =>
    send(res, ctx, errorBody(code, message), { headers: headers(ctx) });

/** A gateway answering with a real HTTP status and an HTML page. */
const gateway =
  (status: number, headers: (ctx: Ctx) => Record<string, string> = () => ({})): Step =>
  (req, res, ctx) => {
    // Like many debugging proxies, the page echoes the request headers — the API key included.
    const page = `<html><body><h1>${status}</h1><pre>${JSON.stringify(req.headers)}</pre></body></html>`;
    res.writeHead(status, {
      ...dated(res, ctx),
      'Content-Type': 'text/html',
      'Content-Length': Buffer.byteLength(page),
      ...headers(ctx),
    });
    res.end(page);
  };

const html200 = gateway(200);

/** Accepts the request and never answers. */
const hang: Step = () => {};

const reset: Step = (req) => {
  req.socket.destroy();
};

/** Writes the head of a `completed` answer and returns its body, for steps that then misbehave. */
function completedHead(res: ServerResponse, ctx: Ctx): string {
  const text = JSON.stringify(statusBody(session(ctx, { status: 'completed' })));
  res.writeHead(200, {
    ...dated(res, ctx),
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  return text;
}

/** Sends the headers at once and the body 5 s later (long after the request timeout). */
const slowBody: Step = (_req, res, ctx) => {
  const text = completedHead(res, ctx);
  res.flushHeaders();
  const timer = setTimeout(() => res.end(text), 5000);
  res.once('close', () => clearTimeout(timer));
};

/** Promises a longer body than it sends, then drops the connection. */
const truncated: Step = (req, res, ctx) => {
  const text = completedHead(res, ctx);
  res.write(text.slice(0, Math.floor(text.length / 2)), () => req.socket.destroy());
};

/** `code: 0` with the error envelope's `data: {}` — a shapeless body, not a session. */
const emptyData: Step = (_req, res, ctx) =>
  send(res, ctx, { code: 0, message: 'success', data: {}, timestamp: ctx.serverNow(), requestId: 'req-0' });

const redirectElsewhere: Step = (_req, res, ctx) => {
  if (!ctx.elsewhere) throw new Error('this row has no second server to redirect to');
  res.writeHead(302, {
    ...dated(res, ctx),
    Location: `${ctx.elsewhere.url}${STATUS_PATH}`,
    'Content-Length': 0,
  });
  res.end();
};

// ---------------------------------------------------------------------------------------------------------
// The table

type ErrorClass = new (...args: never[]) => Error;

type Expected =
  | { readonly resolves: 'completed' }
  | {
      readonly rejects: ErrorClass;
      readonly fields?: Readonly<Record<string, unknown>>;
      readonly cause?: { readonly is: ErrorClass; readonly fields?: Readonly<Record<string, unknown>> };
    }
  | { readonly abortReason: true };

interface Run {
  /** When each request reached the server (`performance.now()`). */
  readonly times: readonly number[];
  readonly events: readonly AuthProgress[];
  readonly value: AuthSession | undefined;
  readonly error: unknown;
}

interface Row {
  readonly name: string;
  /** Request i gets `script[i]`; the last step repeats. */
  readonly script: readonly Step[];
  /**
   * `expiresAt` this far ahead of the server's clock at the start; null: sessions carry no `expiresAt`
   * (also for rows that never answer with a session, whose deadline is then `timeoutMs`).
   */
  readonly expiresInMs?: number | null;
  readonly timeoutMs?: number;
  /** The server's clock runs this far ahead of real time (negative: behind). */
  readonly skewMs?: number;
  readonly options?: {
    readonly initialDelayMs?: number;
    readonly maxDelayMs?: number;
    readonly requestTimeoutMs?: number;
    readonly retries?: number;
  };
  /** The server's `Date` header: none, or garbage (then the server's clock is real time, unaligned). */
  readonly date?: 'none' | 'garbage';
  /** Abort before the call, or `afterMs` after request number `afterRequest` (from 0) reached the server. */
  readonly abort?: 'before' | { readonly afterRequest: number; readonly afterMs: number };
  /** The exact number of requests, or an inclusive range where backoff timing decides it. */
  readonly requests: number | readonly [number, number];
  readonly expected: Expected;
  readonly verify?: (run: Run) => void;
}

/**
 * The upper bound for "polls until a 1.5 s deadline": with no latency and the most jitter, requests at
 * 0, 18, 54, 126 ms, then every 72 ms up to 990 ms, and the final check at 1000 ms (deadline − 500 ms)
 * make 17; the lower bound only guards against polling that stops, and is loose because load stretches
 * every cycle.
 */
const POLLS_UNTIL_1500: readonly [number, number] = [1, 17];

const statusEvents = (run: Run) => run.events.filter((event) => event.type === 'status');
const retryReasons = (run: Run) =>
  run.events
    .filter((event) => event.type === 'retry')
    .map((event) => (event.error instanceof AitoearnTransportError ? event.error.reason : event.error?.name));

const rows: readonly Row[] = [
  {
    name: 'a session completed at once resolves after one request',
    script: [completed],
    requests: 1,
    expected: { resolves: 'completed' },
    verify: ({ value, events }) => {
      expect(value?.accountIds).toEqual(['acc-1']);
      expect(value?.accounts?.[0]?.displayName).toBe('Fault Tester');
      expect(events.map((event) => [event.type, event.status, event.attempt])).toEqual([
        ['status', 'completed', 1],
      ]);
    },
  },
  {
    name: 'pending three times, then completed',
    script: [pending, pending, pending, completed],
    requests: 4,
    expected: { resolves: 'completed' },
    verify: (run) => {
      expect(statusEvents(run).map((event) => event.status)).toEqual([
        'pending',
        'pending',
        'pending',
        'completed',
      ]);
      expect(statusEvents(run).at(-1)?.nextDelayMs).toBeUndefined();
    },
  },
  {
    name: 'a server that never answers until timeoutMs gives AitoearnUnavailableError (cause: timeout)',
    script: [hang],
    options: { requestTimeoutMs: HANG_TIMEOUT_MS },
    expiresInMs: null,
    timeoutMs: 1500,
    // 0, ~320, ~660 and the final check at ~1000 ms (each request times out after 300 ms); 2 under heavy load.
    requests: [1, 4],
    expected: {
      rejects: AitoearnUnavailableError,
      cause: { is: AitoearnTransportError, fields: { reason: 'timeout' } },
    },
  },
  {
    name: 'a server that stops answering after the first check, until expiresAt, gives AitoearnUnavailableError naming the expiry',
    script: [pending, hang],
    // Long enough for the first answer to arrive on a loaded machine, short enough to retry in 1.5 s.
    options: { requestTimeoutMs: 500 },
    expiresInMs: SHORT_EXPIRY_MS,
    // The answer, then hanging requests at ~20 ms, ~540 ms and (the final check) at ~1040 ms.
    requests: [1, 4],
    expected: {
      // The person may have finished during the outage: unknown, not expired.
      rejects: AitoearnUnavailableError,
      fields: {
        session: expect.objectContaining({ status: 'pending' }),
        expiresAt: expect.any(String),
        message: expect.stringMatching(/expired at .* meanwhile/),
      },
      cause: { is: AitoearnTransportError, fields: { reason: 'timeout' } },
    },
  },
  {
    name: 'a connection reset, then completed',
    script: [reset, completed],
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => expect(retryReasons(run)).toEqual(['network']),
  },
  {
    name: 'a connection reset on every request gives AitoearnUnavailableError (cause: network)',
    script: [reset],
    expiresInMs: null,
    timeoutMs: 1500,
    requests: POLLS_UNTIL_1500,
    expected: {
      rejects: AitoearnUnavailableError,
      cause: { is: AitoearnTransportError, fields: { reason: 'network' } },
    },
  },
  {
    name: 'headers at once and the body 5 s later: the request times out and is retried',
    script: [slowBody, completed],
    options: { requestTimeoutMs: 1000 },
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => {
      expect(retryReasons(run)).toEqual(['timeout']);
      // A floor: the retry waited for the 1 s request timeout (and not for the body, 5 s later). The
      // timeout starts when the client sends, a little before the server sees the request: half of it.
      expect((run.times[1] ?? 0) - (run.times[0] ?? 0)).toBeGreaterThanOrEqual(500);
    },
  },
  {
    name: 'HTTP 502 from a gateway, then completed',
    script: [gateway(502), completed],
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => expect(retryReasons(run)).toEqual(['http-status']),
  },
  {
    name: 'HTTP 503 on every request gives AitoearnUnavailableError (cause: HTTP 503)',
    script: [gateway(503)],
    expiresInMs: null,
    timeoutMs: 1500,
    requests: POLLS_UNTIL_1500,
    expected: {
      rejects: AitoearnUnavailableError,
      fields: { failures: expect.any(Number) },
      cause: { is: AitoearnTransportError, fields: { reason: 'http-status', httpStatus: 503 } },
    },
  },
  {
    name: 'HTTP 408, then HTTP 504, then business 500, then completed',
    script: [gateway(408), gateway(504), business(500), completed],
    requests: 4,
    expected: { resolves: 'completed' },
    verify: (run) => expect(retryReasons(run)).toEqual(['http-status', 'http-status', 'AitoearnApiError']),
  },
  {
    name: 'HTTP 429 with Retry-After: 1, then completed: the retry waits at least 1 s',
    script: [gateway(429, () => ({ 'Retry-After': '1' })), completed],
    expiresInMs: 3000,
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => {
      expect((run.times[1] ?? 0) - (run.times[0] ?? 0)).toBeGreaterThanOrEqual(980);
      expect(run.events[0]?.nextDelayMs).toBeGreaterThanOrEqual(980);
    },
  },
  {
    name: 'business 429 with X-RateLimit-Reset 1 s ahead, then completed: the retry waits at least 1 s',
    script: [business(429, (ctx) => ({ 'X-RateLimit-Reset': String(ctx.serverNow() + 1000) })), completed],
    expiresInMs: 3000,
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => {
      expect((run.times[1] ?? 0) - (run.times[0] ?? 0)).toBeGreaterThanOrEqual(980);
      expect(retryReasons(run)).toEqual(['AitoearnApiError']);
    },
  },
  {
    name: 'business 500, then completed',
    script: [business(500), completed],
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => expect(run.events[0]?.error).toMatchObject({ code: 500, kind: 'internal' }),
  },
  {
    name: 'an HTML error page with HTTP 200, then completed',
    script: [html200, completed],
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => expect(retryReasons(run)).toEqual(['bad-body']),
  },
  {
    name: 'truncated JSON (Content-Length larger than the body, then a reset), then completed',
    script: [truncated, completed],
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => expect(retryReasons(run)).toEqual(['network']),
  },
  {
    name: 'code 0 with data: {} is a shapeless body, retried, then completed',
    script: [emptyData, completed],
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => expect(retryReasons(run)).toEqual(['bad-body']),
  },
  {
    name: 'sessions without expiresAt wait until timeoutMs and give AuthTimeoutError',
    script: [pending],
    expiresInMs: null,
    timeoutMs: 1500,
    requests: POLLS_UNTIL_1500,
    expected: {
      rejects: AuthTimeoutError,
      fields: { timeoutMs: 1500, session: expect.objectContaining({ status: 'pending' }) },
    },
  },
  {
    name: 'an expiresAt already in the past gives AuthExpiredError after exactly one request',
    script: [pending],
    expiresInMs: -1000,
    requests: 1,
    expected: { rejects: AuthExpiredError, fields: { expiresAt: expect.any(String) } },
  },
  {
    name: 'a server clock 10 minutes ahead: expiresAt (server time, 1.5 s ahead) ends the wait at ~1.5 s',
    script: [pending],
    skewMs: 10 * 60_000,
    expiresInMs: SHORT_EXPIRY_MS,
    requests: POLLS_UNTIL_1500,
    expected: { rejects: AuthExpiredError },
  },
  {
    name: 'a server clock 10 minutes behind: the wait still lasts until ~1.5 s, not zero',
    script: [pending],
    skewMs: -10 * 60_000,
    expiresInMs: SHORT_EXPIRY_MS,
    requests: POLLS_UNTIL_1500,
    expected: { rejects: AuthExpiredError },
  },
  {
    name: 'status flips pending → selection → pending → completed, and progress shows the selection',
    script: [pending, selecting, pending, completed],
    requests: 4,
    expected: { resolves: 'completed' },
    verify: (run) =>
      expect(statusEvents(run).map((event) => event.selectionRequired)).toEqual([false, true, false, false]),
  },
  {
    name: 'completed after the user chose accounts',
    script: [selecting, selecting, completed],
    requests: 3,
    expected: { resolves: 'completed' },
    verify: (run) => {
      expect(statusEvents(run).map((event) => event.selectionRequired)).toEqual([true, true, false]);
      expect(run.value?.accountId).toBe('acc-1');
    },
  },
  {
    name: 'failed with errorCode 15045 gives AuthFailedError with the code and its meaning',
    script: [failed(15045)],
    requests: 1,
    expected: {
      rejects: AuthFailedError,
      fields: {
        errorCode: 15045,
        meaning: describeAuthErrorCode(15045),
        session: expect.objectContaining({ status: 'failed' }),
      },
    },
  },
  {
    name: 'pending, then failed with errorCode 15082',
    script: [pending, failed(15082)],
    requests: 2,
    expected: { rejects: AuthFailedError, fields: { errorCode: 15082 } },
  },
  ...([401, 15040, 10002, 400, 99999] as const).map(
    (code): Row => ({
      name: `business code ${code} is terminal after one request`,
      script: [business(code)],
      requests: 1,
      expected: { rejects: AitoearnApiError, fields: { code, httpStatus: 200, requestId: `req-${code}` } },
    }),
  ),
  {
    name: 'business code 15039 gives AuthExpiredError after one request',
    script: [business(15039)],
    requests: 1,
    expected: {
      rejects: AuthExpiredError,
      cause: { is: AitoearnApiError, fields: { code: 15039, kind: 'session-invalid' } },
    },
  },
  {
    name: 'pending, then 15039 (the server expired the session) gives AuthExpiredError',
    script: [pending, business(15039)],
    requests: 2,
    expected: {
      rejects: AuthExpiredError,
      fields: { session: expect.objectContaining({ status: 'pending' }) },
      cause: { is: AitoearnApiError, fields: { code: 15039 } },
    },
  },
  ...([401, 403, 404] as const).map(
    (status): Row => ({
      name: `HTTP ${status} is terminal after one request`,
      script: [gateway(status)],
      requests: 1,
      expected: { rejects: AitoearnTransportError, fields: { reason: 'http-status', httpStatus: status } },
    }),
  ),
  {
    name: 'a 302 to another origin is not followed: one request, none to the other server',
    script: [redirectElsewhere],
    requests: 1,
    expected: { rejects: AitoearnTransportError, fields: { reason: 'redirect', httpStatus: 302 } },
  },
  {
    name: 'an unknown status "cancelled" is treated as pending with one warning, then completed',
    script: [withStatus({ status: 'cancelled' }), completed],
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => {
      const warnings = run.events.filter((event) => event.warning !== undefined);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.warning).toContain('"cancelled"');
    },
  },
  {
    name: 'an unknown status over several polls warns exactly once',
    script: [
      withStatus({ status: 'cancelled' }),
      withStatus({ status: 'cancelled' }),
      withStatus({ status: 'cancelled' }),
      completed,
    ],
    requests: 4,
    expected: { resolves: 'completed' },
    verify: (run) => {
      expect(statusEvents(run).map((event) => event.status)).toEqual([
        'cancelled',
        'cancelled',
        'cancelled',
        'completed',
      ]);
      expect(run.events.filter((event) => event.warning !== undefined)).toHaveLength(1);
    },
  },
  {
    name: 'retries: 2 stops after three failed requests in a row with AitoearnUnavailableError',
    script: [reset],
    options: { retries: 2 },
    expiresInMs: null,
    requests: 3,
    expected: {
      rejects: AitoearnUnavailableError,
      fields: { failures: 3 },
      cause: { is: AitoearnTransportError, fields: { reason: 'network' } },
    },
  },
  {
    name: 'a request timeout longer than the whole wait is clipped to the deadline (timeoutMs)',
    script: [hang],
    options: { requestTimeoutMs: 10_000 },
    expiresInMs: null,
    timeoutMs: 1500,
    requests: 1,
    expected: {
      rejects: AitoearnUnavailableError,
      cause: { is: AitoearnTransportError, fields: { reason: 'timeout' } },
    },
  },
  {
    name: 'a request timeout longer than the whole wait is clipped to the deadline (expiresAt)',
    script: [pending, hang],
    options: { requestTimeoutMs: 10_000 },
    expiresInMs: SHORT_EXPIRY_MS,
    requests: 2,
    expected: {
      rejects: AitoearnUnavailableError,
      fields: { expiresAt: expect.any(String) },
      cause: { is: AitoearnTransportError, fields: { reason: 'timeout' } },
    },
  },
  {
    name: 'a Retry-After beyond the deadline: no request after it, settled by the deadline',
    script: [gateway(429, () => ({ 'Retry-After': '3600' })), completed],
    expiresInMs: null,
    timeoutMs: 1500,
    requests: 1,
    expected: {
      rejects: AitoearnUnavailableError,
      cause: { is: AitoearnTransportError, fields: { httpStatus: 429, retryAfterMs: 3_600_000 } },
    },
  },
  ...([10, -10] as const).map(
    (minutes): Row => ({
      name: `Retry-After as an HTTP date 1 s ahead, from a server 10 minutes ${minutes > 0 ? 'fast' : 'slow'}: waits ~1 s`,
      script: [
        gateway(503, (ctx) => ({ 'Retry-After': new Date(ctx.serverNow() + 1000).toUTCString() })),
        completed,
      ],
      skewMs: minutes * 60_000,
      expiresInMs: 3000,
      requests: 2,
      expected: { resolves: 'completed' },
      verify: (run) => expect((run.times[1] ?? 0) - (run.times[0] ?? 0)).toBeGreaterThanOrEqual(980),
    }),
  ),
  {
    name: 'X-RateLimit-Reset (server epoch ms) from a server 10 minutes slow: still waits ~1 s',
    script: [business(429, (ctx) => ({ 'X-RateLimit-Reset': String(ctx.serverNow() + 1000) })), completed],
    skewMs: -10 * 60_000,
    expiresInMs: 3000,
    requests: 2,
    expected: { resolves: 'completed' },
    verify: (run) => expect((run.times[1] ?? 0) - (run.times[0] ?? 0)).toBeGreaterThanOrEqual(980),
  },
  {
    name: 'no Date header: expiresAt is read on the local clock and ends the wait at ~1.5 s',
    script: [pending],
    date: 'none',
    expiresInMs: SHORT_EXPIRY_MS,
    requests: POLLS_UNTIL_1500,
    expected: { rejects: AuthExpiredError },
  },
  {
    name: 'an unparsable Date header falls back to the local clock',
    script: [pending, pending, completed],
    date: 'garbage',
    requests: 3,
    expected: { resolves: 'completed' },
  },
  {
    name: 'an expiresAt beyond timeoutMs: AuthTimeoutError at timeoutMs',
    script: [pending],
    expiresInMs: 60_000,
    timeoutMs: 1500,
    requests: POLLS_UNTIL_1500,
    expected: { rejects: AuthTimeoutError, fields: { timeoutMs: 1500 } },
  },
  {
    name: 'a business 401 whose message echoes the API key does not carry the key into the error',
    script: [business(401, () => ({}), `invalid API key ${CANARY}`)],
    requests: 1,
    expected: { rejects: AitoearnApiError, fields: { code: 401, kind: 'unauthorized' } },
  },
  {
    name: 'a business 500 whose message echoes the API key, then completed: no progress event carries it',
    script: [business(500, () => ({}), `internal error for key ${CANARY}`), completed],
    requests: 2,
    expected: { resolves: 'completed' },
  },
  {
    name: 'abort during a hanging request rejects with the reason at once and sends nothing more',
    script: [hang],
    // The default 2 s request timeout: only the abort can end the request within 250 ms.
    abort: { afterRequest: 0, afterMs: 100 },
    requests: 1,
    expected: { abortReason: true },
  },
  {
    name: 'abort during the sleep after the first answer sends nothing more',
    script: [pending],
    // A long sleep after the first check, so that the abort lands inside it.
    options: { initialDelayMs: 1000, maxDelayMs: 1000 },
    abort: { afterRequest: 0, afterMs: 100 },
    requests: 1,
    expected: { abortReason: true },
  },
  {
    name: 'abort during a retry sleep (after a 503) sends nothing more',
    script: [gateway(503)],
    options: { initialDelayMs: 1000, maxDelayMs: 1000 },
    abort: { afterRequest: 0, afterMs: 100 },
    requests: 1,
    expected: { abortReason: true },
  },
  {
    name: 'an already-aborted signal sends no request',
    script: [completed],
    abort: 'before',
    requests: 0,
    expected: { abortReason: true },
  },
];

// ---------------------------------------------------------------------------------------------------------
// Checks shared by every row

/** The key must not appear in the error, its inspection, its JSON, or anywhere down its `cause` chain. */
function expectNoKey(error: unknown): void {
  const texts = [inspect(error, { depth: 10, showHidden: true }), JSON.stringify(error) ?? ''];
  let link: unknown = error;
  for (let depth = 0; link !== undefined && depth < 10; depth += 1) {
    if (link instanceof Error) texts.push(link.message, String(link.stack), JSON.stringify(link) ?? '');
    else texts.push(String(link));
    link = link instanceof Error ? link.cause : undefined;
  }
  for (const text of texts) expect(text).not.toContain(NEEDLE);
}

function client(baseUrl: string) {
  return createAitoearnClient({ apiKey: CANARY, baseUrl });
}

const inRange = (count: number, expected: Row['requests']) =>
  typeof expected === 'number'
    ? expect(count).toBe(expected)
    : expect(count).toSatisfy(
        (n: number) => n >= expected[0] && n <= expected[1],
        `between ${expected[0]} and ${expected[1]} requests`,
      );

describe('waitForAuth against a scripted real HTTP server', () => {
  test.concurrent.each(rows.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const elsewhere = await startServer((_req, res) => json(res, statusBody({})));
    // The server's clock starts at x.500 s: its `Date` header (1 s resolution) then brackets the true time
    // evenly, so the waiter's offset estimate is as good as the header allows and errs only late. Without
    // a usable header the waiter falls back to the local wall clock, so the server keeps real time.
    const realNow = Date.now();
    const serverStart =
      row.date === undefined ? Math.ceil(realNow / 1000) * 1000 + 500 + (row.skewMs ?? 0) : realNow;
    const skew = serverStart - realNow;
    const expiresInMs = row.expiresInMs === undefined ? DEFAULT_EXPIRES_IN_MS : row.expiresInMs;
    const ctx: Ctx = {
      serverNow: () => Date.now() + skew,
      ...(row.date === undefined ? {} : { date: row.date }),
      expiresAt: expiresInMs === null ? undefined : new Date(serverStart + expiresInMs).toISOString(),
      elsewhere,
    };
    const controller = new AbortController();
    const reason = new Error('stopped by the test');
    let abortTimer: NodeJS.Timeout | undefined;
    const times: number[] = [];
    const server = await startServer((req, res, index) => {
      times.push(performance.now());
      const { abort } = row;
      if (typeof abort === 'object' && abort.afterRequest === index) {
        abortTimer = setTimeout(() => {
          controller.abort(reason);
        }, abort.afterMs);
      }
      const step = row.script[Math.min(index, row.script.length - 1)];
      step?.(req, res, ctx);
    });
    const events: AuthProgress[] = [];
    const timeoutMs = row.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    try {
      if (row.abort === 'before') controller.abort(reason);
      const outcome = await waitForAuth(client(server.url), {
        platform: PLATFORM,
        sessionId: SESSION_ID,
        timeoutMs,
        signal: controller.signal,
        onProgress: (event) => events.push(event),
        ...TUNING,
        ...row.options,
      }).then(
        (value) => ({ value, error: undefined }),
        (error: unknown) => ({ value: undefined, error }),
      );
      const atSettle = server.requests.length;
      // Nothing may be sent after settling: a leaked loop at 20 ms cadence would show within this pause.
      await delay(row.abort === undefined ? 100 : 300);

      // (1) The outcome class.
      const { expected } = row;
      if ('resolves' in expected) {
        expect(outcome.error).toBeUndefined();
        expect(outcome.value?.status).toBe(expected.resolves);
        expect(outcome.value?.sessionId).toBe(SESSION_ID);
      } else if ('abortReason' in expected) {
        expect(outcome.error).toBe(reason);
      } else {
        expect(outcome.error).toBeInstanceOf(expected.rejects);
        if (expected.fields) expect(outcome.error).toMatchObject(expected.fields);
        if (expected.cause) {
          const cause = (outcome.error as Error).cause;
          expect(cause).toBeInstanceOf(expected.cause.is);
          if (expected.cause.fields) expect(cause).toMatchObject(expected.cause.fields);
        }
      }
      if (outcome.error !== undefined) expectNoKey(outcome.error);
      expect(inspect(events, { depth: 10, showHidden: true })).not.toContain(NEEDLE);
      expect(JSON.stringify(events)).not.toContain(NEEDLE);
      // Every listener the waiter put on the caller's signal is gone.
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

      // (2) The number of requests; none after settling, none to another origin, all carrying the key.
      inRange(atSettle, row.requests);
      expect(server.requests.length).toBe(atSettle);
      expect(elsewhere.requests).toHaveLength(0);
      for (const request of server.requests) {
        expect(request.url).toBe(STATUS_PATH);
        expect(request.headers['x-api-key']).toBe(CANARY);
      }

      row.verify?.({ times, events, value: outcome.value, error: outcome.error });
    } finally {
      clearTimeout(abortTimer);
      await Promise.all([server.close(), elsewhere.close()]);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// No leaks

describe('after settling, nothing of the waiter keeps the process alive', () => {
  const leakCases: readonly {
    readonly name: string;
    readonly script: readonly Step[];
    readonly options?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
    /** Abort this long after the first request reached the server. */
    readonly abortAfterMs?: number;
    readonly settles: 'completed' | 'aborted' | 'rejected';
  }[] = [
    { name: 'a completed wait', script: [pending, pending, completed], settles: 'completed' },
    { name: 'a terminal business error', script: [business(15040)], settles: 'rejected' },
    {
      name: 'an abort during a 60 s sleep',
      script: [pending],
      options: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      abortAfterMs: 50,
      settles: 'aborted',
    },
    { name: 'an abort during a hanging request', script: [hang], abortAfterMs: 50, settles: 'aborted' },
  ];

  test.each(leakCases.map((row) => [row.name, row] as const))(
    'no Timeout of ours outlives %s once the server is closed',
    async (_name, row) => {
      const baselineTimeouts = liveResources('Timeout');
      const baselineSockets = liveResources('TCPSocketWrap');
      // Timers created while the wait runs and not yet fired or cleared (the destroy hook says which).
      const live = new Map<number, NodeJS.Timeout>();
      let tracking = true;
      const hook = createHook({
        init(id, type, _trigger, resource) {
          if (tracking && type === 'Timeout') live.set(id, resource as NodeJS.Timeout);
        },
        destroy(id) {
          live.delete(id);
        },
      });
      const ctx: Ctx = {
        serverNow: () => Date.now(),
        expiresAt: new Date(Date.now() + 120_000).toISOString(),
      };
      const controller = new AbortController();
      const server = await startServer((req, res, index) => {
        if (index === 0 && row.abortAfterMs !== undefined) {
          setTimeout(() => controller.abort(new Error('stop')), row.abortAfterMs);
        }
        row.script[Math.min(index, row.script.length - 1)]?.(req, res, ctx);
      });
      hook.enable();
      try {
        // The default timeoutMs (10 min) and requestTimeoutMs (10 s): a leaked deadline, sleep or request
        // timer would still be pending when the timers are counted.
        const settled = await waitForAuth(client(server.url), {
          platform: PLATFORM,
          sessionId: SESSION_ID,
          signal: controller.signal,
          initialDelayMs: 20,
          maxDelayMs: 80,
          ...row.options,
        }).then(
          (session) => session.status,
          () => (controller.signal.aborted ? 'aborted' : 'rejected'),
        );
        expect(settled).toBe(row.settles);
        tracking = false;
        await server.close();
        // Sockets close, and destroy hooks run, asynchronously: give them a moment (a bounded wait).
        for (let i = 0; i < 50 && liveResources('TCPSocketWrap') > baselineSockets; i += 1) await delay(20);
        await delay(20);
        const ours = [...live.values()].filter((timer) => timer.hasRef());
        expect(ours.map((timer) => inspect(timer, { depth: 0 }))).toEqual([]);
        expect(liveResources('Timeout')).toBeLessThanOrEqual(baselineTimeouts);
        expect(liveResources('TCPSocketWrap')).toBeLessThanOrEqual(baselineSockets);
      } finally {
        hook.disable();
        await server.close();
      }
    },
  );
});

describe("the README's watchAuth example", () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dist = join(root, 'dist', 'index.js');

  /** The README's one code block that calls watchAuth, importing `module` and pointed at the sandbox. */
  function example(module: string): string {
    const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
      .map((match) => match[1] as string)
      .filter((block) => block.includes('watchAuth(client'));
    expect(blocks).toHaveLength(1);
    const block = blocks[0] as string;
    const site = "site: 'cn'";
    const from = "from 'aitoearn-auth'";
    expect(block.split(site)).toHaveLength(2);
    expect(block.split(from)).toHaveLength(2);
    return block
      .replace(site, "baseUrl: process.env.AITOEARN_BASE_URL ?? ''")
      .replace(from, `from ${JSON.stringify(module)}`);
  }

  test('type-checks against the built package', { timeout: 60_000 }, async () => {
    expect(statSync(dist, { throwIfNoEntry: false }), 'run `npm run build`').toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'aitoearn-readme-'));
    try {
      const file = join(dir, 'watch.mts');
      // TypeScript resolves a path, not a file: URL; it finds dist/index.d.ts next to the module.
      writeFileSync(file, example(dist));
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const flags = ['--noEmit', '--skipLibCheck', '--strict', '--exactOptionalPropertyTypes'];
      const module = ['--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
      const types = ['--types', 'node', '--typeRoots', join(root, 'node_modules', '@types')];
      const run = collect(spawn(process.execPath, [tsc, ...flags, ...module, ...types, file], { cwd: dir }));
      const result = await run.closed;
      expect(result.stdout + result.stderr).toBe('');
      expect(result.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('runs to completion and exits by itself while stdin stays open, with no "undefined"', {
    timeout: 60_000,
  }, async () => {
    expect(statSync(dist, { throwIfNoEntry: false }), 'run `npm run build`').toBeDefined();
    const sandbox = await startSandbox();
    const dir = mkdtempSync(join(tmpdir(), 'aitoearn-readme-'));
    try {
      const file = join(dir, 'watch.mjs');
      writeFileSync(file, example(pathToFileURL(dist).href));
      const { sessionId } = sandbox.createSession({
        platform: PLATFORM,
        outcome: { type: 'complete', afterMs: 2500 },
      });
      const child = spawn(process.execPath, [file, sessionId], {
        // stdin is a pipe this test keeps open, as a terminal would be.
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, AITOEARN_API_KEY: sandbox.apiKey, AITOEARN_BASE_URL: sandbox.url },
      });
      const run = collect(child);
      const stopGuard = new AbortController();
      try {
        // The session completes after 2.5 s; a generous bound for a loaded machine.
        const guard = delay(30_000, 'still running' as const, { signal: stopGuard.signal });
        const ended = await Promise.race([run.closed, guard]);
        expect(ended, `stderr so far: ${run.stderr}`).not.toBe('still running');
        const result = await run.closed;
        expect(result.code).toBe(0);
        const lines = result.stderr.trim().split('\n');
        expect(lines[0]).toMatch(/^pending, next check in \d+ ms$/);
        expect(lines.at(-1)).toBe('completed');
        expect(result.stderr).not.toContain('undefined');
      } finally {
        stopGuard.abort();
        if (child.exitCode === null && child.signalCode === null) child.kill();
        child.stdin.destroy();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await sandbox.close();
    }
  });
});
