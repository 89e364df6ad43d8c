import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AitoearnApiError,
  AitoearnInputError,
  AitoearnTransportError,
  AitoearnUnavailableError,
  AuthExpiredError,
  type AuthProgress,
  AuthTimeoutError,
  createAitoearnClient,
  type WaitForAuthOptions,
  waitForAuth,
  watchAuth,
} from '../src/index.js';
import { likelyOption } from '../src/poll/options.js';
import { type FakeApiOptions, fakeApi, type Reply, SERVER_START_MS } from './helpers/fake-api.js';
import { FakeClock } from './helpers/fake-clock.js';

const MINUTE = 60_000;
const LONG = { expiresInMs: 5 * MINUTE, latencyMs: 0 };

/** The session every test here waits for, on the fake clock. */
const on = (clock: FakeClock) => ({ platform: 'douyin', sessionId: 'sess-1', clock, sleep: clock.sleep });

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A virtual clock, a scripted API on it, and a client that calls that API. */
function fakeClient(script: readonly Reply[] | ((i: number) => Reply), api: FakeApiOptions = {}) {
  const clock = new FakeClock();
  const server = fakeApi(clock, script, api);
  const client = createAitoearnClient({
    apiKey: 'test-key',
    baseUrl: 'http://127.0.0.1:9',
    fetch: server.fetch,
  });
  return { clock, server, client };
}

function setup(
  script: readonly Reply[] | ((i: number) => Reply),
  api: FakeApiOptions = {},
  options: Partial<WaitForAuthOptions> = {},
) {
  const { clock, server, client } = fakeClient(script, api);
  const events: AuthProgress[] = [];
  const onProgress = (event: AuthProgress) => events.push(event);
  const run = () =>
    clock.drive(waitForAuth(client, { ...on(clock), random: () => 0, onProgress, ...options }));
  return { clock, server, client, events, run };
}

/** Settles the promise and returns its rejection, failing the test if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/** Runs a watch to its end on the clock, collecting its events. */
async function consume(watch: AsyncIterable<AuthProgress>): Promise<AuthProgress[]> {
  const seen: AuthProgress[] = [];
  for await (const event of watch) seen.push(event);
  return seen;
}

const gaps = (calls: number[]) => calls.slice(1).map((t, i) => t - (calls[i] as number));
const pendingUntil = (n: number) => (i: number) => (i < n ? { status: 'pending' } : { status: 'completed' });

