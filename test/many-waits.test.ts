// Many waits in one process on the default clock and sleep (issue 12): correctness only, never speed. The
// transport is an in-memory `fetch` (thousands of waits need no sockets); timers and abort wiring are real.
import { setTimeout as pause, setImmediate as turn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { createAitoearnClient, waitForAuth } from '../src/index.js';
import { liveResources } from './helpers/leaks.js';

const body = (sessionId: string, status: string, expiresAt = new Date(Date.now() + 600_000).toISOString()) =>
  JSON.stringify({
    code: 0,
    message: 'ok',
    data: { sessionId, status, requiresSelection: false, expiresAt },
  });

/** A client whose fetch answers `pending` at once (`answer`), an answer about another session, a transient
 * failure that p-retry retries (`retry`), or never, until its request aborts (`hang`). */
function memoryClient(mode: 'answer' | 'retry' | 'hang') {
  const [calls, sessions] = [[] as number[], new Set<string>()];
  const fetch = (request: Request) => {
    const id = request.url.slice(request.url.lastIndexOf('/') + 1);
    calls.push(performance.now());
    sessions.add(id);
    const headers = { date: new Date().toUTCString() };
    if (mode !== 'hang')
      return Promise.resolve(new Response(body(mode === 'answer' ? id : 'other', 'pending'), { headers }));
    return new Promise<Response>((_, reject) =>
      request.signal.addEventListener('abort', () => reject(request.signal.reason)),
    );
  };
  const client = createAitoearnClient({ apiKey: 'many-key', baseUrl: 'http://127.0.0.1:9', fetch });
  return { client, calls, sessions };
}

const modes = ['answer', 'retry', 'hang'] as const;
it.each(modes)('2,000 waits on one signal settle on abort, no timer or warning left (%s)', async (mode) => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  const { client, calls, sessions } = memoryClient(mode);
  const timers = liveResources('Timeout');
  const stop = new AbortController();
  const settled = Array.from({ length: 2000 }, (_, i) =>
    waitForAuth(client, { platform: 'douyin', sessionId: `s-${i}`, signal: stop.signal }).catch((e) => e),
  );
  // Every wait has sent its first request (and, with answers, is asleep until its next one).
  for (let i = 0; i < 10_000 && sessions.size < 2000; i++) await turn();
  expect(sessions.size).toBe(2000);
  await pause(100);
  const reason = new Error('shutdown');
  stop.abort(reason);
  expect((await Promise.all(settled)).filter((o) => o !== reason)).toEqual([]);
  const sent = calls.length;
  await pause(1200);
  expect(calls.length).toBe(sent);
  await turn();
  expect(liveResources('Timeout')).toBeLessThanOrEqual(timers);
  expect(liveResources('Immediate')).toBe(0);
  process.off('warning', onWarning);
  expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
});

it('a burst of thousands of calls in one tick sends the first at once, returns before the rest are sent, then sends them all', async () => {
  await turn();
  const { client, calls, sessions } = memoryClient('answer');
  const stop = new AbortController();
  const start = (i: number) =>
    waitForAuth(client, { platform: 'douyin', sessionId: `b-${i}`, signal: stop.signal });
  const waits = Array.from({ length: 2000 }, (_, i) => start(i).catch((e) => e));
  expect(calls.length).toBeGreaterThan(0);
  expect(calls.length).toBeLessThan(100);
  // The event loop gets turns while the rest go out.
  await turn();
  expect(sessions.size).toBeLessThan(2000);
  for (let i = 0; i < 10_000 && sessions.size < 2000; i++) await turn();
  expect(sessions.size).toBe(2000);
  // Aborted, the waits held back in a second burst settle without their turn, and send nothing.
  const sent = calls.length;
  const held = Array.from({ length: 320 }, (_, i) => start(2000 + i).catch((e) => e));
  stop.abort(new Error('stop'));
  let settled = 0;
  for (const wait of [...waits, ...held]) void wait.then(() => settled++);
  for (let i = 0; i < 2; i++) await turn();
  expect(settled).toBe(2320);
  expect(calls.length - sent).toBeLessThan(320);
});

/** A client whose fetch answers after `ms` of real time: `pending` first, then `completed`. */
function slowClient(ms: number) {
  let n = 0;
  const fetch = () => pause(ms, new Response(body('s', n++ === 0 ? 'pending' : 'completed')));
  return createAitoearnClient({ apiKey: 'item-8-key', baseUrl: 'http://127.0.0.1:9', fetch });
}

// A request is timed by a timer of its own, which ends with it: not by the sleep, which may return at
// once (the request must not time out) or ignore its signal (no request timer may be left alive).
it.each([
  ['returns at once', async () => {}, 50, {}],
  ['ignores its signal', (ms: number) => pause(ms), 0, { initialDelayMs: 1 }],
])('a sleep that %s neither times out a request nor leaves its timer alive', async (_, sleep, ms, more) => {
  await turn();
  const timers = liveResources('Timeout');
  const events: string[] = [];
  const onProgress = (event: { type: string }) => events.push(event.type);
  const wait = { platform: 'douyin', sessionId: 's', requestTimeoutMs: 2000, sleep, onProgress, ...more };
  expect((await waitForAuth(slowClient(ms), wait)).status).toBe('completed');
  expect(events).toEqual(['status', 'status']);
  await turn();
  expect(liveResources('Timeout')).toBeLessThanOrEqual(timers);
});

it('a sleeping wait holds nothing of the answer it read: thousands of waits, not thousands of answers', async () => {
  // V8's gc(), reachable from a new context while the flag is set; the flag is put back at once.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  setFlagsFromString('--no-expose-gc');
  const answers: WeakRef<Response>[] = [];
  // Kept alive, a request's signal stays in undici's finalization registry: what its handlers hold would stay
  // reachable whenever a collection happened, not only before undici's finalizer runs.
  const requests: Request[] = [];
  const fetch = async (request: Request) => {
    requests.push(request);
    const response = new Response(body('s-gc', 'pending'), { headers: { date: new Date().toUTCString() } });
    answers.push(new WeakRef(response));
    return response;
  };
  const client = createAitoearnClient({ apiKey: 'many-key', baseUrl: 'http://127.0.0.1:9', fetch });
  const stop = new AbortController();
  let checked!: () => void;
  const sleeping = new Promise<void>((resolve) => (checked = resolve));
  const options = { platform: 'douyin', sessionId: 's-gc', signal: stop.signal, onProgress: () => checked() };
  const slow = { initialDelayMs: 60_000, maxDelayMs: 60_000 };
  const wait = waitForAuth(client, { ...options, ...slow }).catch((e) => e);
  await sleeping;
  await turn();
  gc();
  expect([requests.length, answers.map((answer) => answer.deref())]).toEqual([1, [undefined]]);
  stop.abort();
  expect(await wait).toBe(stop.signal.reason);
});
