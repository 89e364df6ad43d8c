import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, test, vi } from 'vitest';
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
import { backoffDelay } from '../src/poll/backoff.js';
import { likelyOption } from '../src/poll/options.js';
import { type FakeApiOptions, fakeApi, type Reply, SERVER_START_MS } from './helpers/fake-api.js';
import { FakeClock } from './helpers/fake-clock.js';

const MINUTE = 60_000;

/** The session every test here waits for, on the fake clock. */
const on = (clock: FakeClock) => ({ platform: 'douyin', sessionId: 'sess-1', clock, sleep: clock.sleep });

afterEach(() => {
  vi.useRealTimers();
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
  const run = () =>
    clock.drive(
      waitForAuth(client, {
        ...on(clock),
        random: () => 0,
        onProgress: (event) => events.push(event),
        ...options,
      }),
    );
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

const gaps = (calls: number[]) => calls.slice(1).map((t, i) => t - (calls[i] as number));

describe('schedule', () => {
  it('sends the first request at once and backs off 1 s, 2 s, 4 s, then 5 s', async () => {
    const { server, run } = setup((i) => (i < 7 ? { status: 'pending' } : { status: 'completed' }), {
      expiresInMs: 5 * MINUTE,
      latencyMs: 0,
    });
    const session = await run();
    expect(session.status).toBe('completed');
    expect(server.calls[0]).toBe(0);
    expect(gaps(server.calls)).toEqual([1000, 2000, 4000, 5000, 5000, 5000, 5000]);
  });

  it('jitters each delay downwards by at most the jitter fraction', async () => {
    const { server, run } = setup(
      (i) => (i < 5 ? { status: 'pending' } : { status: 'completed' }),
      { expiresInMs: 5 * MINUTE, latencyMs: 0 },
      { random: () => 0.999 },
    );
    await run();
    const expected = [1000, 2000, 4000, 5000, 5000].map((d) => Math.round(d * (1 - 0.1 * 0.999)));
    expect(gaps(server.calls)).toEqual(expected);
  });

  it('backoffDelay never exceeds maxDelayMs and never drops below (1 − jitter) of it', () => {
    const o = { initialDelayMs: 1000, maxDelayMs: 5000, factor: 2, jitter: 0.1 };
    for (let step = 1; step < 60; step++) {
      for (const r of [0, 0.5, 0.9999]) {
        const d = backoffDelay(step, o, () => r);
        expect(d).toBeLessThanOrEqual(5000);
        expect(d).toBeGreaterThanOrEqual(Math.min(5000, 1000 * 2 ** (step - 1)) * 0.9 - 1);
      }
    }
  });

  it('makes one last check just before expiresAt and settles at expiresAt, not after', async () => {
    const { server, clock, run } = setup([{ status: 'pending' }], { expiresInMs: 10_500, latencyMs: 0 });
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AuthExpiredError);
    // 0, 1 s, 3 s, 7 s by backoff; 12 s would pass expiresAt, so the final check moves to 1 s before it.
    // The Date header has 1 s resolution, so the local estimate of expiresAt is within ±500 ms.
    expect(server.calls.slice(0, 4)).toEqual([0, 1000, 3000, 7000]);
    expect(server.calls).toHaveLength(5);
    expect(server.calls[4]).toBeGreaterThanOrEqual(10_500 - 1000);
    expect(server.calls[4]).toBeLessThan(10_500);
    expect(clock.now()).toBeGreaterThanOrEqual(10_500 - 500);
    expect(clock.now()).toBeLessThanOrEqual(10_500 + 1000);
  });

  it('ends with AuthTimeoutError at timeoutMs when that comes before expiresAt', async () => {
    const { server, clock, run } = setup(
      [{ status: 'pending' }],
      { expiresInMs: 5 * MINUTE, latencyMs: 0 },
      { timeoutMs: 4000 },
    );
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AuthTimeoutError);
    expect((error as AuthTimeoutError).timeoutMs).toBe(4000);
    expect((error as AuthTimeoutError).session?.status).toBe('pending');
    // 7 s would pass the deadline; a final check at 3.5 s would come sooner than initialDelayMs after the
    // request at 3 s, and at 4 s there is no time left: none is made.
    expect(server.calls).toEqual([0, 1000, 3000]);
    expect(clock.now()).toBe(4000);
  });

  it('uses timeoutMs as the only deadline when the session has no expiresAt', async () => {
    const { server, clock, run } = setup([{ status: 'pending' }], { latencyMs: 0 }, { timeoutMs: 60_000 });
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AuthTimeoutError);
    expect(clock.now()).toBe(60_000);
    expect(server.calls.at(-1)).toBeLessThan(60_000);
    expect(server.calls.at(-1)).toBeGreaterThanOrEqual(59_000);
  });

  it('never hands the sleep a delay of 2^31 ms or more, even when a server hint asks for weeks', async () => {
    const { clock, server, run } = setup(
      [{ code: 429, headers: { 'retry-after': String(40 * 24 * 3600) } }, { status: 'completed' }],
      { latencyMs: 0 },
      { timeoutMs: 60 * 24 * 3600 * 1000 },
    );
    await run();
    expect(server.calls).toHaveLength(2);
    expect(server.calls[1]).toBeGreaterThanOrEqual(40 * 24 * 3600 * 1000);
    expect(Math.max(...clock.sleeps)).toBeLessThan(2 ** 31 - 1 + 1);
  });
});