describe('schedule', () => {
  it.each([
    [0, 0],
    [0.999, 0.999],
    // An injected random that returns NaN or leaves [0, 1) must not collapse the schedule.
    [Number.NaN, 0],
    [5, 1],
  ])(
    'sends the first request at once, then backs off 1, 2, 4, then 5 s (random %d: jitter × %d)',
    async (r, used) => {
      const { server, run } = setup(pendingUntil(7), LONG, { random: () => r });
      expect((await run()).status).toBe('completed');
      expect(server.calls[0]).toBe(0);
      const expected = [1000, 2000, 4000, 5000, 5000, 5000, 5000].map((d) =>
        Math.round(d * (1 - 0.1 * used)),
      );
      expect(gaps(server.calls)).toEqual(expected);
    },
  );

  it('makes one last check just before expiresAt and settles at expiresAt, not after', async () => {
    const { server, clock, run } = setup([{ status: 'pending' }], { expiresInMs: 10_500, latencyMs: 0 });
    expect(await rejection(run())).toBeInstanceOf(AuthExpiredError);
    // 12 s would pass expiresAt, so the final check moves before it; the Date header's 1 s resolution
    // puts the local estimate of expiresAt within ±500 ms.
    expect(server.calls.slice(0, 4)).toEqual([0, 1000, 3000, 7000]);
    expect(server.calls).toHaveLength(5);
    expect(server.calls[4]).toBeGreaterThanOrEqual(9500);
    expect(server.calls[4]).toBeLessThan(10_500);
    expect(clock.now()).toBeGreaterThanOrEqual(10_000);
    expect(clock.now()).toBeLessThanOrEqual(11_500);
  });

  it('ends with AuthTimeoutError at timeoutMs when that comes before expiresAt', async () => {
    const { server, clock, run } = setup([{ status: 'pending' }], LONG, { timeoutMs: 4000 });
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AuthTimeoutError);
    expect(error).toMatchObject({ timeoutMs: 4000, session: { status: 'pending' } });
    // A final check at 3.5 s would come sooner than initialDelayMs after the request at 3 s: none is made.
    expect(server.calls).toEqual([0, 1000, 3000]);
    expect(clock.now()).toBe(4000);
  });

  it('uses timeoutMs as the only deadline when the session has no expiresAt', async () => {
    const { server, clock, run } = setup([{ status: 'pending' }], { latencyMs: 0 }, { timeoutMs: 60_000 });
    expect(await rejection(run())).toBeInstanceOf(AuthTimeoutError);
    expect(clock.now()).toBe(60_000);
    expect(server.calls.at(-1)).toBeGreaterThanOrEqual(59_000);
  });

  it.each([
    // timeoutMs, requests: the final check would be due at 3.1 s and 3.7 s, but the last request went at 3 s.
    [3600, [0, 1000, 3000]],
    [4200, [0, 1000, 3000, 4000]],
  ])(
    'the final check keeps the initialDelayMs floor: with timeoutMs %i, requests at %o',
    async (timeoutMs, expected) => {
      const { server, run } = setup([{ status: 'pending' }], LONG, { timeoutMs });
      expect(await rejection(run())).toBeInstanceOf(AuthTimeoutError);
      expect(server.calls).toEqual(expected);
    },
  );

  it('the final check keeps the floor after a retried failure too', async () => {
    const script: Reply[] = [
      { status: 'pending' },
      { status: 'pending' },
      { http: 503 },
      { status: 'pending' },
    ];
    const { server, run } = setup(script, LONG, { timeoutMs: 3700 });
    expect(await rejection(run())).toBeInstanceOf(AitoearnUnavailableError);
    // The 503 at 3 s would be retried at 3.2 s (deadline − 500 ms): too soon after it.
    expect(server.calls).toEqual([0, 1000, 3000]);
  });

  it('never hands the sleep a delay of 2^31 ms or more, even when a server hint asks for weeks', async () => {
    const { clock, server, run } = setup(
      [{ code: 429, headers: { 'retry-after': String(40 * 24 * 3600) } }, { status: 'completed' }],
      { latencyMs: 0 },
      { timeoutMs: 60 * 24 * 3600 * 1000 },
    );
    await run();
    expect(server.calls[1]).toBeGreaterThanOrEqual(40 * 24 * 3600 * 1000);
    expect(Math.max(...clock.sleeps)).toBeLessThan(2 ** 31);
  });
});

describe('deadline on the server clock', () => {
  const scenario = async (localSkewMs: number, serverSkewMs: number, sendDate = true) => {
    const { clock, server, run } = setup([{ status: 'pending' }], {
      expiresInMs: 30_000,
      serverStartMs: SERVER_START_MS + serverSkewMs,
      latencyMs: 20,
      sendDate,
    });
    clock.wallOffsetMs += localSkewMs;
    const error = await rejection(run());
    return { error, end: clock.now(), calls: server.calls.length };
  };

  it.each([
    ['10 minutes fast', 10 * MINUTE, 0],
    ['10 minutes slow', -10 * MINUTE, 0],
    ['right, while the server runs an hour ahead', 0, 60 * MINUTE],
  ])('stops at expiresAt when the local clock is %s', async (_, local, server) => {
    const base = await scenario(0, 0);
    const skewed = await scenario(local, server);
    expect(skewed.error).toBeInstanceOf(AuthExpiredError);
    expect(skewed).toMatchObject({ end: base.end, calls: base.calls });
    expect(Math.abs(skewed.end - 30_000)).toBeLessThanOrEqual(1000);
  });

  it('falls back to the local wall clock when the server sends no Date header', async () => {
    const { error, end } = await scenario(0, 0, false);
    expect(error).toBeInstanceOf(AuthExpiredError);
    expect(Math.abs(end - 30_000)).toBeLessThanOrEqual(1000);
  });
});

