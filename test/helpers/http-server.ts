/** A scripted, real `node:http` server on 127.0.0.1 (port 0): statuses, resets and hangs as in production. */
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RecordedRequest = Readonly<{ method: string; url: string; headers: IncomingMessage['headers'] }>;

/** Answers request number `index` (from 0). It may never answer (a hang) or destroy `req.socket` (a reset);
 * a throw or rejection answers HTTP 500, or destroys the socket if headers were sent. */
export type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => unknown;

export interface TestServer {
  readonly url: string;
  /** Every request so far, recorded before the handler runs (live). */ readonly requests: RecordedRequest[];
  /** Ends every open socket, hanging and keep-alive ones included. */ close(): Promise<void>;
}

export async function startServer(handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const index = requests.length;
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    Promise.resolve()
      .then(() => handler(req, res, index))
      .catch(() => (res.headersSent ? res.destroy() : res.writeHead(500).end()));
  });
  await once(server.listen(0, host), 'listening');
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    requests,
    close() {
      closing ??= new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
      server.closeAllConnections();
      return closing;
    },
  };
}

/** `body` as JSON, with HTTP `status` (default 200). */
export function json(res: ServerResponse, body: unknown, init: { status?: number; headers?: object } = {}) {
  const text = JSON.stringify(body);
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  };
  res.writeHead(init.status ?? 200, { ...headers, ...init.headers }).end(text);
}

/** The API's success envelope around a session. */
export function statusBody(session: unknown, extra: Readonly<Record<string, unknown>> = {}) {
  return { code: 0, message: 'success', data: session, ...extra };
}

/** The API's error envelope, which the real API sends with HTTP 200. */
export function errorBody(code: number, message = `error ${code}`, requestId = `req-${code}`) {
  return { code, message, data: {}, timestamp: Date.now(), requestId };
}

/** A request on a fresh socket with headers `fetch` would not send as given (`Host`). */
export async function rawRequest(url: string, headers: NodeJS.Dict<string>, method = 'GET', body?: string) {
  const req = request(url, { method, headers, agent: false }).end(body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  return { status: res.statusCode ?? 0, text: (await res.setEncoding('utf8').toArray()).join('') };
}