describe('deadline on the server clock', () => {
  const scenario = async (localSkewMs: number, serverSkewMs: number) => {
    const { clock, server, run } = setup([{ status: 'pending' }], {
      expiresInMs: 30_000,
      serverStartMs: SERVER_START_MS + serverSkewMs,
      latencyMs: 20,
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
    expect(skewed.end).toBe(base.end);
    expect(skewed.calls).toBe(base.calls);
    expect(skewed.end).toBeGreaterThanOrEqual(30_000 - 1000);
    expect(skewed.end).toBeLessThanOrEqual(30_000 + 1000);
  });

  it('falls back to the local wall clock when the server sends no Date header', async () => {
    const { clock, run } = setup([{ status: 'pending' }], { expiresInMs: 20_000, sendDate: false });
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AuthExpiredError);
    expect(clock.now()).toBeGreaterThanOrEqual(19_000);
    expect(clock.now()).toBeLessThanOrEqual(21_000);
  });
});

describe('server hints are floors', () => {
  test.each([
    ['a business 429', { code: 429 }, 7],
    ['an HTTP 503 from a gateway', { http: 503 }, 3],
  ] as const)('waits at least Retry-After before retrying %s', async (_, reply, seconds) => {
    const headers = { 'retry-after': String(seconds) };
    const { server, run } = setup([{ ...reply, headers }, { status: 'completed' }], {
      latencyMs: 0,
      expiresInMs: 5 * MINUTE,
    });
    await run();
    expect(server.calls).toEqual([0, seconds * 1000]);
  });

  it('waits until X-RateLimit-Reset (epoch ms, server clock) before retrying', async () => {
    const reset = String(SERVER_START_MS + 12_000);
    const { server, run } = setup(
      [{ code: 429, headers: { 'x-ratelimit-reset': reset } }, { status: 'completed' }],
      {
        latencyMs: 0,
      },
    );
    await run();
    expect(server.calls[1]).toBeGreaterThanOrEqual(12_000 - 1000);
    expect(server.calls[1]).toBeLessThanOrEqual(13_000);
  });
});

