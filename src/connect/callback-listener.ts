import { randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK_HOST, pagePolicy, readBody } from '../local-server.js';

// The page the person's browser lands on. It loads nothing and runs nothing.
const DONE_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>aitoearn-auth</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1 style="font-size:1.3rem">You can close this window</h1>
<p>The command that asked for this authorization is checking its result now. 可以关闭此窗口。</p></body></html>\n`;

const HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': pagePolicy("'none'"),
};

/**
 * Listens on 127.0.0.1, a free port, for one unguessable path: a POST there gets the "You can close this
 * window" page, then calls `onCallback`; other paths are 404, other methods 405. The POST comes cross-site,
 * so neither `Origin` nor a CSRF token can be checked: only the 192-bit path keeps other pages out, and as
 * a local process could still learn it, a callback is a reason to check now, never an outcome. Resolves to
 * the `url` to pass as `callbackUrl` and a `close()` that also destroys open sockets. `randomBytes`: tests.
 */
export async function startCallbackListener(options: {
  readonly onCallback: () => void;
  readonly randomBytes?: (size: number) => Buffer;
}) {
  const token = (options.randomBytes ?? randomBytes)(24).toString('base64url');
  const expected = Buffer.from(`/${token}`);
  // Loaded here, not on import: importing the package must not load node:http (only connecting does).
  const { createServer } = await import('node:http');
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 1000 });
  server.maxHeadersCount = 64;
  server.on('request', async (request, response) => {
    const path = Buffer.from((request.url ?? '').split('?', 1)[0] ?? '');
    if (path.length !== expected.length || !timingSafeEqual(path, expected)) return reply(response, 404);
    if (request.method !== 'POST') return reply(response, 405, { Allow: 'POST' });
    // The body is read only to know the whole request arrived; its fields prove nothing and are not parsed.
    if ((await readBody(request).catch(() => undefined)) === undefined) return reply(response, 413);
    response.once('finish', options.onCallback);
    response.writeHead(200, { ...HEADERS, 'Content-Type': 'text/html; charset=utf-8' }).end(DONE_PAGE);
  });

  await once(server.listen({ host: LOOPBACK_HOST, port: 0, exclusive: true }), 'listening');
  // An error after start-up (EMFILE on accept, say) must not crash the caller: polling finishes without it.
  server.on('error', () => {});
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  return Object.freeze({
    url: `http://${LOOPBACK_HOST}:${(server.address() as AddressInfo).port}/${token}`,
    close: () => {
      server.close();
      server.closeAllConnections();
      return closed;
    },
  });
}

const STATUS_TEXT = { 404: 'Not found.', 405: 'Method not allowed.', 413: 'Body too large.' };

function reply(response: ServerResponse, status: keyof typeof STATUS_TEXT, headers = {}): void {
  response.writeHead(status, { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  response.end(`${STATUS_TEXT[status]}\n`);
}
