import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { LOOPBACK_HOST, MAX_BODY_BYTES, pagePolicy } from '../local-server.js';

/** The largest callback body read; the upstream form (a few ids, names, an avatar URL, `accounts` JSON) is far smaller. */
export const MAX_CALLBACK_BODY_BYTES = MAX_BODY_BYTES;
/** A connection that sends nothing useful for this long is dropped. */
const REQUEST_TIMEOUT_MS = 10_000;

/** A running loopback listener for the browser's callback POST. */
export interface CallbackListener {
  /** `http://127.0.0.1:PORT/TOKEN`: the one URL it answers, to pass as `callbackUrl`. */
  readonly url: string;
  /** Stops listening and destroys every open socket; resolves when the server has closed. Idempotent. */
  close(): Promise<void>;
}

export interface CallbackListenerOptions {
  /** Called for each POST to the token path, within the cap, once its page is sent. A hint, nothing more. */
  readonly onCallback: () => void;
  /** Bytes for the token. @default crypto.randomBytes */
  readonly randomBytes?: (size: number) => Buffer;
}

// The page the person's browser lands on. It loads nothing and runs nothing.
const DONE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>aitoearn-auth</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1 style="font-size:1.3rem">You can close this window</h1>
<p>The command that asked for this authorization is checking its result now. 可以关闭此窗口。</p>
</body></html>
`;

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': pagePolicy("'none'"),
} as const;

/**
 * Listens on 127.0.0.1, a free port, for one unguessable path. A POST there calls `onCallback` and gets a
 * "You can close this window" page; every other path is 404 and every other method on the path is 405.
 * The POST comes cross-site from the authorization page, so neither `Origin` nor a CSRF token can be
 * checked: the 192-bit path is the only thing that keeps other pages from it, and since a local process
 * could still learn it, the caller treats a callback as a reason to check now, never as an outcome.
 */
export async function startCallbackListener(options: CallbackListenerOptions): Promise<CallbackListener> {
  const token = (options.randomBytes ?? randomBytes)(24).toString('base64url');
  const expected = Buffer.from(`/${token}`);

  // Loaded here, not on import: importing the package must not load node:http (only connecting does).
  const { createServer } = await import('node:http');
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS });
  server.keepAliveTimeout = 1000;
  server.maxHeadersCount = 64;
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const path = Buffer.from((request.url ?? '').split('?', 1)[0] ?? '');
    if (path.length !== expected.length || !timingSafeEqual(path, expected)) {
      return reply(response, 404, 'Not found.');
    }
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      return reply(response, 405, 'Method not allowed.');
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > MAX_CALLBACK_BODY_BYTES) return reply(response, 413, 'Body too large.', true);
    // The body is read only to know the whole request arrived; its fields prove nothing and are not parsed.
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CALLBACK_BODY_BYTES && !response.headersSent)
        reply(response, 413, 'Body too large.', true);
    });
    request.on('end', () => {
      if (response.headersSent) return;
      // Reported once the page is sent, so that a caller may close the listener at once.
      response.once('finish', options.onCallback);
      response.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8' });
      response.end(DONE_PAGE);
    });
    request.on('error', () => {});
  });
  server.on('clientError', (_error, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK_HOST, port: 0, exclusive: true }, () => {
      server.off('error', reject);
      // An error after start-up (EMFILE on accept, say) must not crash the caller's process: the callback
      // is only a hint, and polling finishes the job without it.
      server.on('error', () => {});
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  let closed: Promise<void> | undefined;
  return Object.freeze({
    url: `http://${LOOPBACK_HOST}:${port}/${token}`,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  });
}

function reply(response: ServerResponse, status: number, text: string, closeAfter = false): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    ...(closeAfter ? { Connection: 'close' } : {}),
  });
  response.end(`${text}\n`);
  // Unread body bytes of a refused request are not worth reading: drop the connection once answered.
  if (closeAfter) response.once('finish', () => response.req.socket.destroy());
}