describe('transient and terminal answers', () => {
  it('retries transient failures and then resolves', async () => {
    const { server, events, run } = setup(
      [{ network: true }, { http: 502 }, { code: 500 }, { hang: true }, { status: 'completed' }],
      { latencyMs: 10 },
      { requestTimeoutMs: 2000 },
    );
    const session = await run();
    expect(session.status).toBe('completed');
    expect(server.calls).toHaveLength(5);
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries).toHaveLength(4);
    expect(retries.map((e) => e.error?.constructor.name)).toEqual([
      'AitoearnTransportError',
      'AitoearnTransportError',
      'AitoearnApiError',
      'AitoearnTransportError',
    ]);
  });

  it('reports AitoearnUnavailableError at timeoutMs when the API never answered', async () => {
    const { clock, server, run } = setup(
      [{ hang: true }],
      {},
      { timeoutMs: 30_000, requestTimeoutMs: 10_000 },
    );
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AitoearnUnavailableError);
    expect(clock.now()).toBeLessThanOrEqual(31_000);
    expect(server.calls.length).toBeGreaterThanOrEqual(3);
  });

  it('settles by the deadline even when a custom fetch ignores the abort signal', async () => {
    const { clock, server, run } = setup([{ deaf: true }], {}, { timeoutMs: 5000, requestTimeoutMs: 2000 });
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AitoearnUnavailableError);
    expect(clock.now()).toBeLessThanOrEqual(5000 + 1000);
    expect(server.calls.length).toBeGreaterThanOrEqual(2);
  });

  it('attaches the last snapshot to a terminal API error', async () => {
    const { run } = setup([{ status: 'pending' }, { code: 15040 }]);
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AitoearnApiError);
    expect((error as AitoearnApiError).session?.status).toBe('pending');
  });
});

describe('abort', () => {
  it.each(['sleep', 'request'] as const)('settles during a %s and sends nothing more', async (phase) => {
    const controller = new AbortController();
    const { clock, server, client } = fakeClient(
      phase === 'sleep' ? [{ status: 'pending' }] : [{ status: 'pending' }, { hang: true }],
    );
    const reason = new Error('user pressed Ctrl-C');
    const waiting = waitForAuth(client, { ...on(clock), signal: controller.signal });
    const outcome = rejection(waiting);
    await clock.advance(phase === 'sleep' ? 500 : 1500);
    expect(server.calls).toHaveLength(phase === 'sleep' ? 1 : 2);
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(clock.pending).toBe(0);
    await clock.advance(60_000);
    expect(server.calls).toHaveLength(phase === 'sleep' ? 1 : 2);
  });

  it('an abort reason that looks transient is not retried, nor reported as a retry', async () => {
    const controller = new AbortController();
    const { clock, server, client } = fakeClient([{ status: 'pending' }, { hang: true }]);
    const events: AuthProgress[] = [];
    const reason = new AitoearnTransportError('network', 'the caller aborted with a transport error');
    const outcome = rejection(
      waitForAuth(client, {
        ...on(clock),
        signal: controller.signal,
        onProgress: (event) => events.push(event),
      }),
    );
    await clock.advance(1500);
    expect(server.calls).toHaveLength(2);
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(events.map((e) => e.type)).toEqual(['status']);
    expect(clock.pending).toBe(0);
  });
});

describe('poke', () => {
  it('checks at once, but not sooner than initialDelayMs after the last request', async () => {
    const { clock, server, client } = fakeClient(
      (i) => (i < 5 ? { status: 'pending' } : { status: 'completed' }),
      {
        latencyMs: 0,
        expiresInMs: 5 * MINUTE,
      },
    );
    const watch = watchAuth(client, {
      ...on(clock),
      random: () => 0,
    });
    const collected = (async () => {
      const seen: AuthProgress[] = [];
      for await (const event of watch) seen.push(event);
      return seen;
    })();
    await clock.advance(3000 + 2000); // requests at 0, 1000, 3000; the next is due at 7000
    expect(server.calls).toEqual([0, 1000, 3000]);
    watch.poke();
    await clock.advance(0);
    expect(server.calls).toEqual([0, 1000, 3000, 5000]);
    watch.poke(); // 0 ms after a request: the floor holds it to initialDelayMs
    await clock.advance(999);
    expect(server.calls).toHaveLength(4);
    await clock.advance(1);
    expect(server.calls).toEqual([0, 1000, 3000, 5000, 6000]);
    const events = await clock.drive(collected);
    expect(events.at(-1)?.status).toBe('completed');
  });
});

