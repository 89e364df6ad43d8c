import { randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK_HOST, MAX_BODY_BYTES, pagePolicy } from '../local-server.js';

/** The largest callback body read; the upstream form (a few ids, names, an avatar URL, `accounts` JSON) is far smaller. */
export const MAX_CALLBACK_BODY_BYTES = MAX_BODY_BYTES;

/** `url`: `http://127.0.0.1:PORT/TOKEN`, to pass as `callbackUrl`; `close()` also destroys open sockets. */
export interface CallbackListener {
  readonly url: string;
  close(): Promise<void>;
}

// The page the person's browser lands on. It loads nothing and runs nothing.
const DONE_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>aitoearn-auth</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1 style="font-size:1.3rem">You can close this window</h1>
<p>The command that asked for this authorization is checking its result now. 可以关闭此窗口。</p></body></html>
`;

const HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': pagePolicy("'none'"),
} as const;

/**
 * Listens on 127.0.0.1, a free port, for one unguessable path. A POST there calls `onCallback` (once its
 * "You can close this window" page is sent, so the caller may close at once); every other path is 404 and
 * every other method on the path is 405. The POST comes cross-site from the authorization page, so neither
 * `Origin` nor a CSRF token can be checked: the 192-bit path is the only thing that keeps other pages from
 * it, and since a local process could still learn it, the caller treats a callback as a reason to check
 * now, never as an outcome. `randomBytes` is replaced only by tests.
 */
export async function startCallbackListener(options: {
  readonly onCallback: () => void;
  readonly randomBytes?: (size: number) => Buffer;
}): Promise<CallbackListener> {
  const token = (options.randomBytes ?? randomBytes)(24).toString('base64url');
  const expected = Buffer.from(`/${token}`);
  // Loaded here, not on import: importing the package must not load node:http (only connecting does).
  const { createServer } = await import('node:http');
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 1000 });
  server.maxHeadersCount = 64;
  server.on('request', (request, response) => {
    const path = Buffer.from((request.url ?? '').split('?', 1)[0] ?? '');
    if (path.length !== expected.length || !timingSafeEqual(path, expected)) {
      return reply(response, 404, 'Not found.');
    }
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      return reply(response, 405, 'Method not allowed.');
    }
    if (Number(request.headers['content-length'] ?? 0) > MAX_CALLBACK_BODY_BYTES) return tooLarge(response);
    // The body is read only to know the whole request arrived; its fields prove nothing and are not parsed.
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CALLBACK_BODY_BYTES && !response.headersSent) tooLarge(response);
    });
    request.on('end', () => {
      if (response.headersSent) return;
      response.once('finish', options.onCallback);
      response.writeHead(200, { ...HEADERS, 'Content-Type': 'text/html; charset=utf-8' }).end(DONE_PAGE);
    });
    request.on('error', () => {});
  });

  server.listen({ host: LOOPBACK_HOST, port: 0, exclusive: true });
  await once(server, 'listening');
  // An error after start-up (EMFILE on accept, say) must not crash the caller's process: the callback
  // is only a hint, and polling finishes the job without it.
  server.on('error', () => {});
  let closed: Promise<void> | undefined;
  return Object.freeze({
    url: `http://${LOOPBACK_HOST}:${(server.address() as AddressInfo).port}/${token}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  });
}

function reply(response: ServerResponse, status: number, text: string, headers = {}): void {
  response.writeHead(status, { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  response.end(`${text}\n`);
}

// Unread body bytes of a refused request are not worth reading: drop the connection once answered.
function tooLarge(response: ServerResponse): void {
  reply(response, 413, 'Body too large.', { Connection: 'close' });
  response.once('finish', () => response.req.socket.destroy());
}