describe('server hints are floors', () => {
  const date = (skew: number) => ({ 'retry-after': new Date(SERVER_START_MS + skew + 3000).toUTCString() });
  const reset = { 'x-ratelimit-reset': String(SERVER_START_MS + 4000) };
  // The server's clock is read from a Date header of 1 s resolution.
  it.each<[string, Reply, number, number, number]>([
    ['Retry-After on a business 429', { code: 429, headers: { 'retry-after': '7' } }, 0, 7000, 7000],
    ['Retry-After on an HTTP 503', { http: 503, headers: { 'retry-after': '3' } }, 0, 3000, 3000],
    ['X-RateLimit-Reset', { code: 429, headers: reset }, 0, 3000, 5000],
    ['an HTTP-date Retry-After', { http: 503, headers: date(10 * MINUTE) }, 10 * MINUTE, 2000, 4000],
    ['an HTTP-date Retry-After', { http: 503, headers: date(-10 * MINUTE) }, -10 * MINUTE, 2000, 4000],
  ])('waits for %s (server clock off by %i ms)', async (_, reply, skew, low, high) => {
    const api = { ...LONG, serverStartMs: SERVER_START_MS + skew };
    const { server, run } = setup([reply, { status: 'completed' }], api);
    await run();
    expect(server.calls[1]).toBeGreaterThanOrEqual(low);
    expect(server.calls[1]).toBeLessThanOrEqual(high);
  });

  it('a Retry-After past the deadline: no request after it, unavailable at the deadline', async () => {
    const { server, clock, run } = setup(
      [{ http: 429, headers: { 'retry-after': '3600' } }],
      { latencyMs: 0 },
      {
        timeoutMs: 5000,
      },
    );
    expect(await rejection(run())).toBeInstanceOf(AitoearnUnavailableError);
    expect(server.calls).toEqual([0]);
    expect(clock.now()).toBe(5000);
  });
});

describe('transient and terminal answers', () => {
  it('retries transient failures and then resolves', async () => {
    const { server, events, run } = setup(
      [{ network: true }, { http: 502 }, { code: 500 }, { hang: true }, { status: 'completed' }],
      { latencyMs: 10 },
      { requestTimeoutMs: 2000 },
    );
    expect((await run()).status).toBe('completed');
    expect(server.calls).toHaveLength(5);
    expect(events.filter((e) => e.type === 'retry').map((e) => e.error?.constructor.name)).toEqual([
      'AitoearnTransportError',
      'AitoearnTransportError',
      'AitoearnApiError',
      'AitoearnTransportError',
    ]);
  });

  it.each([
    ['never answers', { hang: true }],
    ['ignores the abort signal in a custom fetch', { deaf: true }],
  ] as const)('reports AitoearnUnavailableError by the deadline when the API %s', async (_, reply) => {
    const { clock, server, run } = setup([reply], {}, { timeoutMs: 30_000, requestTimeoutMs: 10_000 });
    expect(await rejection(run())).toBeInstanceOf(AitoearnUnavailableError);
    expect(clock.now()).toBeLessThanOrEqual(31_000);
    expect(server.calls.length).toBeGreaterThanOrEqual(3);
  });

  it('attaches the last snapshot to a terminal API error', async () => {
    const { run } = setup([{ status: 'pending' }, { code: 15040 }]);
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AitoearnApiError);
    expect(error).toMatchObject({ code: 15040, session: { status: 'pending' } });
  });
});