describe('watchAuth', () => {
  it('yields frozen snapshots and ends after completed', async () => {
    const { clock, client } = fakeClient([{ status: 'pending' }, { status: 'completed' }], {
      expiresInMs: 5 * MINUTE,
    });
    const run = async () => {
      const seen: AuthProgress[] = [];
      for await (const e of watchAuth(client, on(clock))) {
        seen.push(e);
      }
      return seen;
    };
    const events = await clock.drive(run());
    expect(events.map((e) => e.status)).toEqual(['pending', 'completed']);
    expect(Object.isFrozen(events[0])).toBe(true);
    expect(Object.isFrozen(events[0]?.session)).toBe(true);
    expect(() => {
      (events[0] as { attempt: number }).attempt = 99;
    }).toThrow(TypeError);
  });

  it('throws the same outcome errors as waitForAuth', async () => {
    const { clock, client } = fakeClient([{ code: 15039 }]);
    const run = async () => {
      for await (const _ of watchAuth(client, on(clock))) {
        // no events: the first answer is terminal
      }
    };
    expect(await rejection(clock.drive(run()))).toBeInstanceOf(AuthExpiredError);
  });

  it('stops polling when the loop breaks', async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], { expiresInMs: 5 * MINUTE });
    const run = async () => {
      for await (const _ of watchAuth(client, on(clock))) break;
    };
    await clock.drive(run());
    await clock.advance(5 * MINUTE);
    expect(server.calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });
});

describe('options are checked before any request', () => {
  test.each([
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ timeoutMs: -5 }, 'timeoutMs'],
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
    expect((error as AitoearnInputError).field).toBe(field);
    expect((error as Error).message).toContain(`"${field}"`);
    expect(() => watchAuth(client, options)).toThrow(AitoearnInputError);
    expect(server.calls).toHaveLength(0);
  });
});

