/**
 * connectAccount against the real sandbox over real sockets: the start operation, the consent page, the
 * browser's callback POST (sent by the stand-in person in scripts/stand-in-person.ts, as a browser submits
 * a form), and the status polling that always has the last word.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitConsentPage } from '../scripts/stand-in-person.js';
import { LINGER_MS, watchConnect } from '../src/connect/connect-account.js';
import {
  type AitoearnClient,
  AitoearnInputError,
  AuthFailedError,
  type AuthProgress,
  type ConnectAccountOptions,
  type ConnectStart,
  connectAccount,
  createAitoearnClient,
} from '../src/index.js';
import { type Sandbox, startSandbox } from '../src/sandbox/index.js';

let sandbox: Sandbox;
let client: AitoearnClient;

beforeAll(async () => {
  sandbox = await startSandbox();
  client = createAitoearnClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
});
afterAll(() => sandbox?.close());

/** The second check comes 1 s after the first and the third 10 s after that: only a poke explains a quick third. */
const SLOW_AFTER_SECOND = { initialDelayMs: 1000, factor: 10, maxDelayMs: 60_000, jitter: 0 } as const;

/** A check every 200 ms. */
const STEADY = { initialDelayMs: 200, factor: 1, maxDelayMs: 200 } as const;

function statusChecks(sessionId: string) {
  return sandbox.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/status/${sessionId}`));
}

/** Resolves with the port's fate: `ECONNREFUSED` once nothing listens there any more. */
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

/** Probes until nothing listens (the listener closes a few turns after its reason to). */
async function closed(url: string): Promise<string> {
  let fate = await probe(url);
  for (let i = 0; i < 100 && fate === 'connected'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    fate = await probe(url);
  }
  return fate;
}

/** Starts connectAccount and exposes its start, its events, and a way to wait for an event. */
function begin(options: Partial<ConnectAccountOptions> = {}) {
  const events: AuthProgress[] = [];
  const waiters: { test: (e: AuthProgress) => boolean; resolve: (e: AuthProgress) => void }[] = [];
  let resolveStart: (start: ConnectStart) => void = () => {};
  const started = new Promise<ConnectStart>((resolve) => {
    resolveStart = resolve;
  });
  const result = connectAccount(client, {
    platform: 'douyin',
    ...SLOW_AFTER_SECOND,
    ...options,
    onStart: (start) => {
      options.onStart?.(start);
      resolveStart(start);
    },
    onProgress: (event) => {
      events.push(event);
      for (const w of waiters.splice(0)) {
        if (w.test(event)) w.resolve(event);
        else waiters.push(w);
      }
    },
  });
  result.catch(() => {});
  const event = (test: (e: AuthProgress) => boolean) =>
    new Promise<AuthProgress>((resolve) => {
      const seen = events.find(test);
      if (seen) resolve(seen);
      else waiters.push({ test, resolve });
    });
  return { started, result, events, event };
}

describe('connectAccount', () => {
  it('notices an approval through the callback with one extra check, long before the next scheduled poll', async () => {
    const run = begin();
    const start = await run.started;
    expect(start.callbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}$/);
    expect(start.sessionId).toHaveLength(16);
    // After the second check the next one is 10 s away.
    const second = await run.event((e) => e.attempt === 2);
    expect(second.status).toBe('pending');
    expect(second.nextDelayMs).toBe(10_000);
    const checksBefore = statusChecks(start.sessionId).length;

    const visit = await visitConsentPage(start.url, 'approve');
    expect(visit.callbackForm?.action).toBe(start.callbackUrl);
    expect(visit.callbackStatus).toBe(200);

    const session = await run.result;
    expect(session.status).toBe('completed');
    expect(session.accounts?.[0]?.platform).toBe('douyin');
    // Exactly one more status request, made because of the callback: the scheduled one was 10 s away.
    expect(statusChecks(start.sessionId).length).toBe(checksBefore + 1);
    expect(run.events.at(-1)?.attempt).toBe(3);
    expect(await probe(start.callbackUrl ?? '')).toBe('ECONNREFUSED');
  });

  it('passes the callback form the upstream fields (and the browser posts them to the one random path)', async () => {
    const run = begin();
    const start = await run.started;
    await run.event((e) => e.attempt === 1);
    const visit = await visitConsentPage(start.url, 'approve');
    const names = visit.callbackForm?.fields.map(([name]) => name) ?? [];
    for (const field of [
      'relayAccountRef',
      'nickname',
      'avatar',
      'platformUid',
      'account',
      'platform',
      'accounts',
    ]) {
      expect(names).toContain(field);
    }
    await run.result;
  });

  it('notices a denial by polling (there is no callback on failure)', async () => {
    const run = begin(STEADY);
    const start = await run.started;
    await run.event((e) => e.attempt === 1);
    const visit = await visitConsentPage(start.url, 'deny');
    expect(visit.callbackForm).toBeUndefined();
    const error = await run.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthFailedError);
    expect((error as AuthFailedError).errorCode).toBe(15045);
    expect(await probe(start.callbackUrl ?? '')).toBe('ECONNREFUSED');
  });

  it('with callback: false sends no callbackUrl and finishes by polling alone', async () => {
    const run = begin({ ...STEADY, callback: false });
    const start = await run.started;
    expect(start.callbackUrl).toBeUndefined();
    await run.event((e) => e.attempt === 1);
    const visit = await visitConsentPage(start.url, 'approve');
    expect(visit.callbackForm).toBeUndefined();
    const session = await run.result;
    expect(session.status).toBe('completed');
  });

  it('finishes by polling when the browser never reaches the listener', async () => {
    const run = begin(STEADY);
    const start = await run.started;
    await run.event((e) => e.attempt === 1);
    const visit = await visitConsentPage(start.url, 'approve', { submit: false });
    expect(visit.callbackForm).toBeDefined();
    expect((await run.result).status).toBe('completed');
  });

  it('finishes by polling alone, without a callbackUrl, when the listener cannot start', async () => {
    let sawStart: ConnectStart | undefined;
    const refused = Object.assign(new Error('listen EADDRNOTAVAIL 127.0.0.1'), { code: 'EADDRNOTAVAIL' });
    const watch = watchConnect(
      client,
      {
        platform: 'douyin',
        ...STEADY,
        onStart: (start) => {
          sawStart = start;
        },
      },
      () => Promise.reject(refused),
    );
    let visit: ReturnType<typeof visitConsentPage> | undefined;
    let last: AuthProgress | undefined;
    for await (const event of watch) {
      last = event;
      visit ??= visitConsentPage(sawStart?.url ?? '', 'approve');
    }
    expect(sawStart?.callbackUrl).toBeUndefined();
    // Without a callbackUrl the sandbox's final page has no form to post.
    expect((await visit)?.callbackForm).toBeUndefined();
    expect(last?.status).toBe('completed');
  });

  it('treats a forged POST on the token path as one early check that finds the session still pending', async () => {
    const run = begin();
    const start = await run.started;
    await run.event((e) => e.attempt === 2);
    const checksBefore = statusChecks(start.sessionId).length;
    // Claims success with every field a real callback has; the session is still pending on the server.
    const forged = await fetch(start.callbackUrl ?? '', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'relayAccountRef=x&nickname=evil&platformUid=1&account=a&platform=douyin&accounts=%5B%5D',
    });
    expect(forged.status).toBe(200);
    const third = await run.event((e) => e.attempt === 3);
    expect(third.status).toBe('pending');
    expect(third.nextDelayMs).toBeGreaterThan(5000);
    expect(statusChecks(start.sessionId).length).toBe(checksBefore + 1);
    // Still waiting: only the status operation can end it. Approve for real to finish.
    let settled = false;
    run.result.finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    await visitConsentPage(start.url, 'approve');
    expect((await run.result).status).toBe('completed');
  });

  it('answers 404 on another path and 405 to another method while it waits', async () => {
    const run = begin();
    const start = await run.started;
    const url = start.callbackUrl ?? '';
    expect((await fetch(`${new URL(url).origin}/`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${url}x`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(url)).status).toBe(405);
    await visitConsentPage(start.url, 'approve');
    await run.result;
  });

  it('closes the listener when aborted, and rejects with the reason', async () => {
    const controller = new AbortController();
    const run = begin({ signal: controller.signal });
    const start = await run.started;
    expect(await probe(start.callbackUrl ?? '')).toBe('connected');
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(run.result).rejects.toBe(reason);
    expect(await probe(start.callbackUrl ?? '')).toBe('ECONNREFUSED');
  });

  it('sends nothing when the signal is already aborted', async () => {
    const before = sandbox.requestCount;
    const reason = new Error('never');
    await expect(
      connectAccount(client, { platform: 'douyin', signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    expect(sandbox.requestCount).toBe(before);
  });

  it.each([
    ['a bad wait option', { platform: 'douyin', timeoutMs: -5 }, 'timeoutMs'],
    ['a bad platform', { platform: '../x' }, 'platform'],
    ['callback that is not a boolean', { platform: 'douyin', callback: 'yes' }, 'callback'],
    ['onStart that is not a function', { platform: 'douyin', onStart: 'print' }, 'onStart'],
  ])('refuses %s before sending anything', async (_name, options, field) => {
    const before = sandbox.requestCount;
    const error = await connectAccount(client, options as unknown as ConnectAccountOptions).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AitoearnInputError);
    expect((error as AitoearnInputError).field).toBe(field);
    expect(sandbox.requestCount).toBe(before);
  });

  it.each(['throws', 'rejects'] as const)(
    'stops with what onStart %s, and closes the listener',
    async (how) => {
      let callbackUrl: string | undefined;
      const thrown = new Error('cannot show the URL');
      const error = await connectAccount(client, {
        platform: 'douyin',
        timeoutMs: 5000,
        onStart: (start) => {
          callbackUrl = start.callbackUrl;
          if (how === 'throws') throw thrown;
          return Promise.reject(thrown);
        },
      }).catch((e: unknown) => e);
      expect(error).toBe(thrown);
      expect(await probe(callbackUrl ?? '')).toBe('ECONNREFUSED');
    },
  );

  it('after a completion found by polling, keeps answering the callback until the POST comes (issue 16 item 9)', async () => {
    const run = begin(STEADY);
    const start = await run.started;
    await run.event((e) => e.attempt === 1);
    // The browser is slower than the next check: polling sees the approval first.
    const visit = await visitConsentPage(start.url, 'approve', { submit: false });
    expect((await run.result).status).toBe('completed');
    const late = await fetch(start.callbackUrl ?? '', { method: 'POST', body: 'platform=douyin' });
    expect(late.status).toBe(200);
    expect(await late.text()).toContain('You can close this window');
    expect(visit.callbackForm?.action).toBe(start.callbackUrl);
    // The POST ended the lingering: nothing listens any more.
    expect(await closed(start.callbackUrl ?? '')).toBe('ECONNREFUSED');
  });

  it('lingers no longer than LINGER_MS when the POST never comes, on the waiter’s sleep', async () => {
    let endLinger: () => void = () => {};
    const lingered: number[] = [];
    // The linger's sleep waits for the test; every other sleep is a real one.
    const sleep = (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        if (ms === LINGER_MS) {
          lingered.push(ms);
          endLinger = resolve;
          return;
        }
        const timer = setTimeout(resolve, ms);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    const run = begin({ ...STEADY, sleep });
    const start = await run.started;
    await run.event((e) => e.attempt === 1);
    await visitConsentPage(start.url, 'approve', { submit: false });
    expect((await run.result).status).toBe('completed');
    expect(lingered).toEqual([LINGER_MS]);
    expect(await probe(start.callbackUrl ?? '')).toBe('connected');
    endLinger();
    expect(await closed(start.callbackUrl ?? '')).toBe('ECONNREFUSED');
  });

  it('ends the linger on Node’s own timer when an injected sleep never does (a fake clock that stopped)', async () => {
    const sleep = (ms: number, signal: AbortSignal) =>
      ms === LINGER_MS
        ? new Promise<void>(() => {})
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, ms);
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(signal.reason);
            });
          });
    const run = begin({ ...STEADY, sleep });
    const start = await run.started;
    await run.event((e) => e.attempt === 1);
    await visitConsentPage(start.url, 'approve', { submit: false });
    expect((await run.result).status).toBe('completed');
    let fate = await probe(start.callbackUrl ?? '');
    expect(fate).toBe('connected');
    for (let i = 0; i < 400 && fate === 'connected'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      fate = await probe(start.callbackUrl ?? '');
    }
    expect(fate).toBe('ECONNREFUSED');
  });
});