describe('an outage until expiresAt', () => {
  it('is reported as unavailable, naming the expiry: the person may have finished meanwhile', async () => {
    const { clock, server, run } = setup(
      [{ status: 'pending' }, { hang: true }],
      { expiresInMs: 20_000 },
      {
        requestTimeoutMs: 3000,
      },
    );
    const error = (await rejection(run())) as AitoearnUnavailableError;
    expect(error).toBeInstanceOf(AitoearnUnavailableError);
    const expiresAt = new Date(SERVER_START_MS + 20_000).toISOString();
    expect(error).toMatchObject({
      expiresAt,
      session: { status: 'pending' },
      failures: server.calls.length - 1,
    });
    expect(error.message).toContain(`expired at ${expiresAt}`);
    expect(error.cause).toBeInstanceOf(AitoearnTransportError);
    expect(clock.now()).toBeLessThanOrEqual(21_000);
  });

  it('but a pending answer to the final check still ends as expired', async () => {
    const script: Reply[] = [{ status: 'pending' }, { http: 503 }, { http: 503 }, { status: 'pending' }];
    const { run } = setup(script, { expiresInMs: 20_000 }, { requestTimeoutMs: 3000 });
    expect(await rejection(run())).toBeInstanceOf(AuthExpiredError);
  });

  it('a retry budget that runs out before expiresAt names no expiry', async () => {
    const { run } = setup([{ status: 'pending' }, { http: 503 }], LONG, { retries: 1 });
    const error = (await rejection(run())) as AitoearnUnavailableError;
    expect(error).toBeInstanceOf(AitoearnUnavailableError);
    expect(error.expiresAt).toBeUndefined();
    expect(error.message).not.toContain('expired');
  });
});

describe('expiresAt is re-read from every answer (issue 16 item 1)', () => {
  const at = (ms: number) => new Date(SERVER_START_MS + ms).toISOString();

  it('an answer that moves it later keeps the checking going, and the final check is re-planned', async () => {
    // expiresAt 10.5 s until the final check's answer moves it to 70 s; the person finishes at ~20 s.
    const { server, run } = setup(
      (i) =>
        i < 4
          ? { status: 'pending', extra: { expiresAt: at(10_500) } }
          : {
              status: (server.calls.at(-1) ?? 0) < 20_000 ? 'pending' : 'completed',
              extra: { expiresAt: at(70_000) },
            },
      { latencyMs: 0 },
    );
    expect((await run()).status).toBe('completed');
    expect(server.calls[4]).toBeGreaterThanOrEqual(9500);
    expect(server.calls.at(-1)).toBeGreaterThanOrEqual(20_000);
  });

  it('an answer that moves it earlier ends the wait at the new expiry', async () => {
    const { server, clock, run } = setup(
      (i) => ({ status: 'pending', extra: { expiresAt: at(i === 0 ? 5 * MINUTE : 8000) } }),
      { latencyMs: 0 },
    );
    expect(await rejection(run())).toBeInstanceOf(AuthExpiredError);
    expect(clock.now()).toBeLessThanOrEqual(9000);
    expect(server.calls.at(-1)).toBeLessThan(8000);
  });
});