describe('what the caller’s callbacks throw ends the wait with that error, at once', () => {
  it('an onProgress that rethrows a retry event’s (transient) error is not retried', async () => {
    const { clock, server, client } = fakeClient([{ http: 503 }, { status: 'completed' }], { latencyMs: 0 });
    const reports: AuthProgress[] = [];
    const waiting = waitForAuth(client, {
      ...on(clock),
      // A budget, so that the old behaviour (retrying the callback's throw) ends instead of spinning.
      retries: 50,
      onProgress: (event) => {
        reports.push(event);
        if (event.error) throw event.error;
      },
    });
    const error = await rejection(clock.drive(waiting));
    expect(reports).toHaveLength(1);
    expect(reports[0]?.type).toBe('retry');
    expect(error).toBe(reports[0]?.error);
    expect(server.calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('an onProgress that throws on a status event stops polling', async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], { expiresInMs: 5 * MINUTE });
    const thrown = new AitoearnTransportError('network', 'looks transient, but the caller threw it');
    const waiting = waitForAuth(client, {
      ...on(clock),
      onProgress: () => {
        throw thrown;
      },
    });
    expect(await rejection(clock.drive(waiting))).toBe(thrown);
    await clock.advance(MINUTE);
    expect(server.calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('a sleep that fails on its own during a retry wait ends the wait with its error', async () => {
    const { clock, server, client } = fakeClient([{ http: 502 }, { status: 'completed' }], { latencyMs: 0 });
    const broken = new AitoearnTransportError('timeout', 'thrown by the caller’s sleep');
    const waiting = waitForAuth(client, {
      platform: 'douyin',
      sessionId: 'sess-1',
      clock,
      sleep: () => Promise.reject(broken),
      retries: 50,
    });
    expect(await rejection(clock.drive(waiting))).toBe(broken);
    expect(server.calls).toHaveLength(1);
  });

  it('watchAuth throws what its onProgress threw, and polls no more', async () => {
    const { clock, server, client } = fakeClient([{ code: 500 }, { status: 'completed' }], { latencyMs: 0 });
    const run = async () => {
      for await (const _ of watchAuth(client, {
        ...on(clock),
        retries: 50,
        onProgress: (event) => {
          if (event.error) throw event.error;
        },
      })) {
        // the first event throws before it is yielded
      }
    };
    const error = await rejection(clock.drive(run()));
    expect(error).toBeInstanceOf(AitoearnApiError);
    expect((error as AitoearnApiError).code).toBe(500);
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

  async function warningsDuring(run: () => Promise<unknown>): Promise<Error[]> {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      await run();
      // process.emitWarning emits on the next tick.
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    return warnings;
  }

  it('{ ...started, timeoutMs } type-checks and runs, without a warning', async () => {
    const { clock, server, client } = fakeClient([{ status: 'completed' }]);
    const warnings = await warningsDuring(async () => {
      const session = await clock.drive(
        waitForAuth(client, {
          ...started,
          platform: 'douyin',
          timeoutMs: 120_000,
          clock,
          sleep: clock.sleep,
        }),
      );
      expect(session.status).toBe('completed');
      const events: AuthProgress[] = [];
      const watching = async () => {
        for await (const e of watchAuth(client, {
          ...started,
          platform: 'douyin',
          clock,
          sleep: clock.sleep,
        }))
          events.push(e);
      };
      await clock.drive(watching());
      expect(events.at(-1)?.status).toBe('completed');
    });
    expect(server.calls).toHaveLength(2);
    expect(warnings).toEqual([]);
  });

  it('a likely typo (`timeout`) is ignored with a one-time warning that names the option meant', async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], { expiresInMs: 30_000 });
    const options = { platform: 'douyin', sessionId: 'sess-1', clock, sleep: clock.sleep, timeout: 5000 };
    const warnings = await warningsDuring(async () => {
      // `timeout` is not `timeoutMs`: the wait runs to expiresAt, not 5 s.
      expect(await rejection(clock.drive(waitForAuth(client, options)))).toBeInstanceOf(AuthExpiredError);
      expect(clock.now()).toBeGreaterThan(29_000);
      await rejection(clock.drive(waitForAuth(client, options)));
    });
    expect(server.calls.length).toBeGreaterThan(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('"timeout"');
    expect(warnings[0]?.message).toContain('did you mean "timeoutMs"');
    expect((warnings[0] as Error & { code?: string }).code).toBe('AITOEARN_UNKNOWN_OPTION');
  });

  test.each([
    ['timeout', 'timeoutMs'],
    ['initialDelay', 'initialDelayMs'],
    ['maxDelay', 'maxDelayMs'],
    ['onprogress', 'onProgress'],
    ['TIMEOUTMS', 'timeoutMs'],
    ['requestTimeout', 'requestTimeoutMs'],
    ['url', undefined],
    ['time', 'timeoutMs'],
    ['expiresAt', undefined],
    ['authInstructions', undefined],
    ['requestId', undefined],
    ['callbackUrl', undefined],
  ])('the key %s is taken for a typo of %s', (key, meant) => {
    expect(likelyOption(key)).toBe(meant);
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
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AitoearnUnavailableError);
    const unavailable = error as AitoearnUnavailableError;
    const expiresAt = new Date(SERVER_START_MS + 20_000).toISOString();
    expect(unavailable.expiresAt).toBe(expiresAt);
    expect(unavailable.message).toContain(`expired at ${expiresAt}`);
    expect(unavailable.session?.status).toBe('pending');
    expect(unavailable.cause).toBeInstanceOf(AitoearnTransportError);
    expect(unavailable.failures).toBe(server.calls.length - 1);
    expect(clock.now()).toBeLessThanOrEqual(20_000 + 1000);
  });

  it('but a pending answer to the final check still ends as expired', async () => {
    const { run } = setup(
      [{ status: 'pending' }, { http: 503 }, { http: 503 }, { status: 'pending' }],
      { expiresInMs: 20_000 },
      { requestTimeoutMs: 3000 },
    );
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AuthExpiredError);
  });

  it('a retry budget that runs out before expiresAt names no expiry', async () => {
    const { run } = setup(
      [{ status: 'pending' }, { http: 503 }],
      { expiresInMs: 5 * MINUTE },
      { retries: 1 },
    );
    const error = await rejection(run());
    expect(error).toBeInstanceOf(AitoearnUnavailableError);
    expect((error as AitoearnUnavailableError).expiresAt).toBeUndefined();
    expect((error as Error).message).not.toContain('expired');
  });
});

describe('watchAuth with concurrent next() calls', () => {
  it('answers them in order, none left pending', async () => {
    const { clock, client } = fakeClient([{ status: 'pending' }, { status: 'completed' }], {
      expiresInMs: 5 * MINUTE,
    });
    const watch = watchAuth(client, { platform: 'douyin', sessionId: 'sess-1', clock, sleep: clock.sleep });
    const results = await clock.drive(Promise.all([watch.next(), watch.next(), watch.next()]));
    expect(results.map((r) => (r.done ? 'done' : r.value.status))).toEqual(['pending', 'completed', 'done']);
  });

  it('ends every queued call when the loop is left', async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], { expiresInMs: 5 * MINUTE });
    const watch = watchAuth(client, { platform: 'douyin', sessionId: 'sess-1', clock, sleep: clock.sleep });
    const first = await clock.drive(watch.next());
    expect(first.done).toBe(false);
    const queued = [watch.next(), watch.next()];
    await clock.advance(10);
    await watch.return?.();
    const rest = await clock.drive(Promise.all(queued));
    expect(rest.map((r) => r.done)).toEqual([true, true]);
    expect(server.calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });
});

