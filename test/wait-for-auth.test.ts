import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AitoearnInputError,
  AitoearnTransportError,
  AuthExpiredError,
  type AuthProgress,
  AuthTimeoutError,
  createAitoearnClient,
  AitoearnUnavailableError as Unavailable,
  type WaitForAuthOptions,
  waitForAuth,
  watchAuth,
} from '../src/index.js';
import { type FakeApiOptions, fakeApi, type Reply, SERVER_START_MS } from './helpers/fake-api.js';
import { FakeClock } from './helpers/fake-clock.js';

const MINUTE = 60_000;
const LONG = { expiresInMs: 5 * MINUTE, latencyMs: 0 };
const NOW = { latencyMs: 0 };
const pending: Reply = { status: 'pending' };
const completed: Reply = { status: 'completed' };
const WAIT = { platform: 'douyin', sessionId: 'sess-1' };
type Opts = Partial<WaitForAuthOptions>;

afterEach(() => vi.restoreAllMocks());

/** A scripted API on a virtual clock, and waits for session `sess-1` on it that collect their events. */
function setup(script: Parameters<typeof fakeApi>[1], api: FakeApiOptions = {}, options: Opts = {}) {
  const clock = new FakeClock();
  const { fetch, ...server } = fakeApi(clock, script, api);
  const client = createAitoearnClient({ apiKey: 'test-key', baseUrl: 'http://127.0.0.1:9', fetch });
  const events: AuthProgress[] = [];
  const onProgress = (event: AuthProgress) => events.push(event);
  const base = { ...WAIT, clock, sleep: clock.sleep, random: () => 0, onProgress, ...options };
  const start = (more: Opts = {}) => waitForAuth(client, { ...base, ...more });
  const watch = (more: Opts = {}) => watchAuth(client, { ...base, ...more });
  /** Runs a wait to its end on the virtual clock: its session, or what it rejected with. */
  const run = (more: Opts = {}) => clock.drive(start(more)).catch((error: unknown) => error);
  return { clock, server, client, events, start, watch, run };
}

async function consume(watch: AsyncIterable<AuthProgress>): Promise<AuthProgress[]> {
  const seen: AuthProgress[] = [];
  for await (const event of watch) seen.push(event);
  return seen;
}

const gaps = (calls: number[]) => calls.slice(1).map((t, i) => t - (calls[i] as number));
const between = (low: number, high: number) =>
  expect.toSatisfy((n: number) => n >= low && n <= high, `from ${low} to ${high}`);

describe('outcomes: each ends the wait, and nothing is sent or left behind after it', () => {
  const last = { session: { status: 'pending' } };
  const cause = { reason: 'network' };
  it.each<[string, Reply[], number, object]>([
    ['completed at once', [completed], 1, { status: 'completed', sessionId: 'sess-1' }],
    ['expired (15039)', [pending, { code: 15039 }], 2, { name: 'AuthExpiredError', cause: { code: 15039 } }],
    ['15040 after pending, with the last snapshot', [pending, { code: 15040 }], 2, { code: 15040, ...last }],
    // The budget ran out long before expiresAt: no expiry is named.
    ['retries: 2 ran out', [pending, { network: true }], 4, { failures: 3, expiresAt: undefined, cause }],
  ])('%s', async (_, script, requests, outcome) => {
    const controller = new AbortController();
    const { clock, server, run } = setup(script, LONG, { retries: 2, signal: controller.signal });
    const result = await run();
    expect(result).toMatchObject(outcome);
    if (result instanceof Error) expect(result).toMatchObject(last);
    if (result instanceof Unavailable) expect(result.message).not.toContain('expired');
    await clock.advance(MINUTE);
    expect(server.calls).toHaveLength(requests);
    expect(clock.pending).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const [request] = server.requests;
    expect(request?.url).toBe('http://127.0.0.1:9/api/v2/channels/accounts/auth/douyin/status/sess-1');
    expect(request?.headers.get('x-api-key')).toBe('test-key');
  });

  it('progress shows each check, the selection, an unknown status as pending (warned once), no next check after the last', async () => {
    const [selecting, unknown] = [{ ...pending, requiresSelection: true }, { status: 'cancelled' }];
    const { events, run } = setup([pending, selecting, unknown, unknown, completed], LONG);
    await run();
    expect(events.map((e) => [e.type, e.status, e.attempt, e.selectionRequired, e.nextDelayMs])).toEqual([
      ['status', 'pending', 1, false, 1000],
      ['status', 'pending', 2, true, 2000],
      ['status', 'cancelled', 3, false, 4000],
      ['status', 'cancelled', 4, false, 5000],
      ['status', 'completed', 5, false, undefined],
    ]);
    expect(events.flatMap((e) => e.warning ?? [])).toEqual([expect.stringContaining('"cancelled"')]);
  });
});