describe('abort', () => {
  it.each(['before', 'sleep', 'request'] as const)('settles %s and sends nothing more', async (phase) => {
    const sent = { before: 0, sleep: 1, request: 2 }[phase];
    const controller = new AbortController();
    const { clock, server, client } = fakeClient([{ status: 'pending' }, { hang: true }]);
    const reason = new Error('user pressed Ctrl-C');
    if (phase === 'before') controller.abort(reason);
    const outcome = rejection(waitForAuth(client, { ...on(clock), signal: controller.signal }));
    if (phase !== 'before') await clock.advance(phase === 'sleep' ? 500 : 1500);
    expect(server.calls).toHaveLength(sent);
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(clock.pending).toBe(0);
    await clock.advance(MINUTE);
    expect(server.calls).toHaveLength(sent);
  });

  it('an abort reason that looks transient is not retried, nor reported as a retry', async () => {
    const controller = new AbortController();
    const { clock, server, client } = fakeClient([{ status: 'pending' }, { hang: true }]);
    const events: AuthProgress[] = [];
    const reason = new AitoearnTransportError('network', 'the caller aborted with a transport error');
    const options = {
      ...on(clock),
      signal: controller.signal,
      onProgress: (e: AuthProgress) => events.push(e),
    };
    const outcome = rejection(waitForAuth(client, options));
    await clock.advance(1500);
    expect(server.calls).toHaveLength(2);
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(events.map((e) => e.type)).toEqual(['status']);
    expect(clock.pending).toBe(0);
  });

  it('a wait held back in a burst settles on abort without its turn, and sends nothing', async () => {
    const controller = new AbortController();
    let sent = 0;
    const fetch = () => {
      sent += 1;
      return new Promise<Response>(() => {});
    };
    const client = createAitoearnClient({ apiKey: 'test-key', baseUrl: 'http://127.0.0.1:9', fetch });
    const waits = Array.from({ length: 320 }, () =>
      rejection(waitForAuth(client, { platform: 'douyin', sessionId: 'sess-1', signal: controller.signal })),
    );
    controller.abort(new Error('stop'));
    // Admitted 32 a turn, the last would wait ten turns of the event loop; aborted, none waits for its turn.
    let settled = 0;
    for (const wait of waits) void wait.then(() => settled++);
    for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(settled).toBe(320);
    expect(sent).toBeLessThan(320);
    expect((await Promise.all(waits)).every((e) => e instanceof Error && e.message === 'stop')).toBe(true);
  });
});

describe('poke', () => {
  it('the first checks at once, even right after a scheduled check; later ones no sooner than initialDelayMs after the last request, even 5,000 of them', async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], LONG);
    const watch = watchAuth(client, { ...on(clock), random: () => 0 });
    const consumed = consume(watch);
    await clock.advance(1000);
    expect(server.calls).toEqual([0, 1000]);
    watch.poke();
    await clock.advance(0);
    expect(server.calls).toEqual([0, 1000, 1000]);
    watch.poke();
    await clock.advance(999);
    expect(server.calls).toHaveLength(3);
    await clock.advance(1);
    expect(server.calls).toEqual([0, 1000, 1000, 2000]);
    for (let i = 1; i <= 5000; i++) {
      watch.poke();
      if (i % 500 === 0) await clock.advance(1000);
    }
    // 10 s of forged pokes: one check per initialDelayMs (1 s) after the last request, no more.
    expect(server.calls.length - 4).toBeGreaterThanOrEqual(9);
    expect(server.calls.length - 4).toBeLessThanOrEqual(10);
    expect(Math.min(...gaps(server.calls.slice(2)))).toBeGreaterThanOrEqual(1000);
    await watch.return?.();
    await clock.drive(consumed);
  });
});