describe('the final check keeps the initialDelayMs floor', () => {
  it.each([
    // timeoutMs, requests: the final check would be due 500 ms before the deadline, at 3.1 s and 3.7 s,
    // but the last request went out at 3 s.
    [3600, [0, 1000, 3000]],
    [4200, [0, 1000, 3000, 4000]],
  ])('with timeoutMs %i the requests go out at %o', async (timeoutMs, expected) => {
    const { server, run } = setup(
      [{ status: 'pending' }],
      { expiresInMs: 5 * MINUTE, latencyMs: 0 },
      {
        timeoutMs,
      },
    );
    expect(await rejection(run())).toBeInstanceOf(AuthTimeoutError);
    expect(server.calls).toEqual(expected);
  });

  it('also after a retried failure', async () => {
    const { server, run } = setup(
      [{ status: 'pending' }, { status: 'pending' }, { http: 503 }, { status: 'pending' }],
      { expiresInMs: 5 * MINUTE, latencyMs: 0 },
      { timeoutMs: 3700 },
    );
    expect(await rejection(run())).toBeInstanceOf(AitoearnUnavailableError);
    // The 503 at 3 s would be retried at 3.2 s (deadline − 500 ms): too soon after it.
    expect(server.calls).toEqual([0, 1000, 3000]);
  });
});