describe('schedule', () => {
  // An injected random that returns NaN or leaves [0, 1) counts as 0: it must not collapse the schedule.
  const randoms = [...[0, 0.999, Number.NaN, 5].map((r) => [r, 0.1]), [1, 0.9], [0.9999, 0.9]];
  it.each(randoms)('sends at 0, then backs off 1, 2, 4, then 5 s (random %d, jitter %d)', async (r, j) => {
    const { server, run } = setup((i) => (i < 7 ? pending : completed), LONG, { random: () => r, jitter: j });
    expect(await run()).toMatchObject({ status: 'completed' });
    const used = r >= 0 && r < 1 ? r : 0;
    expect(server.calls[0]).toBe(0);
    const backoff = [1, 2, 4, 5, 5, 5, 5].map((s) => Math.round(s * 1000 * (1 - j * used)));
    expect(gaps(server.calls)).toEqual(backoff);
  });

  it('makes one last check just before expiresAt and settles at expiresAt, not after', async () => {
    const { server, clock, run } = setup([pending], { expiresInMs: 10_500, latencyMs: 0 });
    expect(await run()).toBeInstanceOf(AuthExpiredError);
    // 12 s would pass expiresAt, so the final check moves before it; the Date header's 1 s resolution
    // puts the local estimate of expiresAt within ±500 ms.
    expect(server.calls).toEqual([0, 1000, 3000, 7000, between(9500, 10_499)]);
    expect(clock.now()).toEqual(between(10_000, 11_500));
  });

  const every5s = Array.from({ length: 11 }, (_, i) => 7000 + 5000 * i);
  const hint = (s: number): Reply => ({ http: 429, headers: { 'retry-after': String(s) } });
  const failing = [pending, pending, { http: 503 }, pending];
  // A final check at 3.1, 3.5 or 3.7 s would come sooner than initialDelayMs after the request at 3 s.
  it.each<[string, Reply[], FakeApiOptions, number, new (...args: never[]) => Error, number[]]>([
    ['timeoutMs before expiresAt', [pending], LONG, 4000, AuthTimeoutError, [0, 1000, 3000]],
    ['no expiresAt', [pending], NOW, 60_000, AuthTimeoutError, [0, 1000, 3000, ...every5s, 59_500]],
    ['no final check too close', [pending], LONG, 3600, AuthTimeoutError, [0, 1000, 3000]],
    ['a final check', [pending], LONG, 4200, AuthTimeoutError, [0, 1000, 3000, 4000]],
    ['no retry too close', failing, LONG, 3700, Unavailable, [0, 1000, 3000]],
    ['a Retry-After past the deadline', [hint(3600)], NOW, 5000, Unavailable, [0]],
  ])('%s: timeoutMs %i, requests at %o', async (_, script, api, timeoutMs, end, calls) => {
    const { server, clock, run } = setup(script, api, { timeoutMs });
    const error = await run();
    expect(error).toBeInstanceOf(end);
    if (end === AuthTimeoutError) expect(error).toMatchObject({ timeoutMs, session: { status: 'pending' } });
    expect(server.calls).toEqual(calls);
    expect(clock.now()).toBe(timeoutMs);
  });

  it('never hands the sleep a delay of 2^31 ms or more, even when a server hint asks for weeks', async () => {
    const weeks = 40 * 24 * 3600;
    const { clock, server, run } = setup([hint(weeks), completed], NOW, { timeoutMs: 60 * 24 * 3600 * 1000 });
    await run();
    expect(server.calls[1]).toBeGreaterThanOrEqual(weeks * 1000);
    expect(Math.max(...clock.sleeps)).toBeLessThan(2 ** 31);
  });
});