describe('watchAuth', () => {
  it('yields frozen snapshots and ends after completed', async () => {
    const { clock, client } = fakeClient([{ status: 'pending' }, { status: 'completed' }], LONG);
    const events = await clock.drive(consume(watchAuth(client, on(clock))));
    expect(events.map((e) => e.status)).toEqual(['pending', 'completed']);
    expect(Object.isFrozen(events[0]?.session)).toBe(true);
    expect(() => {
      (events[0] as { attempt: number }).attempt = 99;
    }).toThrow(TypeError);
  });

  it('throws the same outcome errors as waitForAuth', async () => {
    const { clock, client } = fakeClient([{ code: 15039 }]);
    expect(await rejection(clock.drive(consume(watchAuth(client, on(clock)))))).toBeInstanceOf(
      AuthExpiredError,
    );
  });

  it('stops polling when the loop breaks', async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], LONG);
    const run = async () => {
      for await (const _ of watchAuth(client, on(clock))) break;
    };
    await clock.drive(run());
    await clock.advance(5 * MINUTE);
    expect(server.calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('answers concurrent next() calls in order, none left pending', async () => {
    const { clock, client } = fakeClient([{ status: 'pending' }, { status: 'completed' }], LONG);
    const watch = watchAuth(client, on(clock));
    const results = await clock.drive(Promise.all([watch.next(), watch.next(), watch.next()]));
    expect(results.map((r) => (r.done ? 'done' : r.value.status))).toEqual(['pending', 'completed', 'done']);
  });

  it('ends every queued next() when the loop is left', async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], LONG);
    const watch = watchAuth(client, on(clock));
    expect((await clock.drive(watch.next())).done).toBe(false);
    const queued = [watch.next(), watch.next()];
    await clock.advance(10);
    await watch.return?.();
    expect((await clock.drive(Promise.all(queued))).map((r) => r.done)).toEqual([true, true]);
    expect(server.calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });
});

describe('options are checked before any request', () => {
  it.each([
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ timeoutMs: Number.NaN }, 'timeoutMs'],
    [{ initialDelayMs: 0 }, 'initialDelayMs'],
    [{ maxDelayMs: 10, initialDelayMs: 100 }, 'maxDelayMs'],
    [{ factor: 0.5 }, 'factor'],
    [{ jitter: 2 }, 'jitter'],
    [{ requestTimeoutMs: -1 }, 'requestTimeoutMs'],
    [{ retries: -1 }, 'retries'],
    [{ retries: 1.5 }, 'retries'],
    [{ onProgress: 'yes' }, 'onProgress'],
    [{ sleep: 5 }, 'sleep'],
    [{ random: {} }, 'random'],
    [{ clock: { now: () => 0 } }, 'clock.wallNow'],
    [{ sessionId: '..' }, 'sessionId'],
    [{ platform: '' }, 'platform'],
  ])('%o is refused, naming %s', async (bad, field) => {
    const { clock, server, client } = fakeClient([{ status: 'completed' }]);
    const options = { ...on(clock), ...bad } as WaitForAuthOptions;
    const error = await rejection(waitForAuth(client, options));
    expect(error).toBeInstanceOf(AitoearnInputError);
    expect(error).toMatchObject({ field, message: expect.stringContaining(`"${field}"`) });
    expect(() => watchAuth(client, options)).toThrow(AitoearnInputError);
    expect(server.calls).toHaveLength(0);
  });
});

