/**
 * A scripted, real `node:http` server on 127.0.0.1 (port 0) for tests that need the client to meet an
 * actual socket: status codes, headers, broken bodies, resets and hangs behave exactly as they would in
 * production, with no module mocks.
 *
 * @example
 * const server = await startServer((req, res, index) => {
 *   if (index === 0) return json(res, errorBody(429), { headers: { 'Retry-After': '1' } });
 *   json(res, statusBody(session));
 * });
 * try {
 *   // …call the client with baseUrl: server.url…
 *   expect(server.requests).toHaveLength(2);
 * } finally {
 *   await server.close();
 * }
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server saw of one request (the body is not recorded: the status call is a GET). */
export interface RecordedRequest {
  readonly method: string;
  /** The request target as sent, path and query, e.g. `/api/v2/…/status/abc`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/**
 * Answers one request. `index` counts requests from 0, so a script can vary its answer per attempt.
 * A handler may also never answer (a hanging server), or destroy `req.socket` (a reset). Its return value
 * is ignored, except that a rejected promise (like a throw) answers HTTP 500 or destroys the socket.
 */
export type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => unknown;

export interface TestServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  /** Every request received so far, in arrival order (the array is live). */
  readonly requests: RecordedRequest[];
  /** Ends every open socket (including hanging requests and keep-alive ones) and resolves once closed. */
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 with an ephemeral port; every request is recorded before `handler` runs. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const index = requests.length;
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    // A handler that throws must not crash the test process; answer 500 if nothing was sent yet.
    Promise.resolve()
      .then(() => handler(req, res, index))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

export interface JsonOptions {
  /** @default 200 */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Sends `body` as JSON with a correct `Content-Length`. */
export function json(res: ServerResponse, body: unknown, options: JsonOptions = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(options.status ?? 200, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...options.headers,
  });
  res.end(text);
}

/** The API's success envelope around a session: `{code: 0, message, data}` (plus any `extra` fields). */
export function statusBody(session: unknown, extra: Readonly<Record<string, unknown>> = {}) {
  return { code: 0, message: 'success', data: session, ...extra };
}

/**
 * The API's error envelope for a business `code`, always sent with HTTP 200 by the real API:
 * `{code, message, data: {}, timestamp, requestId}`.
 */
export function errorBody(code: number, message = `error ${code}`, requestId = `req-${code}`) {
  return { code, message, data: {}, timestamp: Date.now(), requestId };
}

/**
 * A request over `node:http` on a fresh socket, with headers that `fetch` would not send as given (`Host`);
 * the answer's status and text.
 */
export function rawRequest(
  url: string,
  method: string,
  path: string,
  headers: Readonly<Record<string, string>>,
  body?: string,
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
