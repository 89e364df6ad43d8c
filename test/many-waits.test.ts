/**
 * Many waits in one process on the default clock and sleep (issue 12): correctness only, never speed.
 * The transport is an in-memory `fetch`, so that thousands of waits need no sockets; the waiter's timers,
 * abort wiring and request timers are the real ones.
 */
import { describe, expect, it } from 'vitest';
import { createAitoearnClient, waitForAuth } from '../src/index.js';
import { liveResources } from './helpers/leaks.js';

const body = (status: string, expiresAt?: string) =>
  JSON.stringify({
    code: 0,
    message: 'ok',
    data: { sessionId: 's', status, requiresSelection: false, expiresAt },
  });
const BODY = body('pending', new Date(Date.now() + 600_000).toISOString());

/** A client whose fetch answers `pending` at once, or never (until its request aborts) with `hang`. */
function memoryClient(mode: 'answer' | 'hang') {
  const calls: number[] = [];
  const sessions = new Set<string>();
  const client = createAitoearnClient({
    apiKey: 'many-key',
    baseUrl: 'http://127.0.0.1:9',
    fetch: (request) => {
      calls.push(performance.now());
      sessions.add(request.url.slice(request.url.lastIndexOf('/') + 1));
      if (mode === 'answer')
        return Promise.resolve(new Response(BODY, { headers: { date: new Date().toUTCString() } }));
      return new Promise<Response>((_, reject) => {
        request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
      });
    },
  });
  return { client, calls, sessions };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('thousands of waits on one AbortSignal', () => {
  it.each(['answer', 'hang'] as const)(
    'all settle on abort with the signal’s reason, no timer left and no process warning (fetch: %s)',
    async (mode) => {
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on('warning', onWarning);
      const { client, calls, sessions } = memoryClient(mode);
      const timers = liveResources('Timeout');
      const stop = new AbortController();
      const settled = Array.from({ length: 3000 }, (_, i) =>
        waitForAuth(client, { platform: 'douyin', sessionId: `s-${i}`, signal: stop.signal }).catch((e) => e),
      );
      // Every wait has sent its first request (and, with answers, is asleep until its second).
      for (let i = 0; i < 10_000 && sessions.size < 3000; i++) await turn();
      expect(sessions.size).toBe(3000);
      await pause(100);
      const reason = new Error('shutdown');
      stop.abort(reason);
      expect((await Promise.all(settled)).filter((o) => o !== reason)).toEqual([]);
      // Nothing is sent after the abort.
      const sent = calls.length;
      await pause(1200);
      expect(calls.length).toBe(sent);
      await turn();
      expect(liveResources('Timeout')).toBeLessThanOrEqual(timers);
      expect(liveResources('Immediate')).toBe(0);
      process.off('warning', onWarning);
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    },
    60_000,
  );
});

describe('starting many waits at once', () => {
  it('a burst of thousands of calls in one tick sends the first at once, returns before the rest are sent, then sends them all', async () => {
    await turn();
    const { client, calls, sessions } = memoryClient('answer');
    const stop = new AbortController();
    const waits = Array.from({ length: 2000 }, (_, i) =>
      waitForAuth(client, { platform: 'douyin', sessionId: `b-${i}`, signal: stop.signal }).catch(
        (error: unknown) => error,
      ),
    );
    const sentInTheTick = calls.length;
    expect(sentInTheTick).toBeGreaterThan(0);
    expect(sentInTheTick).toBeLessThan(100);
    // The event loop gets turns while the rest go out.
    await turn();
    expect(sessions.size).toBeLessThan(2000);
    for (let i = 0; i < 10_000 && sessions.size < 2000; i++) await turn();
    expect(sessions.size).toBe(2000);
    stop.abort();
    await Promise.all(waits);
  });
});

describe('requests are timed by a timer of their own, never the caller’s sleep (issue 11 item 8)', () => {
  /** A client whose fetch answers after `ms` of real time: `pending` first, then `completed`. */
  function slowClient(ms: number) {
    let n = 0;
    return createAitoearnClient({
      apiKey: 'item-8-key',
      baseUrl: 'http://127.0.0.1:9',
      fetch: () =>
        new Promise<Response>((resolve) => {
          const status = n++ === 0 ? 'pending' : 'completed';
          setTimeout(() => resolve(new Response(body(status))), ms);
        }),
    });
  }

  it('a sleep that returns at once does not make the requests time out', async () => {
    const events: string[] = [];
    const onProgress = (event: { type: string }) => events.push(event.type);
    const sleep = async () => {};
    const wait = { platform: 'douyin', sessionId: 's', requestTimeoutMs: 2000, sleep, onProgress };
    expect((await waitForAuth(slowClient(50), wait)).status).toBe('completed');
    expect(events).toEqual(['status', 'status']);
  });

  it('a sleep that ignores its signal leaves no request timer alive', async () => {
    await turn();
    const timers = liveResources('Timeout');
    const session = await waitForAuth(slowClient(0), {
      platform: 'douyin',
      sessionId: 's',
      initialDelayMs: 1,
      requestTimeoutMs: 60_000,
      sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    });
    expect(session.status).toBe('completed');
    await turn();
    expect(liveResources('Timeout')).toBeLessThanOrEqual(timers);
  });
});
