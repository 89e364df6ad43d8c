// Fault suite: the real client and `waitForAuth` against a scripted `node:http` server on 127.0.0.1, for what
// only real sockets show: resets, truncated and slow bodies, gateway pages, and the timers and sockets left
// after settling. Outcomes, timing and aborts are pinned on the fake clock in wait-for-auth.test.ts.
import { createHook } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';
import { expect, test } from 'vitest';
import {
  AitoearnTransportError,
  type AuthProgress,
  createAitoearnClient,
  waitForAuth,
} from '../src/index.js';
import { CANARY, expectNoKey } from './helpers/canary.js';
import { errorBody, json, startServer, statusBody } from './helpers/http-server.js';
import { liveResources } from './helpers/leaks.js';

const SESSION_ID = 'sess-fault';
const WAIT = { platform: 'douyin', sessionId: SESSION_ID, initialDelayMs: 20, maxDelayMs: 80 } as const;

type Step = (req: IncomingMessage, res: ServerResponse) => void;

const session = { sessionId: SESSION_ID, requiresSelection: false, expiresAt: '2099-01-01T00:00:00Z' };
const withStatus = (status: string) =>
  ((_req, res) => json(res, statusBody({ ...session, status }))) satisfies Step;
const [pending, completed] = [withStatus('pending'), withStatus('completed')];
/** A gateway's HTML page that, like many debugging proxies, echoes the request headers — the key included. */
const gateway =
  (status: number): Step =>
  (req, res) =>
    res.writeHead(status, { 'Content-Type': 'text/html' }).end(`<pre>${JSON.stringify(req.headers)}</pre>`);
const reset: Step = (req) => req.socket.destroy();
const leakyError: Step = (_req, res) => json(res, errorBody(500, `internal error for key ${CANARY}`));
const maintenance: Step = (_req, res) => res.writeHead(200).end('<html>maintenance</html>');
const sessionless: Step = (_req, res) => json(res, statusBody({}));
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

test.concurrent.each([
  [
    'every kind of transient failure is retried, then completed; no event carries the key',
    [gateway(408), gateway(502), leakyError, maintenance, truncated, sessionless, reset, completed],
    {},
    ['http-status', 'http-status', 'AitoearnApiError', 'bad-body', 'network', 'bad-body', 'network'],
  ],
  [
    'a body 5 s after the headers: the request times out and is retried',
    [slowBody, completed],
    { requestTimeoutMs: 1000 },
    ['timeout'],
  ],
] as const)('%s', async (_name, script, options, reasons) => {
  const server = await startServer((req, res, i) => script[Math.min(i, script.length - 1)]?.(req, res));
  const events: AuthProgress[] = [];
  const controller = new AbortController();
  const client = createAitoearnClient({ apiKey: CANARY, baseUrl: server.url });
  try {
    const onProgress = (event: AuthProgress) => events.push(event);
    const wait = { ...WAIT, signal: controller.signal, onProgress, ...options };
    const done = await waitForAuth(client, wait);
    expect(done).toMatchObject({ status: 'completed', sessionId: SESSION_ID });
    const retries = events.filter((event) => event.type === 'retry').map(({ error }) => error);
    expect(retries.map((e) => (e instanceof AitoearnTransportError ? e.reason : e?.name))).toEqual(reasons);
    expectNoKey(events);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // A loop left running at 20 ms cadence would show within this pause.
    await delay(100);
    expect(server.requests).toHaveLength(script.length);
  } finally {
    await server.close();
  }
});

test.each([
  ['a completed wait', [pending, pending, completed], undefined],
  ['a terminal business error', [((_req, res) => json(res, errorBody(15040))) as Step], undefined],
  ['an abort during a 60 s sleep', [pending], { initialDelayMs: 60_000, maxDelayMs: 60_000 }],
  ['an abort during a hanging request', [() => {}], {}],
] as const)('after settling, no timer or socket of ours outlives %s', async (_name, script, abortable) => {
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
    const client = createAitoearnClient({ apiKey: CANARY, baseUrl: server.url });
    await waitForAuth(client, { ...WAIT, signal: controller.signal, ...abortable }).catch(() => {});
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