describe('many waits on one AbortSignal', () => {
  it('500 waits share one signal without a MaxListenersExceededWarning; abort settles all, leaves no listener', {
    timeout: 120_000,
  }, async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], { expiresInMs: 5 * MINUTE });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const reason = new Error('service shutting down');
      const waits = Array.from({ length: 500 }, () =>
        rejection(waitForAuth(client, { ...on(clock), signal: controller.signal })),
      );
      // The first requests go out 32 per turn of the event loop.
      for (let i = 0; i < 100 && server.calls.length < 500; i++) await clock.advance(0);
      expect(server.calls).toHaveLength(500);
      expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
      await clock.advance(500); // every wait asleep after its first answer
      expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
      controller.abort(reason);
      const outcomes = await Promise.all(waits);
      expect(outcomes.filter((outcome) => outcome !== reason)).toEqual([]);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      expect(clock.pending).toBe(0);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.name)).toEqual([]);
      expect(server.calls).toHaveLength(500);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a wait that settles removes what it added to the caller’s signal', async () => {
    const { clock, client } = fakeClient([{ status: 'pending' }, { status: 'completed' }], {
      expiresInMs: 5 * MINUTE,
    });
    const controller = new AbortController();
    const options = { ...on(clock), signal: controller.signal };
    await clock.drive(Promise.all([waitForAuth(client, options), waitForAuth(client, options)]));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('nothing surprises (issue 16)', () => {
  const at = (ms: number) => new Date(SERVER_START_MS + ms).toISOString();

  it('item 1: an answer that moves expiresAt later keeps the checking going, and the final check is re-planned', async () => {
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

  it('item 1: an answer that moves expiresAt earlier ends the wait at the new expiry', async () => {
    const { server, clock, run } = setup(
      (i) => ({ status: 'pending', extra: { expiresAt: at(i === 0 ? 5 * MINUTE : 8000) } }),
      { latencyMs: 0 },
    );
    expect(await rejection(run())).toBeInstanceOf(AuthExpiredError);
    expect(clock.now()).toBeLessThanOrEqual(9000);
    expect(server.calls.at(-1)).toBeLessThan(8000);
  });

  it('what an injected sleep throws during a retry ends the wait as it is, never wrapped by p-retry', async () => {
    const { clock, client } = fakeClient([{ http: 503, headers: { 'retry-after': '2' } }], { latencyMs: 0 });
    let sleeps = 0;
    const sleep = (ms: number, signal: AbortSignal) => {
      sleeps += 1;
      // The retry's floor (the Retry-After) is the second sleep: it fails on its own, with a non-Error.
      return sleeps === 1 ? clock.sleep(ms, signal) : Promise.reject('boom');
    };
    const waiting = waitForAuth(client, { platform: 'douyin', sessionId: 'sess-1', clock, sleep });
    expect(await rejection(clock.drive(waiting))).toBe('boom');
  });

  it('a wait held back in a burst settles on abort without its turn, and sends nothing', async () => {
    const controller = new AbortController();
    let sent = 0;
    const client = createAitoearnClient({
      apiKey: 'test-key',
      baseUrl: 'http://127.0.0.1:9',
      fetch: async () => {
        sent += 1;
        return new Promise<Response>(() => {});
      },
    });
    let settled = 0;
    const waits = Array.from({ length: 320 }, () =>
      waitForAuth(client, { platform: 'douyin', sessionId: 'sess-1', signal: controller.signal })
        .catch((e: unknown) => e)
        .finally(() => {
          settled += 1;
        }),
    );
    controller.abort(new Error('stop'));
    // Admitted 32 a turn, the last would wait ten turns of the event loop; aborted, none waits for its turn.
    for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(settled).toBe(320);
    const outcomes = await Promise.all(waits);
    // Only the waits admitted in the first turn may have sent; the rest went nowhere.
    expect(sent).toBeLessThan(320);
    expect(outcomes.every((e) => e instanceof Error && e.message === 'stop')).toBe(true);
  });

  it('item 2: a promise returned by onProgress is awaited, and its rejection ends the wait with that error', async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], {
      expiresInMs: 5 * MINUTE,
      latencyMs: 0,
    });
    const thrown = new Error('could not open the browser');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const waiting = waitForAuth(client, {
        ...on(clock),
        onProgress: async () => {
          await clock.sleep(3000, new AbortController().signal);
          throw thrown;
        },
      });
      expect(await rejection(clock.drive(waiting))).toBe(thrown);
      // No check was sent while the callback ran (the next one was due after 1 s).
      expect(server.calls).toEqual([0]);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('item 8: the first poke checks at once, even right after a scheduled check; 5,000 more cause about one check a second', async () => {
    const { clock, server, client } = fakeClient([{ status: 'pending' }], {
      expiresInMs: 5 * MINUTE,
      latencyMs: 0,
    });
    const watch = watchAuth(client, {
      ...on(clock),
      random: () => 0,
    });
    const consumed = (async () => {
      for await (const _ of watch);
    })();
    await clock.advance(1000);
    expect(server.calls).toEqual([0, 1000]);
    watch.poke();
    await clock.advance(0);
    expect(server.calls).toEqual([0, 1000, 1000]);
    for (let i = 1; i <= 5000; i++) {
      watch.poke();
      if (i % 500 === 0) await clock.advance(1000);
    }
    // 10 s of forged pokes: one check per initialDelayMs (1 s) after the last request, no more.
    const flood = server.calls.slice(3);
    expect(flood.length).toBeGreaterThanOrEqual(9);
    expect(flood.length).toBeLessThanOrEqual(10);
    expect(Math.min(...gaps(server.calls.slice(2)))).toBeGreaterThanOrEqual(1000);
    await watch.return?.();
    await clock.drive(consumed);
  });

  it('a request is still timed out when an injected sleep fails on its own: the wait ends with its error', async () => {
    const { clock, server, client } = fakeClient([{ deaf: true }], { expiresInMs: 5 * MINUTE });
    const broken = new Error('the caller’s sleep broke');
    const waiting = waitForAuth(client, {
      platform: 'douyin',
      sessionId: 'sess-1',
      clock,
      sleep: () => Promise.reject(broken),
    });
    expect(await rejection(clock.drive(waiting))).toBe(broken);
    expect(server.calls).toHaveLength(1);
  });
});
