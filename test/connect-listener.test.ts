import { once } from 'node:events';
import { type IncomingMessage, request } from 'node:http';
import { connect } from 'node:net';
import { setImmediate } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { startCallbackListener } from '../src/connect/callback-listener.js';
import { MAX_BODY_BYTES as CAP } from '../src/local-server.js';
import { liveResources } from './helpers/leaks.js';
import { emfile, liveServerAt } from './helpers/live-server.js';

const open: { close(): Promise<void> }[] = [];
afterEach(() => Promise.all(open.splice(0).map((l) => l.close())));

let callbacks = 0;
async function listen(options: { randomBytes?: (size: number) => Buffer } = {}) {
  callbacks = 0;
  const listener = await startCallbackListener({ ...options, onCallback: () => callbacks++ });
  open.push(listener);
  return listener;
}

/** One request on a fresh connection; the body is written in the given chunks (no Content-Length for several). */
async function send(url: string, method: string, ...chunks: (string | Buffer)[]) {
  const req = request(url, { method, agent: false });
  if (chunks.length === 1) req.setHeader('Content-Length', Buffer.byteLength(chunks[0] ?? ''));
  for (const chunk of chunks) req.write(chunk);
  const [res] = (await once(req.end(), 'response')) as [IncomingMessage];
  const text = (await res.setEncoding('utf8').toArray()).join('');
  return { status: res.statusCode ?? 0, headers: res.headers, text };
}

it('listens on 127.0.0.1 at a 32-character path made of its random bytes', async () => {
  const pattern = /^http:\/\/127\.0\.0\.1:[1-9]\d*\/([A-Za-z0-9_-]{32})$/;
  const [a, b] = [await listen(), await listen()];
  expect(pattern.exec(a.url)?.[1]).not.toBe(pattern.exec(b.url)?.[1]);
  expect((await listen({ randomBytes: (size) => Buffer.alloc(size, 0xff) })).url).toMatch(/:\d+\/_{32}$/);
});

it('answers every POST on its path (a forged one is one more hint) with a small CSP page, then reports it', async () => {
  const listener = await listen();
  // An 'error' after start-up (EMFILE on accept) must not throw: with no 'error' listener, emit throws, and
  // in a real server that crashes the caller's process.
  expect(() => liveServerAt(listener.url).emit('error', emfile())).not.toThrow();
  const answer = await send(listener.url, 'POST', 'nickname=n&platform=douyin&accounts=%5B%5D');
  expect(answer).toMatchObject({ status: 200, headers: { 'cache-control': 'no-store' } });
  expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(answer.headers['content-security-policy']).toContain("default-src 'none'");
  expect(answer.text).toContain('You can close this window');
  expect(answer.text).not.toContain('<script');
  expect(callbacks).toBe(1);
  await send(listener.url, 'POST', '');
  expect(callbacks).toBe(2);
});

const origin = (url: string) => new URL(url).origin;
const token = (url: string) => new URL(url).pathname;
const same = (url: string) => url;
type Row = [string, string, (url: string) => string, number, Buffer[]?];
it.each<Row>([
  ['another path', 'POST', (u) => `${origin(u)}/callback`, 404],
  ['the root', 'POST', (u) => `${origin(u)}/`, 404],
  ['the token with one character less', 'POST', (u) => u.slice(0, -1), 404],
  ['the token with a suffix', 'POST', (u) => `${u}x`, 404],
  ['the token below a prefix', 'POST', (u) => `${origin(u)}/x${token(u)}`, 404],
  ['the token in a query', 'POST', (u) => `${origin(u)}/?t=${token(u).slice(1)}`, 404],
  ...['GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'].map((m): Row => [`${m} on its path`, m, same, 405]),
  ['a declared body over the cap', 'POST', same, 413, [Buffer.alloc(CAP + 1, 'a')]],
  ['a streamed body over the cap', 'POST', same, 413, [0, 1, 2].map(() => Buffer.alloc(CAP / 2, 'b'))],
])('refuses %s and reports nothing', async (_, method, target, status, body = []) => {
  const listener = await listen();
  const answer = await send(target(listener.url), method, ...body);
  expect(answer.status).toBe(status);
  if (status === 405) expect(answer.headers.allow).toBe('POST');
  expect(callbacks).toBe(0);
  // A body at the cap is still a callback.
  expect((await send(listener.url, 'POST', Buffer.alloc(CAP, 'a'))).status).toBe(200);
  expect(callbacks).toBe(1);
});

it('close() stops listening and destroys idle keep-alive sockets, leaving no handle behind', async () => {
  const handles = () => liveResources('TCPServerWrap', 'TCPSocketWrap');
  const before = handles();
  const listener = await startCallbackListener({ onCallback: () => {} });
  const port = Number(new URL(listener.url).port);
  // A socket that connects and sends nothing, as a browser's preconnect does.
  const idle = connect(port, '127.0.0.1');
  await once(idle, 'connect');
  expect(handles()).toBeGreaterThan(before);
  await Promise.all([listener.close(), listener.close(), once(idle, 'close')]);
  await setImmediate();
  // Sockets of earlier tests may still be closing: the count may fall below the baseline, never rise.
  expect(handles()).toBeLessThanOrEqual(before);
  await expect(once(connect(port, '127.0.0.1'), 'connect')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});