const scenario = async (localSkewMs: number, serverSkewMs: number, sendDate = true) => {
  const api = { expiresInMs: 30_000, serverStartMs: SERVER_START_MS + serverSkewMs, sendDate };
  const { clock, server, run } = setup([pending], { ...api, latencyMs: 20 });
  clock.wallOffsetMs += localSkewMs;
  expect(await run()).toBeInstanceOf(AuthExpiredError);
  expect(Math.abs(clock.now() - 30_000)).toBeLessThanOrEqual(1000);
  return { end: clock.now(), calls: server.calls.length };
};

it.each([
  ['10 minutes fast', 10 * MINUTE, 0],
  ['10 minutes slow', -10 * MINUTE, 0],
  ['right, while the server runs an hour ahead', 0, 60 * MINUTE],
])('stops at expiresAt when the local clock is %s', async (_, local, server) => {
  expect(await scenario(local, server)).toEqual(await scenario(0, 0));
});

it('falls back to the local wall clock when the server sends no Date header', () => scenario(0, 0, false));

const date = (skew: number) => ({ 'retry-after': new Date(SERVER_START_MS + skew + 3000).toUTCString() });
const reset = { 'x-ratelimit-reset': String(SERVER_START_MS + 4000) };
// The server's clock is read from a Date header of 1 s resolution.
it.each<[string, Reply, number, number, number]>([
  ['Retry-After on a business 429', { code: 429, headers: { 'retry-after': '7' } }, 0, 7000, 7000],
  ['Retry-After on an HTTP 503', { http: 503, headers: { 'retry-after': '3' } }, 0, 3000, 3000],
  ['X-RateLimit-Reset', { code: 429, headers: reset }, 0, 3000, 5000],
  ['an HTTP-date Retry-After', { http: 503, headers: date(10 * MINUTE) }, 10 * MINUTE, 2000, 4000],
  ['an HTTP-date Retry-After', { http: 503, headers: date(-10 * MINUTE) }, -10 * MINUTE, 2000, 4000],
])('server hints are floors: waits for %s (server clock off by %i ms)', async (_, reply, skew, low, high) => {
  const { server, run } = setup([reply, completed], { ...LONG, serverStartMs: SERVER_START_MS + skew });
  await run();
  expect(server.calls[1]).toEqual(between(low, high));
});

it.each([
  ['never answers', { hang: true }],
  ['ignores the abort signal in a custom fetch', { deaf: true }],
] as const)('ends with AitoearnUnavailableError by the deadline when the API %s', async (_, reply) => {
  const { clock, server, run } = setup([reply], {}, { timeoutMs: 30_000, requestTimeoutMs: 10_000 });
  expect(await run()).toBeInstanceOf(Unavailable);
  expect(clock.now()).toBeLessThanOrEqual(31_000);
  expect(server.calls.length).toBeGreaterThanOrEqual(3);
});

it('transient failures until expiresAt are named as such (the person may have finished), unless the final check finds pending', async () => {
  const { clock, server, run } = setup([pending, { hang: true }], { expiresInMs: 20_000 });
  const error = await run({ requestTimeoutMs: 3000 });
  const expiresAt = new Date(SERVER_START_MS + 20_000).toISOString();
  const failures = server.calls.length - 1;
  expect(error).toBeInstanceOf(Unavailable);
  const message = expect.stringContaining(`expired at ${expiresAt}`);
  const cause = expect.any(AitoearnTransportError);
  expect(error).toMatchObject({ expiresAt, failures, session: { status: 'pending' }, message, cause });
  expect(clock.now()).toBeLessThanOrEqual(21_000);
  const late = setup([pending, { http: 503 }, { http: 503 }, pending], { expiresInMs: 20_000 });
  expect(await late.run({ requestTimeoutMs: 3000 })).toBeInstanceOf(AuthExpiredError);
});

