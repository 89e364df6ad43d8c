import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CallbackListener,
  MAX_CALLBACK_BODY_BYTES,
  startCallbackListener,
} from '../src/connect/callback-listener.js';
import { liveResources } from './helpers/leaks.js';
import { emfile, liveServerAt } from './helpers/live-server.js';

const FORM = 'relayAccountRef=r1&nickname=n&avatar=&platformUid=u1&account=a&platform=douyin&accounts=%5B%5D';
const open: CallbackListener[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

async function listen(onCallback = () => {}) {
  const listener = await startCallbackListener({ onCallback });
  open.push(listener);
  return listener;
}

/** Sends one request with a body, as a form submission would; answers status, headers and text. */
function send(url: string, method: string, body?: string | Buffer, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>(
    (resolve, reject) => {
      const req = httpRequest(url, { method, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('error', reject);
      req.end(body);
    },
  );
}

const form = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('the connect callback listener', () => {
  it('listens on 127.0.0.1 at a 32-character random path, different for every listener', async () => {
    const a = await listen();
    const b = await listen();
    const pattern = /^http:\/\/127\.0\.0\.1:(\d+)\/([A-Za-z0-9_-]{32})$/;
    expect(a.url).toMatch(pattern);
    expect(b.url).toMatch(pattern);
    expect(pattern.exec(a.url)?.[2]).not.toBe(pattern.exec(b.url)?.[2]);
    expect(Number(pattern.exec(a.url)?.[1])).toBeGreaterThan(0);
  });

  it('takes the path from the random bytes it is given', async () => {
    const listener = await startCallbackListener({
      onCallback: () => {},
      randomBytes: (size) => Buffer.alloc(size, 0xff),
    });
    open.push(listener);
    expect(listener.url.endsWith(`/${'_'.repeat(32)}`)).toBe(true);
  });

  it('answers the form POST on its path with a small CSP page and reports one callback', async () => {
    let callbacks = 0;
    const listener = await listen(() => {
      callbacks += 1;
    });
    const answer = await send(listener.url, 'POST', FORM, form);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.headers['content-security-policy']).toContain("default-src 'none'");
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.text).toContain('You can close this window');
    expect(answer.text).not.toContain('<script');
    expect(callbacks).toBe(1);
  });

  it("survives an 'error' on its server after start-up (EMFILE on accept) and keeps answering", async () => {
    let callbacks = 0;
    const listener = await listen(() => {
      callbacks += 1;
    });
    const server = liveServerAt(listener.url);
    // With no 'error' listener, emit throws: in a real server, that crashes the caller's process.
    expect(() => server.emit('error', emfile())).not.toThrow();
    expect((await send(listener.url, 'POST', FORM, form)).status).toBe(200);
    expect(callbacks).toBe(1);
  });

  it('reports every POST, so a repeated or forged one is one more hint (the waiter floors the rate)', async () => {
    let callbacks = 0;
    const listener = await listen(() => {
      callbacks += 1;
    });
    await send(listener.url, 'POST', 'anything at all');
    await send(listener.url, 'POST', '');
    expect(callbacks).toBe(2);
  });

  it.each([
    ['another path', (url: string) => `${new URL(url).origin}/callback`],
    ['the root', (url: string) => `${new URL(url).origin}/`],
    ['the token with one character less', (url: string) => url.slice(0, -1)],
    ['the token with a suffix', (url: string) => `${url}x`],
    ['the token below a prefix', (url: string) => `${new URL(url).origin}/x${new URL(url).pathname}`],
    ['the token in a query', (url: string) => `${new URL(url).origin}/?t=${new URL(url).pathname.slice(1)}`],
  ])('refuses %s with 404 and reports nothing', async (_name, target) => {
    let callbacks = 0;
    const listener = await listen(() => {
      callbacks += 1;
    });
    const answer = await send(target(listener.url), 'POST', FORM, form);
    expect(answer.status).toBe(404);
    expect(callbacks).toBe(0);
  });

  it.each(['GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])(
    'refuses %s on its path with 405 (Allow: POST) and reports nothing',
    async (method) => {
      let callbacks = 0;
      const listener = await listen(() => {
        callbacks += 1;
      });
      const answer = await send(listener.url, method);
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('POST');
      expect(callbacks).toBe(0);
    },
  );

  it('refuses a body over the cap with 413, declared or streamed, and reports nothing', async () => {
    let callbacks = 0;
    const listener = await listen(() => {
      callbacks += 1;
    });
    const big = Buffer.alloc(MAX_CALLBACK_BODY_BYTES + 1, 'a');
    expect((await send(listener.url, 'POST', big)).status).toBe(413);
    // Chunked: no Content-Length, the cap is counted as the bytes arrive.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(listener.url, { method: 'POST', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 3; i += 1) req.write(Buffer.alloc(MAX_CALLBACK_BODY_BYTES / 2, 'b'));
      req.end();
    });
    expect(streamed).toBe(413);
    expect(callbacks).toBe(0);
    // A body at the cap is still a callback.
    expect((await send(listener.url, 'POST', Buffer.alloc(MAX_CALLBACK_BODY_BYTES, 'a'))).status).toBe(200);
    expect(callbacks).toBe(1);
  });

  it('close() stops listening and destroys idle keep-alive sockets, leaving no handle behind', async () => {
    const handles = () => liveResources('TCPServerWrap', 'TCPSocketWrap');
    const before = handles();
    const listener = await startCallbackListener({ onCallback: () => {} });
    const { port } = new URL(listener.url);
    // A socket that connects and sends nothing, as a browser's preconnect does.
    const idle = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => idle.once('connect', resolve));
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));
    expect(handles()).toBeGreaterThan(before);

    await listener.close();
    await listener.close();
    await idleClosed;
    await new Promise((resolve) => setImmediate(resolve));
    // Sockets of earlier tests may still be closing: the count may fall below the baseline, never rise.
    expect(handles()).toBeLessThanOrEqual(before);
    const refused = await new Promise<string>((resolve) => {
      const probe = connect(Number(port), '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve('connected');
      });
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