describe('what the caller’s callbacks and sleep throw ends the wait with that error, at once', () => {
  it.each([
    ['a retry event’s (transient) error, rethrown', { http: 503 } as Reply, 'retry'],
    ['a transient-looking error on a status event', { status: 'pending' } as Reply, 'status'],
  ])('onProgress throwing %s is not retried', async (_, first, type) => {
    const { clock, server, client } = fakeClient([first, { status: 'completed' }], { latencyMs: 0 });
    const reports: AuthProgress[] = [];
    const thrown = new AitoearnTransportError('network', 'looks transient, but the caller threw it');
    const onProgress = (event: AuthProgress) => {
      reports.push(event);
      throw event.error ?? thrown;
    };
    // A budget, so that retrying the callback's throw would end instead of spinning.
    const error = await rejection(
      clock.drive(waitForAuth(client, { ...on(clock), retries: 50, onProgress })),
    );
    expect(reports.map((r) => r.type)).toEqual([type]);
    expect(error).toBe(reports[0]?.error ?? thrown);
    await clock.advance(MINUTE);
    expect(server.calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('watchAuth throws what its onProgress threw, and polls no more', async () => {
    const { clock, server, client } = fakeClient([{ code: 500 }, { status: 'completed' }], { latencyMs: 0 });
    const onProgress = (event: AuthProgress) => {
      if (event.error) throw event.error;
    };
    const error = await rejection(
      clock.drive(consume(watchAuth(client, { ...on(clock), retries: 50, onProgress }))),
    );
    expect(error).toMatchObject({ code: 500 });
    expect(server.calls).toHaveLength(1);
  });

  it('a promise returned by onProgress is awaited, and its rejection ends the wait (issue 16 item 2)', async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], LONG);
    const thrown = new Error('could not open the browser');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const onProgress = async () => {
        await clock.sleep(3000, new AbortController().signal);
        throw thrown;
      };
      expect(await rejection(clock.drive(waitForAuth(client, { ...on(clock), onProgress })))).toBe(thrown);
      // No check was sent while the callback ran (the next one was due after 1 s).
      expect(server.calls).toEqual([0]);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('what an injected sleep throws during a retry ends the wait as it is, never wrapped by p-retry', async () => {
    const { clock, client } = fakeClient([{ http: 503, headers: { 'retry-after': '2' } }], { latencyMs: 0 });
    let sleeps = 0;
    // The first sleep times the request; the second, the retry's floor (the Retry-After), fails with a non-Error.
    const sleep = (ms: number, signal: AbortSignal) =>
      ++sleeps === 1 ? clock.sleep(ms, signal) : Promise.reject('boom');
    expect(await rejection(clock.drive(waitForAuth(client, { ...on(clock), sleep })))).toBe('boom');
  });

  it('a request is still timed out when an injected sleep fails on its own: the wait ends with its error', async () => {
    const { clock, server, client } = fakeClient([{ deaf: true }], LONG);
    const broken = new Error('the caller’s sleep broke');
    const waiting = waitForAuth(client, { ...on(clock), sleep: () => Promise.reject(broken) });
    expect(await rejection(clock.drive(waiting))).toBe(broken);
    expect(server.calls).toHaveLength(1);
  });
});

describe('options spread from a larger object', () => {
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
    const { clock, server, client } = fakeClient([{ status: 'completed' }]);
    const options = { ...started, ...on(clock), timeoutMs: 120_000 };
    expect((await clock.drive(waitForAuth(client, options))).status).toBe('completed');
    expect((await clock.drive(consume(watchAuth(client, options)))).at(-1)?.status).toBe('completed');
    expect(server.calls).toHaveLength(2);
    expect(warn).not.toHaveBeenCalled();
  });

  it('a likely typo (`timeout`) is ignored with a one-time warning that names the option meant', async () => {
    const warn = vi.spyOn(process, 'emitWarning');
    const { clock, client } = fakeClient([{ status: 'pending' }], { expiresInMs: 30_000 });
    const options = { ...on(clock), timeout: 5000 };
    // `timeout` is not `timeoutMs`: the wait runs to expiresAt, not 5 s.
    expect(await rejection(clock.drive(waitForAuth(client, options)))).toBeInstanceOf(AuthExpiredError);
    expect(clock.now()).toBeGreaterThan(29_000);
    await rejection(clock.drive(waitForAuth(client, options)));
    expect(warn.mock.calls).toEqual([
      [
        'Unknown option "timeout" of waitForAuth/watchAuth is ignored; did you mean "timeoutMs"?',
        { code: 'AITOEARN_UNKNOWN_OPTION' },
      ],
    ]);
  });

  it.each<[string, string | undefined]>([
    ['timeout', 'timeoutMs'],
    ['initialDelay', 'initialDelayMs'],
    ['maxDelay', 'maxDelayMs'],
    ['onprogress', 'onProgress'],
    ['TIMEOUTMS', 'timeoutMs'],
    ['requestTimeout', 'requestTimeoutMs'],
    ['time', 'timeoutMs'],
    ...['url', 'expiresAt', 'authInstructions', 'requestId', 'callbackUrl'].map(
      (key): [string, undefined] => [key, undefined],
    ),
  ])('the key %s is taken for a typo of %s', (key, meant) => {
    expect(likelyOption(key)).toBe(meant);
  });
});