const at = (ms: number) => ({ expiresAt: new Date(SERVER_START_MS + ms).toISOString() });

it('expiresAt is re-read from every answer: one that moves it later keeps the checking going, and the final check is re-planned', async () => {
  // expiresAt 10.5 s until the final check's answer moves it to 70 s; the person finishes at ~20 s.
  const { server, run } = setup((i) => {
    if (i < 4) return { status: 'pending', extra: at(10_500) };
    return { status: (server.calls.at(-1) ?? 0) < 20_000 ? 'pending' : 'completed', extra: at(70_000) };
  }, NOW);
  expect(await run()).toMatchObject({ status: 'completed' });
  expect(server.calls[4]).toBeGreaterThanOrEqual(9500);
  expect(server.calls.at(-1)).toBeGreaterThanOrEqual(20_000);
});

it('expiresAt is re-read from every answer: one that moves it earlier ends the wait at the new expiry', async () => {
  const earlier = (i: number): Reply => ({ status: 'pending', extra: at(i ? 8000 : 5 * MINUTE) });
  const { server, clock, run } = setup(earlier, NOW);
  expect(await run()).toBeInstanceOf(AuthExpiredError);
  expect(clock.now()).toBeLessThanOrEqual(9000);
  expect(server.calls.at(-1)).toBeLessThan(8000);
});

it.each([
  ['before the start', 0, new Error('user pressed Ctrl-C')],
  ['during a sleep', 500, new Error('user pressed Ctrl-C')],
  // A reason that looks transient is not retried, nor reported as a retry.
  ['during a request', 1500, new AitoearnTransportError('network', 'the caller aborted, looking transient')],
])('%s settles at once with the reason, and sends nothing more', async (_, abortAt, reason) => {
  const controller = new AbortController();
  const { clock, server, events, start } = setup([pending, { hang: true }]);
  if (abortAt === 0) controller.abort(reason);
  const outcome = start({ signal: controller.signal }).catch((error: unknown) => error);
  if (abortAt > 0) await clock.advance(abortAt);
  const sent = server.calls.length;
  expect(sent).toBe(Math.ceil(abortAt / 1000));
  controller.abort(reason);
  expect(await outcome).toBe(reason);
  expect(clock.pending).toBe(0);
  await clock.advance(MINUTE);
  expect(server.calls).toHaveLength(sent);
  expect(events.map((e) => e.type)).toEqual(sent > 0 ? ['status'] : []);
});

it('poke: the first checks at once, even right after a scheduled check; later ones no sooner than initialDelayMs after the last request, even 5,000 of them', async () => {
  const { clock, server, watch } = setup([pending], LONG);
  const watching = watch();
  const consumed = consume(watching);
  await clock.advance(1000);
  expect(server.calls).toEqual([0, 1000]);
  watching.poke();
  await clock.advance(0);
  expect(server.calls).toEqual([0, 1000, 1000]);
  watching.poke();
  await clock.advance(999);
  expect(server.calls).toHaveLength(3);
  await clock.advance(1);
  expect(server.calls).toEqual([0, 1000, 1000, 2000]);
  for (let i = 1; i <= 5000; i++) {
    watching.poke();
    if (i % 500 === 0) await clock.advance(1000);
  }
  // 10 s of forged pokes: one check per initialDelayMs (1 s) after the last request, no more.
  expect([9, 10]).toContain(server.calls.length - 4);
  expect(Math.min(...gaps(server.calls.slice(2)))).toBeGreaterThanOrEqual(1000);
  await watching.return?.();
  await clock.drive(consumed);
});

