// connectAccount against the real sandbox, with the stand-in person's callback POST, on a stopped clock:
// time moves only when a test ends the earliest sleep (`tick`), so a check without one is the callback's.
import { connect } from 'node:net';
import { afterAll, expect, it, vi } from 'vitest';
import { visitConsentPage } from '../scripts/stand-in-person.js';
import { LINGER_MS, watchConnect } from '../src/connect/connect-account.js';
import {
  AitoearnInputError,
  AuthFailedError,
  type AuthProgress,
  type AuthSession,
  type ConnectAccountOptions,
  type ConnectStart,
  connectAccount,
  createAitoearnClient,
} from '../src/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import { stoppedClock } from './helpers/connect-clock.js';
import { delay, until } from './helpers/run-cli.js';

const sandbox = await startSandbox();
const client = createAitoearnClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
afterAll(() => sandbox.close());

const checks = (sessionId: string) => sandbox.requests.filter((r) => r.path.endsWith(`/status/${sessionId}`));

/** The port's fate: `connected`, or `ECONNREFUSED` once nothing listens; probes up to `tries` more times. */
async function probe(url: string | undefined, tries = 0): Promise<string> {
  const fate = await new Promise<string>((resolve) => {
    const socket = connect(Number(new URL(url ?? '').port), '127.0.0.1');
    socket.once('connect', () => resolve('connected')).once('connect', () => socket.destroy());
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
  return fate === 'connected' && tries > 0 ? delay(20).then(() => probe(url, tries - 1)) : fate;
}

type Listen = Parameters<typeof watchConnect>[2];
/** Connects a douyin account on a stopped clock (through `listen` when given); see stoppedClock for `tick`. */
function begin(options: Partial<ConnectAccountOptions> = {}, listen?: Listen) {
  const { clock, sleep, tick } = stoppedClock();
  const [events, starts]: [AuthProgress[], ConnectStart[]] = [[], []];
  const onStart = (start: ConnectStart) => {
    starts.push(start);
    return options.onStart?.(start);
  };
  const onProgress = (event: AuthProgress) => void events.push(event);
  const all: ConnectAccountOptions = { platform: 'douyin', clock, sleep, ...options, onStart, onProgress };
  const result = listen ? drain(watchConnect(client, all, listen)) : connectAccount(client, all);
  result.catch(() => {});
  const started = () => until(() => starts.length > 0).then(() => starts[0] as ConnectStart);
  const checked = (n: number) => until(() => events.length >= n).then(() => events[n - 1] as AuthProgress);
  return { result, events, started, checked, tick };
}

async function drain(watch: ReturnType<typeof watchConnect>): Promise<AuthSession> {
  let session: AuthSession | undefined;
  for await (const event of watch) session = event.session;
  return session as AuthSession;
}

it('notices an approval through the callback: one more check, with no time passing', async () => {
  const run = begin();
  const start = await run.started();
  expect(start.callbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}$/);
  expect((await run.checked(1)).status).toBe('pending');
  const visit = await visitConsentPage(start.url, 'approve');
  expect([visit.callbackForm?.action, visit.callbackStatus]).toEqual([start.callbackUrl, 200]);
  expect((await run.result).accounts?.[0]?.platform).toBe('douyin');
  expect(run.events.map((e) => `${e.attempt} ${e.status}`)).toEqual(['1 pending', '2 completed']);
  expect(checks(start.sessionId)).toHaveLength(2);
  expect(await probe(start.callbackUrl)).toBe('ECONNREFUSED');
});

const refused: Listen = () => Promise.reject(new Error('listen EADDRNOTAVAIL'));
it.each([
  ['a denial (there is no callback on failure)', {}, undefined, 'deny'],
  ['an approval with callback: false, sending no callbackUrl', { callback: false }, undefined, 'approve'],
  ['an approval when the listener cannot start, sending no callbackUrl', {}, refused, 'approve'],
] as const)('notices %s by polling', async (_, options, listen, decision) => {
  const run = begin(options, listen);
  const start = await run.started();
  expect(start.callbackUrl === undefined).toBe(decision === 'approve');
  await run.checked(1);
  expect((await visitConsentPage(start.url, decision)).callbackForm).toBeUndefined();
  expect(await run.tick()).toBeGreaterThan(0);
  const outcome = await run.result.catch((e: AuthFailedError) => e);
  const expected = decision === 'deny' ? 15045 : 'completed';
  expect(outcome instanceof AuthFailedError ? outcome.errorCode : outcome.status).toBe(expected);
  if (start.callbackUrl) expect(await probe(start.callbackUrl)).toBe('ECONNREFUSED');
});

it('takes a forged POST for one early check that finds pending; an abort rejects and closes the listener', async () => {
  const controller = new AbortController();
  const run = begin({ signal: controller.signal });
  const start = await run.started();
  await run.checked(1);
  const body = new URLSearchParams({ nickname: 'evil', platform: 'douyin', accounts: '[]' });
  expect((await fetch(start.callbackUrl ?? '', { method: 'POST', body })).status).toBe(200);
  expect((await run.checked(2)).status).toBe('pending');
  expect(checks(start.sessionId)).toHaveLength(2);
  // Only the status operation ends it: the wait goes on until the abort.
  const reason = new Error('stop');
  controller.abort(reason);
  await expect(run.result).rejects.toBe(reason);
  expect(run.events).toHaveLength(2);
  expect(await probe(start.callbackUrl)).toBe('ECONNREFUSED');
});

const never = new Error('never');
it.each([
  ['an aborted signal', { platform: 'douyin', signal: AbortSignal.abort(never) }, never],
  ['a bad wait option', { platform: 'douyin', timeoutMs: -5 }, 'timeoutMs'],
  ['a bad platform', { platform: '../x' }, 'platform'],
  ['callback that is not a boolean', { platform: 'douyin', callback: 'yes' }, 'callback'],
  ['onStart that is not a function', { platform: 'douyin', onStart: 'print' }, 'onStart'],
])('refuses %s before sending anything', async (_name, options, expected) => {
  const before = sandbox.requestCount;
  const error = await connectAccount(client, options as ConnectAccountOptions).catch((e: unknown) => e);
  expect(error instanceof AitoearnInputError ? error.field : error).toBe(expected);
  expect(sandbox.requestCount).toBe(before);
});

const thrown = new Error('cannot show the URL');
const raise = () => {
  throw thrown;
};
it.each([
  ['throws', raise],
  ['rejects', () => Promise.reject(thrown)],
])('stops with what onStart %s, and closes the listener', async (_, onStart) => {
  const run = begin({ onStart });
  await expect(run.result).rejects.toBe(thrown);
  expect(await probe((await run.started()).callbackUrl)).toBe('ECONNREFUSED');
});

type Run = ReturnType<typeof begin>;
const post = async (url: string) => (await fetch(url, { method: 'POST', body: 'platform=douyin' })).text();
it.each([
  ['the browser posts', async (_: Run, url: string) => expect(await post(url)).toContain('You can close')],
  ['its sleep of LINGER_MS ends', async (run: Run) => expect(await run.tick()).toBe(LINGER_MS)],
  ['Node’s own timer fires (the sleep never ends)', () => vi.advanceTimersByTimeAsync(LINGER_MS)],
])('after a completion found by polling, serves the callback until %s', async (name, end) => {
  const run = begin();
  const start = await run.started();
  await run.checked(1);
  // The browser is slower than the next check: polling sees the approval first.
  await visitConsentPage(start.url, 'approve', { submit: false });
  if (name.startsWith('Node')) vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  await run.tick();
  try {
    expect((await run.result).status).toBe('completed');
    expect(await probe(start.callbackUrl)).toBe('connected');
    await end(run, start.callbackUrl ?? '');
  } finally {
    vi.useRealTimers();
  }
  expect(await probe(start.callbackUrl, 100)).toBe('ECONNREFUSED');
});