describe('watchAuth', () => {
  it('yields frozen snapshots, ends after completed, and throws what waitForAuth rejects with', async () => {
    const { clock, events, watch } = setup([pending, completed], LONG);
    const seen = await clock.drive(consume(watch()));
    expect(seen.map((e) => e.status)).toEqual(['pending', 'completed']);
    expect(seen).toEqual(events);
    expect(Object.isFrozen(seen[0]?.session)).toBe(true);
    expect(() => Object.assign(seen[0] ?? {}, { attempt: 99 })).toThrow(TypeError);
    const expired = setup([{ code: 15039 }]);
    await expect(expired.clock.drive(consume(expired.watch()))).rejects.toBeInstanceOf(AuthExpiredError);
  });

  it('answers concurrent next() calls in order, none left pending', async () => {
    const { clock, watch } = setup([pending, completed], LONG);
    const watching = watch();
    const results = await clock.drive(Promise.all([watching.next(), watching.next(), watching.next()]));
    expect(results.map((r) => (r.done ? 'done' : r.value.status))).toEqual(['pending', 'completed', 'done']);
  });

  const leaving = ['return', 'return', 'throw'].map((how, i) => [i === 1, how] as const);
  it.each(leaving)('stops at once when the loop is left (queued: %s; by %s())', async (queued, how) => {
    const { clock, server, watch } = setup([pending], LONG);
    const watching = watch();
    expect((await clock.drive(watching.next())).done).toBe(false);
    const waiting = queued ? [watching.next(), watching.next()] : [];
    await clock.advance(10);
    const left = new Error('left');
    await (how === 'return' ? watching.return?.() : expect(watching.throw?.(left)).rejects.toBe(left));
    expect((await Promise.all(waiting)).map((r) => r.done)).toEqual(queued ? [true, true] : []);
    await clock.advance(5 * MINUTE);
    expect(server.calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });
});

it.each([
  [{ timeoutMs: 0 }, 'timeoutMs'],
  [{ timeoutMs: Number.NaN }, 'timeoutMs'],
  [{ initialDelayMs: 0 }, 'initialDelayMs'],
  [{ maxDelayMs: 10, initialDelayMs: 100 }, 'maxDelayMs'],
  [{ factor: 0.5 }, 'factor'],
  [{ jitter: 0.95 }, 'jitter'],
  [{ requestTimeoutMs: -1 }, 'requestTimeoutMs'],
  [{ retries: -1 }, 'retries'],
  [{ retries: 1.5 }, 'retries'],
  [{ onProgress: 'yes' }, 'onProgress'],
  [{ sleep: 5 }, 'sleep'],
  [{ random: {} }, 'random'],
  [{ clock: null }, 'clock'],
  [{ clock: { now: () => 0 } }, 'clock.wallNow'],
  [{ sessionId: '..' }, 'sessionId'],
  [{ platform: '' }, 'platform'],
])('the option %o is refused before any request, naming %s', async (bad, field) => {
  const { server, start, watch } = setup([completed]);
  const error = await start(bad as Opts).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AitoearnInputError);
  expect(error).toMatchObject({ field, message: expect.stringContaining(`"${field}"`) });
  expect(() => watch(bad as Opts)).toThrow(AitoearnInputError);
  expect(server.calls).toHaveLength(0);
});

describe('what the caller’s callbacks and sleep throw ends the wait with that error, at once', () => {
  it.each([
    ['a retry event’s (transient) error, rethrown', { http: 503 } as Reply, 'retry', false],
    ['a transient-looking error on a status event', pending, 'status', false],
    ['a retry event’s error, through watchAuth', { code: 500 } as Reply, 'retry', true],
  ])('onProgress throwing %s is not retried', async (_, first, type, watching) => {
    const { clock, server, start, watch } = setup([first, completed], NOW);
    const reports: AuthProgress[] = [];
    const thrown = new AitoearnTransportError('network', 'looks transient, but the caller threw it');
    const onProgress = (event: AuthProgress) => {
      reports.push(event);
      throw event.error ?? thrown;
    };
    // A budget, so that retrying the callback's throw would end instead of spinning.
    const budget = { retries: 50, onProgress };
    const waiting = watching ? consume(watch(budget)) : start(budget);
    expect(await clock.drive<unknown>(waiting).catch((e) => e)).toBe(reports[0]?.error ?? thrown);
    expect(reports.map((r) => r.type)).toEqual([type]);
    await clock.advance(MINUTE);
    expect(server.calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  // An unhandled rejection would fail the run (vitest reports it).
  it('a promise returned by onProgress is awaited, and its rejection ends the wait', async () => {
    const { clock, server, run } = setup([pending], LONG);
    const thrown = new Error('could not open the browser');
    const onProgress = () =>
      clock.sleep(3000, new AbortController().signal).then(() => Promise.reject(thrown));
    expect(await run({ onProgress })).toBe(thrown);
    // No check was sent while the callback ran (the next one was due after 1 s).
    expect(server.calls).toEqual([0]);
  });

  it('what an injected sleep throws during a retry ends the wait as it is, never wrapped by p-retry', async () => {
    const { clock, run } = setup([{ http: 503, headers: { 'retry-after': '2' } }], NOW);
    let sleeps = 0;
    // The first sleep times the request; the second, the retry's floor (the Retry-After), fails with a non-Error.
    const sleep = (ms: number, signal: AbortSignal) =>
      ++sleeps > 1 ? Promise.reject('boom') : clock.sleep(ms, signal);
    expect(await run({ sleep })).toBe('boom');
  });

  it('a request is still timed out when an injected sleep fails on its own: the wait ends with its error', async () => {
    const { server, run } = setup([{ deaf: true }], LONG);
    const broken = new Error('the caller’s sleep broke');
    expect(await run({ sleep: () => Promise.reject(broken) })).toBe(broken);
    expect(server.calls).toHaveLength(1);
  });
});

/** What starting an authorization answers, plus the request id: a natural thing to spread. */
const started = {
  url: 'https://open.douyin.com/platform/oauth/connect?client_key=x',
  sessionId: 'sess-1',
  expiresAt: new Date(SERVER_START_MS + 5 * MINUTE).toISOString(),
  authInstructions: { 'en-US': 'Scan the code', 'zh-CN': '扫码' },
  requestId: 'req-0',
  callbackUrl: 'http://127.0.0.1:8123/cb',
};

it('{ ...started, timeoutMs } type-checks and runs, without a warning', async () => {
  const warn = vi.spyOn(process, 'emitWarning');
  const { clock, server, client } = setup([completed]);
  const options = { ...started, platform: 'douyin', clock, sleep: clock.sleep, timeoutMs: 120_000 };
  expect(await clock.drive(waitForAuth(client, options))).toMatchObject({ status: 'completed' });
  expect((await clock.drive(consume(watchAuth(client, options)))).at(-1)?.status).toBe('completed');
  expect(server.calls).toHaveLength(2);
  expect(warn).not.toHaveBeenCalled();
});

it('a likely typo (`timeout`) is ignored with a one-time warning that names the option meant', async () => {
  const warn = vi.spyOn(process, 'emitWarning');
  const { clock, run } = setup([pending], { expiresInMs: 30_000 });
  // `timeout` is not `timeoutMs`: the wait runs to expiresAt, not 5 s.
  expect(await run({ timeout: 5000 } as Opts)).toBeInstanceOf(AuthExpiredError);
  expect(clock.now()).toBeGreaterThan(29_000);
  await run({ timeout: 5000 } as Opts);
  const message = 'Unknown option "timeout" of waitForAuth/watchAuth is ignored; did you mean "timeoutMs"?';
  expect(warn.mock.calls).toEqual([[message, { code: 'AITOEARN_UNKNOWN_OPTION' }]]);
});

const none = ['tim', ...Object.keys(started).filter((k) => k !== 'sessionId')].map((k) => [k, '']);
const hints = { TIMEOUTMS: 'timeoutMs', time: 'timeoutMs', requestTimeout: 'requestTimeoutMs' };
const typos = [...Object.entries({ ...hints, maxDelay: 'maxDelayMs', onprogress: 'onProgress' }), ...none];
it.each(typos)('the key %s is taken for a typo of "%s"', (key, meant) => {
  const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
  setup([]).watch({ [key]: 1 });
  const said = warn.mock.calls.map(([message]) => /did you mean "(\w+)"/.exec(String(message))?.[1]);
  expect(said).toEqual(meant ? [meant] : []);
});
