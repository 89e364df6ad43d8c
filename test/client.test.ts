import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { afterEach, beforeAll, describe, expect, it, test } from 'vitest';
import {
  AitoearnApiError,
  type AitoearnApiErrorKind,
  type AitoearnClient,
  type AitoearnClientOptions,
  AitoearnInputError,
  AitoearnTransportError,
  type AuthSession,
  createAitoearnClient,
  type GetAuthStatusParams,
  getAuthStatus,
  isTransient,
  type StartAuthParams,
  startAuth,
  type TransportFailure,
  waitForAuth,
} from '../src/index.js';
import { errorBody, json, startServer, statusBody, type TestServer } from './helpers/http-server.js';

/** The key every client in this file uses; the leak test at the end searches for its distinctive part. */
const CANARY = 'CANARY-9f3c-SECRET';
const NEEDLE = '9f3c';
const STATUS_PATH = '/api/v2/channels/accounts/auth/douyin/status/sess-1';

const SESSION: AuthSession = {
  sessionId: 'sess-1',
  status: 'pending',
  requiresSelection: false,
  expiresAt: '2030-01-01T00:00:00.000Z',
};

/** Every error any test in this file produced, and every client it built, for the key-leak test. */
const seenErrors: unknown[] = [];
const seenClients: AitoearnClient[] = [];

const openServers: TestServer[] = [];
async function serve(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const server = await startServer(handler);
  openServers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(openServers.splice(0).map((server) => server.close()));
});

function client(options: Partial<AitoearnClientOptions> & { baseUrl: string }): AitoearnClient {
  const created = createAitoearnClient({ apiKey: CANARY, ...options });
  seenClients.push(created);
  return created;
}

/** Runs `work` and returns what it threw (recording it), or fails the test if it did not throw. */
async function caught(work: () => unknown): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    seenErrors.push(error);
    return error;
  }
  throw new Error('expected a rejection, got a result');
}

const TRACKED_RESOURCES = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'] as const;
function countResources(): Record<(typeof TRACKED_RESOURCES)[number], number> {
  const active = process.getActiveResourcesInfo();
  return {
    TCPSocketWrap: active.filter((r) => r === 'TCPSocketWrap').length,
    TCPServerWrap: active.filter((r) => r === 'TCPServerWrap').length,
    Timeout: active.filter((r) => r === 'Timeout').length,
  };
}
let resourcesAtStart: ReturnType<typeof countResources>;
beforeAll(() => {
  resourcesAtStart = countResources();
});

describe('getAuthStatus against a real server', () => {
  it('returns the session, the body requestId and the server Date, sending the key and language', async () => {
    const server = await serve((_req, res) =>
      json(res, statusBody(SESSION, { requestId: 'req-body' }), {
        headers: { 'x-request-id': 'req-header', Date: 'Wed, 21 Oct 2015 07:28:00 GMT' },
      }),
    );
    const result = await getAuthStatus(client({ baseUrl: server.url, acceptLanguage: 'zh-CN' }), {
      platform: 'douyin',
      sessionId: 'sess-1',
    });
    expect(result).toEqual({ session: SESSION, requestId: 'req-body', serverDateMs: 1445412480000 });
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.method).toBe('GET');
    expect(request?.url).toBe(STATUS_PATH);
    expect(request?.headers['x-api-key']).toBe(CANARY);
    expect(request?.headers['accept-language']).toBe('zh-CN');
  });

  it('removes the key from every string the server echoes back, session fields included', async () => {
    const server = await serve((_req, res) =>
      json(res, statusBody({ ...SESSION, sessionId: `echo ${CANARY}` }, { requestId: `id-${CANARY}` })),
    );
    const result = await getAuthStatus(client({ baseUrl: server.url }), {
      platform: 'douyin',
      sessionId: 'sess-1',
    });
    expect(result.session.sessionId).toBe('echo [redacted]');
    expect(result.requestId).toBe('id-[redacted]');
    expect(JSON.stringify(result)).not.toContain(NEEDLE);
  });

  it('takes the requestId from the x-request-id header when the body has none', async () => {
    const server = await serve((_req, res) =>
      json(res, statusBody(SESSION), { headers: { 'x-request-id': 'req-header' } }),
    );
    const result = await getAuthStatus(client({ baseUrl: server.url }), {
      platform: 'douyin',
      sessionId: 'sess-1',
    });
    expect(result.requestId).toBe('req-header');
    expect(result.session).toEqual(SESSION);
  });

  it("leaves Accept-Language to fetch's default when acceptLanguage is not set", async () => {
    const server = await serve((_req, res) => json(res, statusBody(SESSION)));
    await getAuthStatus(client({ baseUrl: `${server.url}/` }), { platform: 'douyin', sessionId: 'sess-1' });
    // undici's fetch adds `accept-language: *` to every request that sets none.
    expect(server.requests[0]?.headers['accept-language']).toBe('*');
    expect(server.requests[0]?.url).toBe(STATUS_PATH);
  });
});

interface InputRow {
  readonly name: string;
  readonly options?: Record<string, unknown>;
  readonly params?: Record<string, unknown>;
  readonly field: string;
  /** A rendering of the value the message must contain. */
  readonly shows?: string;
  /** A secret the message must never contain. */
  readonly secret?: string;
}

const LONG_ID = 'x'.repeat(300);
const inputRows: InputRow[] = [
  { name: 'an empty platform', params: { platform: '' }, field: 'platform', shows: 'got ""' },
  { name: 'a platform of "."', params: { platform: '.' }, field: 'platform', shows: '"."' },
  { name: 'a platform of ".."', params: { platform: '..' }, field: 'platform', shows: '".."' },
  { name: 'a platform with "/"', params: { platform: 'a/b' }, field: 'platform', shows: '"a/b"' },
  { name: 'a non-string platform', params: { platform: 42 }, field: 'platform', shows: 'got 42' },
  { name: 'an empty sessionId', params: { sessionId: '' }, field: 'sessionId', shows: 'got ""' },
  { name: 'a sessionId of "."', params: { sessionId: '.' }, field: 'sessionId', shows: '"."' },
  { name: 'a sessionId of ".."', params: { sessionId: '..' }, field: 'sessionId', shows: '".."' },
  { name: 'a sessionId with "/"', params: { sessionId: 'a/b' }, field: 'sessionId', shows: '"a/b"' },
  { name: 'a sessionId with "?"', params: { sessionId: 'a?b' }, field: 'sessionId', shows: '"a?b"' },
  { name: 'a sessionId with "#"', params: { sessionId: 'a#b' }, field: 'sessionId', shows: '"a#b"' },
  {
    name: 'a percent-encoded dot segment',
    params: { sessionId: '%2e%2e' },
    field: 'sessionId',
    shows: '"%2e%2e"',
  },
  { name: 'a sessionId with a space', params: { sessionId: 'a b' }, field: 'sessionId', shows: '"a b"' },
  { name: 'a sessionId with a tab', params: { sessionId: 'a\tb' }, field: 'sessionId', shows: '"a\\tb"' },
  {
    name: 'a sessionId with a NUL',
    params: { sessionId: 'a\u0000b' },
    field: 'sessionId',
    shows: '"a\\u0000b"',
  },
  {
    name: 'a sessionId with a zero-width space',
    params: { sessionId: 'a\u200bb' },
    field: 'sessionId',
    shows: '"a\\u200bb"',
  },
  {
    name: 'a sessionId with a bidi override',
    params: { sessionId: 'a\u202eb' },
    field: 'sessionId',
    shows: '"a\\u202eb"',
  },
  {
    name: 'a 300-character sessionId',
    params: { sessionId: LONG_ID },
    field: 'sessionId',
    shows: `"${'x'.repeat(60)}…" (300 characters)`,
  },
  {
    name: 'a sessionId with a backslash',
    params: { sessionId: 'a\\b' },
    field: 'sessionId',
    shows: '"a\\\\b"',
  },
  { name: 'a non-string sessionId', params: { sessionId: 7 }, field: 'sessionId', shows: 'got 7' },
  {
    name: 'a missing sessionId',
    params: { sessionId: undefined },
    field: 'sessionId',
    shows: 'got undefined',
  },
  { name: 'a signal that is not an AbortSignal', params: { signal: {} }, field: 'signal' },
  { name: 'an empty apiKey', options: { apiKey: '' }, field: 'apiKey', shows: 'got ""' },
  {
    name: 'an apiKey with a space',
    options: { apiKey: 'CANARY-9f3c SECRET' },
    field: 'apiKey',
    secret: 'CANARY-9f3c SECRET',
  },
  {
    name: 'a sessionId with a lone UTF-16 surrogate',
    params: { sessionId: 'ab\uD800' },
    field: 'sessionId',
  },
  {
    name: 'an apiKey with a non-ASCII character',
    options: { apiKey: 'CANARY-9f3céSECRET' },
    field: 'apiKey',
    secret: 'CANARY-9f3c',
  },
  {
    name: 'an apiKey with a newline',
    options: { apiKey: 'CANARY-9f3c\nSECRET' },
    field: 'apiKey',
    secret: 'CANARY-9f3c',
  },
  { name: 'a numeric apiKey', options: { apiKey: 739_190_731 }, field: 'apiKey', secret: '739190731' },
  { name: 'a missing apiKey', options: { apiKey: undefined }, field: 'apiKey', shows: 'got undefined' },
  {
    name: 'a baseUrl that is not a URL',
    options: { baseUrl: 'not a url' },
    field: 'baseUrl',
    shows: '"not a url"',
  },
  {
    name: 'a plain-http baseUrl to a remote host',
    options: { baseUrl: 'http://example.com' },
    field: 'baseUrl',
    shows: '"http://example.com"',
  },
  {
    name: 'an https baseUrl with credentials',
    options: { baseUrl: 'https://user:pw-9f3c@example.com' },
    field: 'baseUrl',
    secret: 'pw-9f3c',
  },
  {
    name: 'a plain-http baseUrl with credentials',
    options: { baseUrl: 'http://user:pw-9f3c@example.com' },
    field: 'baseUrl',
    secret: 'pw-9f3c',
  },
  {
    name: 'an ftp baseUrl with credentials',
    options: { baseUrl: 'ftp://user:pw-9f3c@example.com' },
    field: 'baseUrl',
    secret: 'pw-9f3c',
  },
  {
    name: 'a baseUrl with a query',
    options: { baseUrl: 'https://example.com/?q=1' },
    field: 'baseUrl',
    shows: '"https://example.com/?q=1"',
  },
  {
    name: 'a baseUrl with a fragment',
    options: { baseUrl: 'https://example.com/#frag' },
    field: 'baseUrl',
    shows: '"https://example.com/#frag"',
  },
  { name: 'an ftp baseUrl', options: { baseUrl: 'ftp://x' }, field: 'baseUrl', shows: '"ftp://x"' },
  { name: 'a non-string baseUrl', options: { baseUrl: 8080 }, field: 'baseUrl', shows: 'got 8080' },
  { name: 'an unknown site', options: { site: 'xx', baseUrl: undefined }, field: 'site', shows: '"xx"' },
  {
    name: 'a zero requestTimeoutMs',
    options: { requestTimeoutMs: 0 },
    field: 'requestTimeoutMs',
    shows: 'got 0',
  },
  {
    name: 'a negative requestTimeoutMs',
    options: { requestTimeoutMs: -5 },
    field: 'requestTimeoutMs',
    shows: 'got -5',
  },
  {
    name: 'a NaN requestTimeoutMs',
    options: { requestTimeoutMs: Number.NaN },
    field: 'requestTimeoutMs',
    shows: 'got NaN',
  },
  {
    name: 'an infinite requestTimeoutMs',
    options: { requestTimeoutMs: Number.POSITIVE_INFINITY },
    field: 'requestTimeoutMs',
    shows: 'got Infinity',
  },
  {
    name: 'a string requestTimeoutMs',
    options: { requestTimeoutMs: '1000' },
    field: 'requestTimeoutMs',
    shows: 'got "1000"',
  },
  {
    name: 'an acceptLanguage with CRLF',
    options: { acceptLanguage: 'en-US\r\nX-Evil: 1' },
    field: 'acceptLanguage',
    shows: '"en-US\\r\\nX-Evil: 1"',
  },
  { name: 'a fetch that is not a function', options: { fetch: 'fetch' }, field: 'fetch', shows: '"fetch"' },
];

describe('bad input is refused before any request', () => {
  test.each(inputRows)('refuses $name', async (row) => {
    const server = await serve((_req, res) => json(res, statusBody(SESSION)));
    // Should validation regress, a remote baseUrl must still not reach the network: the injected fetch
    // records every attempt and only forwards to the local server.
    const attempted: string[] = [];
    const guard = (request: Request): Promise<Response> => {
      attempted.push(request.url);
      return request.url.startsWith(server.url) ? fetch(request) : Promise.reject(new Error('blocked'));
    };
    const error = await caught(async () => {
      const options = { apiKey: CANARY, baseUrl: server.url, fetch: guard, ...row.options };
      const created = createAitoearnClient(options as AitoearnClientOptions);
      const params = { platform: 'douyin', sessionId: 'sess-1', ...row.params };
      return getAuthStatus(created, params as GetAuthStatusParams);
    });
    expect(error).toBeInstanceOf(AitoearnInputError);
    const inputError = error as AitoearnInputError;
    expect(inputError.field).toBe(row.field);
    expect(inputError.message).toContain(`"${row.field}"`);
    if (row.shows !== undefined) expect(inputError.message).toContain(row.shows);
    if (row.secret !== undefined) expect(inputError.message).not.toContain(row.secret);
    expect(attempted).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it('accepts http to loopback hosts and https, trimming a trailing slash', async () => {
    const server = await serve((_req, res) => json(res, statusBody(SESSION)));
    const port = new URL(server.url).port;
    expect(client({ baseUrl: `http://127.0.0.1:${port}` }).baseUrl).toBe(`http://127.0.0.1:${port}`);
    expect(client({ baseUrl: `http://localhost:${port}/` }).baseUrl).toBe(`http://localhost:${port}`);
    expect(client({ baseUrl: `http://[::1]:${port}` }).baseUrl).toBe(`http://[::1]:${port}`);
    expect(client({ baseUrl: 'https://example.com/' }).baseUrl).toBe('https://example.com');
    expect(client({ baseUrl: 'https://example.com/prefix/' }).baseUrl).toBe('https://example.com/prefix');
    expect(createAitoearnClient({ apiKey: CANARY, baseUrl: new URL(server.url) }).baseUrl).toBe(server.url);
    expect(server.requests).toHaveLength(0);
  });

  it('maps site "cn" and "ai" to the public origins, "ai" by default, without sending anything', () => {
    expect(createAitoearnClient({ apiKey: CANARY, site: 'cn' }).baseUrl).toBe('https://aitoearn.cn');
    expect(createAitoearnClient({ apiKey: CANARY, site: 'ai' }).baseUrl).toBe('https://aitoearn.ai');
    expect(createAitoearnClient({ apiKey: CANARY }).baseUrl).toBe('https://aitoearn.ai');
    expect(createAitoearnClient({ apiKey: CANARY, site: 'cn', baseUrl: 'https://x.test' }).baseUrl).toBe(
      'https://x.test',
    );
  });
});

type Respond = (req: IncomingMessage, res: ServerResponse) => void;
type Outcome =
  | { readonly ok: true }
  | { readonly api: number; readonly kind: AitoearnApiErrorKind }
  | { readonly transport: TransportFailure; readonly httpStatus?: number };

interface ClassificationRow {
  readonly name: string;
  readonly respond: Respond;
  readonly outcome: Outcome;
  readonly transient: boolean;
  readonly requestTimeoutMs?: number;
}

const business =
  (code: number): Respond =>
  (_req, res) =>
    json(res, errorBody(code));
const httpStatus =
  (status: number, html = false): Respond =>
  (_req, res) =>
    html
      ? res.writeHead(status, { 'Content-Type': 'text/html' }).end('<html><body>gateway</body></html>')
      : json(res, errorBody(status), { status });
const redirect =
  (status: number): Respond =>
  (_req, res) =>
    res.writeHead(status, { Location: 'https://elsewhere.example/steal' }).end();

const classificationRows: ClassificationRow[] = [
  {
    name: 'business code 0 with a session',
    respond: (_q, res) => json(res, statusBody(SESSION)),
    outcome: { ok: true },
    transient: false,
  },
  {
    name: 'business 401',
    respond: business(401),
    outcome: { api: 401, kind: 'unauthorized' },
    transient: false,
  },
  {
    name: 'business 10002',
    respond: business(10002),
    outcome: { api: 10002, kind: 'validation' },
    transient: false,
  },
  {
    name: 'business 400',
    respond: business(400),
    outcome: { api: 400, kind: 'validation' },
    transient: false,
  },
  {
    name: 'business 15039',
    respond: business(15039),
    outcome: { api: 15039, kind: 'session-invalid' },
    transient: false,
  },
  {
    name: 'business 15040',
    respond: business(15040),
    outcome: { api: 15040, kind: 'platform-mismatch' },
    transient: false,
  },
  {
    name: 'business 429',
    respond: business(429),
    outcome: { api: 429, kind: 'rate-limited' },
    transient: true,
  },
  { name: 'business 500', respond: business(500), outcome: { api: 500, kind: 'internal' }, transient: true },
  {
    name: 'business 99999',
    respond: business(99999),
    outcome: { api: 99999, kind: 'unknown' },
    transient: false,
  },
  {
    name: 'HTTP 301',
    respond: redirect(301),
    outcome: { transport: 'redirect', httpStatus: 301 },
    transient: false,
  },
  {
    name: 'HTTP 302',
    respond: redirect(302),
    outcome: { transport: 'redirect', httpStatus: 302 },
    transient: false,
  },
  {
    name: 'HTTP 307',
    respond: redirect(307),
    outcome: { transport: 'redirect', httpStatus: 307 },
    transient: false,
  },
  {
    name: 'HTTP 401',
    respond: httpStatus(401),
    outcome: { transport: 'http-status', httpStatus: 401 },
    transient: false,
  },
  {
    name: 'HTTP 403',
    respond: httpStatus(403, true),
    outcome: { transport: 'http-status', httpStatus: 403 },
    transient: false,
  },
  {
    name: 'HTTP 404',
    respond: httpStatus(404, true),
    outcome: { transport: 'http-status', httpStatus: 404 },
    transient: false,
  },
  {
    name: 'HTTP 408',
    respond: httpStatus(408),
    outcome: { transport: 'http-status', httpStatus: 408 },
    transient: true,
  },
  {
    name: 'HTTP 429',
    respond: httpStatus(429),
    outcome: { transport: 'http-status', httpStatus: 429 },
    transient: true,
  },
  {
    name: 'HTTP 500',
    respond: httpStatus(500),
    outcome: { transport: 'http-status', httpStatus: 500 },
    transient: true,
  },
  {
    name: 'HTTP 502',
    respond: httpStatus(502, true),
    outcome: { transport: 'http-status', httpStatus: 502 },
    transient: true,
  },
  {
    name: 'HTTP 503',
    respond: httpStatus(503, true),
    outcome: { transport: 'http-status', httpStatus: 503 },
    transient: true,
  },
  {
    name: 'HTTP 504',
    respond: httpStatus(504, true),
    outcome: { transport: 'http-status', httpStatus: 504 },
    transient: true,
  },
  {
    name: 'an HTML body with HTTP 200',
    respond: (_q, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>maintenance</html>'),
    outcome: { transport: 'bad-body' },
    transient: true,
  },
  {
    // undici rejects the body read with TypeError "terminated" (cause: UND_ERR_SOCKET): a network failure.
    name: 'JSON cut short of its Content-Length, then a reset',
    respond: (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '200' });
      res.write('{"code":0,"data":{"sessionId":"se');
      setTimeout(() => res.socket?.destroy(), 20);
    },
    outcome: { transport: 'network' },
    transient: true,
  },
  {
    name: 'chunked JSON cut short by a reset',
    respond: (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"code":0,"data":{"sessionId":"se');
      setTimeout(() => res.socket?.destroy(), 20);
    },
    outcome: { transport: 'network' },
    transient: true,
  },
  {
    name: 'JSON cut short without Content-Length but ended cleanly',
    respond: (_q, res) =>
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"code":0,"data":{'),
    outcome: { transport: 'bad-body' },
    transient: true,
  },
  {
    name: 'an empty body with HTTP 200',
    respond: (_q, res) => res.writeHead(200, { 'Content-Length': '0' }).end(),
    outcome: { transport: 'bad-body' },
    transient: true,
  },
  {
    name: 'code 0 with a shapeless data object',
    respond: (_q, res) => json(res, { code: 0, message: 'ok', data: {} }),
    outcome: { transport: 'bad-body' },
    transient: true,
  },
  {
    name: 'a JSON body without code',
    respond: (_q, res) => json(res, { message: 'ok', data: SESSION }),
    outcome: { transport: 'bad-body' },
    transient: true,
  },
  {
    name: 'a connection reset before any answer',
    respond: (req) => req.socket.destroy(),
    outcome: { transport: 'network' },
    transient: true,
  },
  {
    name: 'a server that never answers, with requestTimeoutMs 200',
    respond: () => {},
    outcome: { transport: 'timeout' },
    transient: true,
    requestTimeoutMs: 200,
  },
];

describe('every answer is classified', () => {
  test.each(classificationRows)('$name', async (row) => {
    const server = await serve((req, res) => row.respond(req, res));
    const created = client({
      baseUrl: server.url,
      ...(row.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: row.requestTimeoutMs }),
    });
    const call = () => getAuthStatus(created, { platform: 'douyin', sessionId: 'sess-1' });
    const { outcome } = row;
    if ('ok' in outcome) {
      expect((await call()).session).toEqual(SESSION);
    } else {
      const error = await caught(call);
      if ('api' in outcome) {
        expect(error).toBeInstanceOf(AitoearnApiError);
        expect(error).toMatchObject({
          code: outcome.api,
          kind: outcome.kind,
          requestId: `req-${outcome.api}`,
        });
      } else {
        expect(error).toBeInstanceOf(AitoearnTransportError);
        expect(error).toMatchObject({ reason: outcome.transport });
        if (outcome.httpStatus !== undefined) {
          expect((error as AitoearnTransportError).httpStatus).toBe(outcome.httpStatus);
        }
      }
      expect((error as Error).message).toContain(`GET ${STATUS_PATH}`);
      expect(isTransient(error)).toBe(row.transient);
    }
    // The client itself never retries: one call, one request.
    expect(server.requests).toHaveLength(1);
  });
});

const START_PATH = '/api/v2/channels/accounts/auth/douyin';
const STARTED = {
  url: 'https://open.douyin.com/platform/oauth/connect?client_key=ck&state=st',
  sessionId: 'V1StGXR8_Z5jdHi6',
  expiresAt: '2030-01-01T00:05:00.000Z',
  authInstructions: { 'en-US': 'Scan with Douyin', 'zh-CN': '请使用抖音扫码' },
};

describe('startAuth against a real server', () => {
  it('sends the platform, the key and the query, and resolves the start with the request id', async () => {
    const server = await serve((_req, res) => json(res, statusBody(STARTED, { requestId: 'req-start' })));
    const started = await startAuth(client({ baseUrl: server.url }), {
      platform: 'douyin',
      callbackUrl: 'http://127.0.0.1:8765/cb/abc?x=1',
      redirectUri: new URL('https://example.com/done'),
      groupId: 'group 1'.replace(' ', '-'),
    });
    expect(started).toEqual({ ...STARTED, requestId: 'req-start' });
    expect(Object.isFrozen(started)).toBe(true);
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    const sent = new URL(request?.url ?? '', server.url);
    expect(request?.method).toBe('GET');
    expect(sent.pathname).toBe(START_PATH);
    expect(Object.fromEntries(sent.searchParams)).toEqual({
      callbackUrl: 'http://127.0.0.1:8765/cb/abc?x=1',
      redirectUri: 'https://example.com/done',
      groupId: 'group-1',
    });
    expect(request?.headers['x-api-key']).toBe(CANARY);
  });

  it('sends no query when only the platform is given, and takes the id from x-request-id', async () => {
    const { authInstructions: _, ...bare } = STARTED;
    const server = await serve((_req, res) =>
      json(res, statusBody(bare), { headers: { 'x-request-id': 'req-header' } }),
    );
    const started = await startAuth(client({ baseUrl: server.url }), { platform: 'douyin' });
    expect(started).toEqual({ ...bare, requestId: 'req-header' });
    expect('authInstructions' in started).toBe(false);
    expect(server.requests[0]?.url).toBe(START_PATH);
  });

  it('accepts the data:image/ QR code some platforms send instead of a page', async () => {
    const qr = { ...STARTED, url: 'data:image/png;base64,iVBORw0KGgo=' };
    const server = await serve((_req, res) => json(res, statusBody(qr)));
    const started = await startAuth(client({ baseUrl: server.url }), { platform: 'douyin' });
    expect(started.url).toBe(qr.url);
  });

  it('keeps only the fields the spec names and removes the key from every one', async () => {
    const echoed = {
      url: `https://example.com/consent?k=${CANARY}`,
      sessionId: `s-${CANARY.toLowerCase()}`,
      expiresAt: STARTED.expiresAt,
      authInstructions: { 'en-US': `use ${CANARY}`, 'zh-CN': `${CANARY}`, extra: CANARY },
      unknown: { deep: CANARY },
    };
    const server = await serve((_req, res) => json(res, statusBody(echoed, { requestId: CANARY })));
    const started = await startAuth(client({ baseUrl: server.url }), { platform: 'douyin' });
    expect(started).toEqual({
      url: 'https://example.com/consent?k=[redacted]',
      sessionId: 's-[redacted]',
      expiresAt: STARTED.expiresAt,
      authInstructions: { 'en-US': 'use [redacted]', 'zh-CN': '[redacted]' },
      requestId: '[redacted]',
    });
  });
});

const startInputRows: InputRow[] = [
  { name: 'an empty platform', params: { platform: '' }, field: 'platform', shows: 'got ""' },
  { name: 'a platform of ".."', params: { platform: '..' }, field: 'platform', shows: '".."' },
  { name: 'a missing platform', params: { platform: undefined }, field: 'platform', shows: 'got undefined' },
  {
    name: 'a callbackUrl that is not a URL',
    params: { callbackUrl: 'cb' },
    field: 'callbackUrl',
    shows: '"cb"',
  },
  {
    name: 'an ftp callbackUrl',
    params: { callbackUrl: 'ftp://example.com/cb' },
    field: 'callbackUrl',
    shows: '"ftp://example.com/cb"',
  },
  {
    name: 'a javascript: callbackUrl',
    params: { callbackUrl: 'javascript:alert(1)' },
    field: 'callbackUrl',
    shows: 'javascript:',
  },
  {
    name: 'a callbackUrl with credentials',
    params: { callbackUrl: 'https://u:pw-9f3c@example.com/cb' },
    field: 'callbackUrl',
    secret: 'pw-9f3c',
  },
  {
    name: 'a 3000-character callbackUrl',
    params: { callbackUrl: `https://example.com/${'a'.repeat(3000)}` },
    field: 'callbackUrl',
    shows: 'longer than 2048',
  },
  { name: 'a numeric callbackUrl', params: { callbackUrl: 8080 }, field: 'callbackUrl', shows: 'got 8080' },
  {
    name: 'a redirectUri to 127.0.0.1',
    params: { redirectUri: 'http://127.0.0.1:8080/done' },
    field: 'redirectUri',
    shows: 'not 127.0.0.1',
  },
  {
    name: 'a redirectUri to localhost',
    params: { redirectUri: 'http://localhost/done' },
    field: 'redirectUri',
    shows: 'not localhost',
  },
  {
    name: 'a redirectUri to [::1]',
    params: { redirectUri: 'http://[::1]:3000/' },
    field: 'redirectUri',
    shows: 'not [::1]',
  },
  {
    name: 'a redirectUri to a private IP address',
    params: { redirectUri: 'https://10.0.0.7/done' },
    field: 'redirectUri',
    shows: 'not 10.0.0.7',
  },
  {
    name: 'a redirectUri to an IP written as a number',
    params: { redirectUri: 'http://2130706433/' },
    field: 'redirectUri',
    shows: 'not 127.0.0.1',
  },
  {
    name: 'a redirectUri to a one-label host',
    params: { redirectUri: 'https://intranet/done' },
    field: 'redirectUri',
    shows: 'not intranet',
  },
  {
    name: 'a data: redirectUri',
    params: { redirectUri: 'data:text/html,hi' },
    field: 'redirectUri',
    shows: 'the scheme data: is not supported',
  },
  { name: 'an empty groupId', params: { groupId: '' }, field: 'groupId', shows: 'got ""' },
  { name: 'a groupId with a newline', params: { groupId: 'g\n1' }, field: 'groupId', shows: '"g\\n1"' },
  { name: 'a numeric groupId', params: { groupId: 12 }, field: 'groupId', shows: 'got 12' },
  { name: 'a signal that is not an AbortSignal', params: { signal: 'stop' }, field: 'signal' },
];

describe('startAuth refuses bad input before any request', () => {
  test.each(startInputRows)('refuses $name', async (row) => {
    const server = await serve((_req, res) => json(res, statusBody(STARTED)));
    const error = await caught(() =>
      startAuth(client({ baseUrl: server.url }), { platform: 'douyin', ...row.params } as StartAuthParams),
    );
    expect(error).toBeInstanceOf(AitoearnInputError);
    const inputError = error as AitoearnInputError;
    expect(inputError.field).toBe(row.field);
    expect(inputError.message).toContain(`"${row.field}"`);
    if (row.shows !== undefined) expect(inputError.message).toContain(row.shows);
    if (row.secret !== undefined) expect(inputError.message).not.toContain(row.secret);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses parameters that are not an object, and a client that is not one', async () => {
    const server = await serve((_req, res) => json(res, statusBody(STARTED)));
    const refusedParams = await caught(() =>
      startAuth(client({ baseUrl: server.url }), null as unknown as StartAuthParams),
    );
    expect(refusedParams).toMatchObject({ field: 'params' });
    const refusedClient = await caught(() =>
      startAuth({ baseUrl: server.url, requestTimeoutMs: 1 }, { platform: 'douyin' }),
    );
    expect(refusedClient).toMatchObject({ field: 'client' });
    expect(server.requests).toHaveLength(0);
  });
});

describe('startAuth classifies every answer', () => {
  test.each([
    { code: 15032, kind: 'platform-unsupported', meaning: 'platform not supported' },
    { code: 12601, kind: 'group-not-found', meaning: 'account group not found' },
    { code: 400, kind: 'validation', meaning: 'validation failed' },
    { code: 10002, kind: 'validation', meaning: 'validation failed' },
    { code: 401, kind: 'unauthorized', meaning: 'missing or invalid API key' },
  ] as const)(
    'business $code is a terminal AitoearnApiError of kind $kind',
    async ({ code, kind, meaning }) => {
      const server = await serve((_req, res) => json(res, errorBody(code)));
      const error = await caught(() =>
        startAuth(client({ baseUrl: server.url }), {
          platform: 'douyin',
          callbackUrl: 'http://127.0.0.1:9/cb-token-77',
        }),
      );
      expect(error).toBeInstanceOf(AitoearnApiError);
      expect(error).toMatchObject({ code, kind, requestId: `req-${code}`, httpStatus: 200 });
      const { message } = error as Error;
      expect(message).toContain(`code ${code} (${meaning}) for GET ${START_PATH} `);
      // The query (a callback URL may carry the caller's token) stays out of the message.
      expect(message).not.toContain('cb-token-77');
      expect(isTransient(error)).toBe(false);
      expect(server.requests).toHaveLength(1);
    },
  );

  test.each([
    { name: 'no data', data: undefined, field: '"data": expected an object, got nothing' },
    { name: 'data {} (as in error answers)', data: {}, field: '"data.url": expected a string, got nothing' },
    {
      name: 'a javascript: url',
      data: { ...STARTED, url: 'javascript:alert(1)' },
      field: '"data.url": expected an http(s) URL or a data:image/ URL, got "javascript:alert(1)"',
    },
    {
      name: 'a file: url',
      data: { ...STARTED, url: 'file:///etc/passwd' },
      field: '"data.url": expected an http(s) URL or a data:image/ URL, got "file:///etc/passwd"',
    },
    {
      name: 'a numeric sessionId',
      data: { ...STARTED, sessionId: 5 },
      field: '"data.sessionId": expected a string, got 5',
    },
    {
      name: 'a sessionId that would address another path',
      data: { ...STARTED, sessionId: '../x' },
      field: '"data.sessionId": expected an id that is safe in a URL path, got "../x"',
    },
    {
      name: 'an empty sessionId',
      data: { ...STARTED, sessionId: '' },
      field: '"data.sessionId": expected an id that is safe in a URL path, got ""',
    },
    {
      name: 'an expiresAt of "NaN"',
      data: { ...STARTED, expiresAt: 'NaN' },
      field: '"data.expiresAt": expected a date-time, got "NaN"',
    },
    {
      name: 'authInstructions without zh-CN',
      data: { ...STARTED, authInstructions: { 'en-US': 'x' } },
      field: '"data.authInstructions.zh-CN": expected a string, got nothing',
    },
  ])('code 0 with $name is a bad-body transport error naming the field', async ({ data, field }) => {
    const server = await serve((_req, res) => json(res, { code: 0, message: 'ok', data, requestId: 'r-1' }));
    const error = await caught(() => startAuth(client({ baseUrl: server.url }), { platform: 'douyin' }));
    expect(error).toBeInstanceOf(AitoearnTransportError);
    expect(error).toMatchObject({ reason: 'bad-body', requestId: 'r-1' });
    expect((error as Error).message).toBe(`GET ${START_PATH} answered code 0 with a bad ${field}`);
  });

  it('times out like getAuthStatus, and an abort rejects with its reason', async () => {
    const server = await serve(() => {});
    const timedOut = await caught(() =>
      startAuth(client({ baseUrl: server.url, requestTimeoutMs: 100 }), { platform: 'douyin' }),
    );
    expect(timedOut).toMatchObject({ reason: 'timeout' });
    expect((timedOut as Error).message).toBe(`GET ${START_PATH} timed out after 100 ms`);
    const reason = new Error('no longer needed');
    const aborted = await caught(() =>
      startAuth(client({ baseUrl: server.url }), { platform: 'douyin', signal: AbortSignal.abort(reason) }),
    );
    expect(aborted).toBe(reason);
    expect(server.requests).toHaveLength(1);
  });
});

describe('redirects and server hints', () => {
  test.each([301, 302, 303, 307, 308])(
    'a %i to another origin is not followed, so the key stays',
    async (status) => {
      const target = await serve((_req, res) => json(res, statusBody(SESSION)));
      const origin = await serve((_req, res) =>
        res.writeHead(status, { Location: `${target.url}/steal` }).end(),
      );
      const error = await caught(() =>
        getAuthStatus(client({ baseUrl: origin.url }), { platform: 'douyin', sessionId: 'sess-1' }),
      );
      expect(error).toBeInstanceOf(AitoearnTransportError);
      expect(error).toMatchObject({ reason: 'redirect', httpStatus: status });
      expect((error as Error).message).toContain(target.url);
      expect(isTransient(error)).toBe(false);
      expect(origin.requests).toHaveLength(1);
      expect(target.requests).toHaveLength(0);
    },
  );

  it('reads Retry-After in seconds into retryAfterMs', async () => {
    const server = await serve((_req, res) => json(res, errorBody(429), { headers: { 'Retry-After': '3' } }));
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url }), { platform: 'douyin', sessionId: 'sess-1' }),
    );
    expect(error).toBeInstanceOf(AitoearnApiError);
    expect((error as AitoearnApiError).retryAfterMs).toBe(3000);
  });

  it('reads X-RateLimit-Reset (epoch ms) against the server Date into retryAfterMs', async () => {
    const serverNow = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    const server = await serve((_req, res) =>
      json(res, errorBody(429), {
        headers: { Date: new Date(serverNow).toUTCString(), 'X-RateLimit-Reset': String(serverNow + 7000) },
      }),
    );
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url }), { platform: 'douyin', sessionId: 'sess-1' }),
    );
    expect(error).toBeInstanceOf(AitoearnApiError);
    expect((error as AitoearnApiError).retryAfterMs).toBe(7000);
  });

  it('keeps Retry-After on a gateway 503', async () => {
    const server = await serve((_req, res) =>
      res.writeHead(503, { 'Retry-After': '3', 'x-request-id': 'gw-1' }).end('busy'),
    );
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url }), { platform: 'douyin', sessionId: 'sess-1' }),
    );
    expect(error).toBeInstanceOf(AitoearnTransportError);
    expect(error).toMatchObject({
      reason: 'http-status',
      httpStatus: 503,
      retryAfterMs: 3000,
      requestId: 'gw-1',
    });
  });
});

describe('abort', () => {
  it('rejects with the reason of an already-aborted signal and sends nothing', async () => {
    const server = await serve((_req, res) => json(res, statusBody(SESSION)));
    const reason = new Error('caller gave up');
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url }), {
        platform: 'douyin',
        sessionId: 'sess-1',
        signal: AbortSignal.abort(reason),
      }),
    );
    expect(error).toBe(reason);
    expect(server.requests).toHaveLength(0);
  });

  // A 60 s request timeout and a 5 s test timeout: only the abort itself can settle this in time.
  it('rejects with the reason when aborted during a hanging request', { timeout: 5000 }, async () => {
    let arrived: () => void = () => {};
    const requestArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const server = await serve(() => arrived());
    const controller = new AbortController();
    const reason = new Error('stop now');
    const pending = caught(() =>
      getAuthStatus(client({ baseUrl: server.url, requestTimeoutMs: 60_000 }), {
        platform: 'douyin',
        sessionId: 'sess-1',
        signal: controller.signal,
      }),
    );
    await requestArrived;
    controller.abort(reason);
    expect(await pending).toBe(reason);
    expect(server.requests).toHaveLength(1);
  });
});

/** Every string view of `value` (and of its `cause` chain) in which a leaked key could show up. */
function views(value: unknown, depth = 0): string[] {
  if (value === null || value === undefined || depth > 5) return [];
  const out = [String(value), inspect(value, { depth: 10, showHidden: true })];
  try {
    out.push(JSON.stringify(value) ?? '');
  } catch {
    // Circular or BigInt content: inspect above still covers it.
  }
  if (typeof value === 'object') {
    for (const key of Reflect.ownKeys(value)) {
      const own = (value as Record<PropertyKey, unknown>)[key];
      out.push(String(key), typeof own === 'string' ? own : inspect(own, { depth: 10, showHidden: true }));
    }
    if (value instanceof Error) {
      out.push(value.message, value.stack ?? '');
      out.push(...views(value.cause, depth + 1));
    }
  }
  return out;
}

/** A body written from a template, with `@KEY@` replaced by raw JSON text (so escapes reach the client as sent). */
function rawJson(template: unknown, keyJson: string): Respond {
  const text = JSON.stringify(template).replaceAll('@KEY@', keyJson);
  return (_req, res) =>
    res
      .writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
      .end(text);
}

const hex = (c: string) => (c.codePointAt(0) ?? 0).toString(16).padStart(4, '0');
/** A key with a solidus, a quote and a backslash, so that every JSON escape has something to escape. */
const ODD_KEY = 'CANARY/9f3c"Q\\SECRET';

const escapeRows = [
  {
    form: 'every character as a lower-case \\u escape',
    key: CANARY,
    json: [...CANARY].map((c) => `\\u${hex(c)}`).join(''),
  },
  {
    form: 'every character as an upper-case \\u escape',
    key: CANARY,
    json: [...CANARY].map((c) => `\\u${hex(c).toUpperCase()}`).join(''),
  },
  {
    form: 'only the first character escaped (\\u0043ANARY…)',
    key: CANARY,
    json: `\\u${hex('C')}${CANARY.slice(1)}`,
  },
  {
    form: 'every other character escaped',
    key: CANARY,
    json: [...CANARY].map((c, i) => (i % 2 ? `\\u${hex(c)}` : c)).join(''),
  },
  {
    form: 'an escaped solidus (\\/), as PHP encoders write it',
    key: ODD_KEY,
    json: 'CANARY\\/9f3c\\"Q\\\\SECRET',
  },
  { form: 'a quote and a backslash as \\u escapes', key: ODD_KEY, json: 'CANARY/9f3c\\u0022Q\\u005cSECRET' },
] as const;

describe('the key is redacted from decoded values, whatever the JSON escapes', () => {
  test.each(escapeRows)('$form', async ({ key, json: keyJson }) => {
    // The escaped text must not contain the key: else a raw-text redaction would pass this test.
    expect(keyJson).not.toContain(key);
    expect(JSON.parse(`"${keyJson}"`)).toBe(key);
    const completed = {
      code: 0,
      message: 'ok @KEY@',
      requestId: 'id-@KEY@',
      data: {
        sessionId: 's-@KEY@',
        status: 'completed',
        requiresSelection: false,
        accountId: '@KEY@',
        accountIds: ['@KEY@'],
        accounts: [
          {
            accountId: 'a-@KEY@',
            platform: 'douyin',
            platformUid: '@KEY@',
            displayName: 'Name @KEY@',
            account: '@KEY@',
            avatarUrl: 'https://cdn.example/@KEY@.png',
          },
        ],
        selectableAccounts: [
          { platform: 'douyin', platformUid: '@KEY@', displayName: '@KEY@', parentPlatformUid: '@KEY@' },
        ],
      },
    };
    const failed = { code: 15039, message: 'bad key @KEY@', data: {}, requestId: 'req-@KEY@' };
    const respond = [rawJson(completed, keyJson), rawJson(failed, keyJson)];
    const server = await serve((req, res, index) => respond[index]?.(req, res));
    const created = createAitoearnClient({ apiKey: key, baseUrl: server.url });
    seenClients.push(created);

    const result = await getAuthStatus(created, { platform: 'douyin', sessionId: 'sess-1' });
    const error = await caught(() => getAuthStatus(created, { platform: 'douyin', sessionId: 'sess-1' }));

    expect(result.session.sessionId).toBe('s-[redacted]');
    expect(result.session.accounts?.[0]?.displayName).toBe('Name [redacted]');
    expect(result.session.selectableAccounts?.[0]?.parentPlatformUid).toBe('[redacted]');
    expect(result.requestId).toBe('id-[redacted]');
    expect(error).toMatchObject({ serverMessage: 'bad key [redacted]', requestId: 'req-[redacted]' });
    for (const view of [JSON.stringify(result), ...views(error)]) expect(view).not.toContain(NEEDLE);
  });

  test.each(escapeRows)('startAuth: $form', async ({ key, json: keyJson }) => {
    const started = {
      code: 0,
      message: 'ok',
      data: {
        ...STARTED,
        url: 'https://example.com/@KEY@',
        authInstructions: { 'en-US': '@KEY@', 'zh-CN': '@KEY@' },
      },
    };
    const server = await serve(rawJson(started, keyJson));
    const created = createAitoearnClient({ apiKey: key, baseUrl: server.url });
    seenClients.push(created);
    const start = await startAuth(created, { platform: 'douyin' });
    expect(start).toMatchObject({
      url: 'https://example.com/[redacted]',
      authInstructions: { 'en-US': '[redacted]', 'zh-CN': '[redacted]' },
    });
    expect(JSON.stringify(start)).not.toContain(NEEDLE);
  });
});

describe('the key is redacted whatever its letter case and wherever it sits in a URL', () => {
  it('in a redirect to a host name made of the key, lower-cased by the URL parser', async () => {
    const server = await serve((_req, res) =>
      res.writeHead(302, { Location: `https://${CANARY}.evil.example/collect` }).end(),
    );
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url }), { platform: 'douyin', sessionId: 'sess-1' }),
    );
    expect(error).toMatchObject({ reason: 'redirect' });
    expect((error as Error).message).toContain('(to https://[redacted].evil.example)');
    expect((error as Error).message).not.toContain(NEEDLE);
  });

  it('upper-cased in a message, lower-cased in x-request-id', async () => {
    const server = await serve((_req, res) =>
      json(
        res,
        { code: 15039, message: `no such key ${CANARY.toUpperCase()}`, data: {} },
        {
          headers: { 'x-request-id': CANARY.toLowerCase() },
        },
      ),
    );
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url }), { platform: 'douyin', sessionId: 'sess-1' }),
    );
    expect(error).toMatchObject({ serverMessage: 'no such key [redacted]', requestId: '[redacted]' });
  });

  it('percent-encoded in the path or query of a URL field, partly or wholly', async () => {
    const partly = CANARY.replaceAll('-', '%2D');
    const wholly = [...CANARY].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    const server = await serve((_req, res) =>
      json(
        res,
        statusBody({
          ...SESSION,
          status: 'completed',
          accounts: [
            {
              accountId: 'a1',
              platform: 'douyin',
              platformUid: 'u1',
              displayName: 'n',
              avatarUrl: `https://cdn.example/${wholly}/a.png?k=${partly}`,
            },
          ],
        }),
      ),
    );
    const { session } = await getAuthStatus(client({ baseUrl: server.url }), {
      platform: 'douyin',
      sessionId: 'sess-1',
    });
    expect(session.accounts?.[0]?.avatarUrl).toBe('https://cdn.example/[redacted]/a.png?k=[redacted]');
  });
});

/**
 * Answers with a body of `total` bytes of JSON whitespace, written with backpressure (so what the server
 * managed to write is what the client read, plus the sockets' buffers), and reports how far it got.
 */
function endlessBody(total: number, status = 200, contentLength?: number) {
  const report = { written: 0, finished: false, closed: new Promise<void>(() => {}) };
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const respond: Respond = (_req, res) => {
    report.closed = new Promise((resolve) => res.once('close', resolve));
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    res.writeHead(status, {
      'Content-Type': 'application/json',
      ...(contentLength === undefined ? {} : { 'Content-Length': contentLength }),
    });
    const pump = () => {
      while (!gone && report.written < total) {
        report.written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!gone && contentLength === undefined) {
        report.finished = true;
        res.end('{"code":0}');
      }
    };
    pump();
  };
  return { report, respond };
}

describe('answers are read with a 1 MiB cap', () => {
  const TOTAL = 64 * 1024 * 1024;

  it('stops reading a 64 MB body past 1 MiB: a transient too-large error, the connection closed', async () => {
    const { report, respond } = endlessBody(TOTAL);
    const server = await serve(respond);
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url }), { platform: 'douyin', sessionId: 'sess-1' }),
    );
    expect(error).toBeInstanceOf(AitoearnTransportError);
    expect(error).toMatchObject({ reason: 'too-large', httpStatus: 200 });
    expect((error as Error).message).toBe(
      `GET ${STATUS_PATH} answered a body over 1048576 bytes (1 MiB; real answers are a few KB): stopped reading it`,
    );
    expect(isTransient(error)).toBe(true);
    await report.closed;
    expect(report.finished).toBe(false);
    expect(report.written, `the server wrote ${report.written} bytes`).toBeLessThan(TOTAL / 2);
  });

  it('refuses a Content-Length over 1 MiB without reading the body', async () => {
    // The server sends 64 KB of a declared 5 MB and then waits: only not reading can settle this.
    const { report, respond } = endlessBody(64 * 1024, 200, 5_000_000);
    const server = await serve(respond);
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url, requestTimeoutMs: 60_000 }), {
        platform: 'douyin',
        sessionId: 'sess-1',
      }),
    );
    expect(error).toMatchObject({ reason: 'too-large' });
    await report.closed;
  });

  it("drops a gateway's 64 MB error page unread: an http-status error, the connection closed", async () => {
    const { report, respond } = endlessBody(TOTAL, 502);
    const server = await serve(respond);
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url }), { platform: 'douyin', sessionId: 'sess-1' }),
    );
    expect(error).toMatchObject({ reason: 'http-status', httpStatus: 502 });
    expect((error as Error).message).toBe(
      `GET ${STATUS_PATH} answered HTTP 502 (application/json); the API answers every business outcome with HTTP 200`,
    );
    await report.closed;
    expect(report.finished).toBe(false);
    expect(report.written, `the server wrote ${report.written} bytes`).toBeLessThan(TOTAL / 2);
  });

  it('reads an answer just under 1 MiB, in many chunks', async () => {
    const padding = 'x'.repeat(1024 * 1024 - 300);
    const text = JSON.stringify(statusBody({ ...SESSION, padding }));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024 * 1024);
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      for (let i = 0; i < text.length; i += 10_000) res.write(text.slice(i, i + 10_000));
      res.end();
    });
    const { session } = await getAuthStatus(client({ baseUrl: server.url }), {
      platform: 'douyin',
      sessionId: 'sess-1',
    });
    expect(session).toEqual(SESSION);
  });
});

describe('nothing walks data the package does not know', () => {
  it('completes a session with 200,000 levels of nesting in an unknown field', async () => {
    const depth = 200_000;
    const data = `{"sessionId":"sess-1","status":"completed","requiresSelection":false,"extra":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const text = `{"code":0,"message":"ok","data":${data}}`;
    const server = await serve((_req, res) =>
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(text),
    );
    const created = client({ baseUrl: server.url });

    const { session } = await getAuthStatus(created, { platform: 'douyin', sessionId: 'sess-1' });
    expect(session).toEqual({ sessionId: 'sess-1', status: 'completed', requiresSelection: false });
    expect(Object.isFrozen(session)).toBe(true);
    // The waiter freezes, logs and reports what the client hands it: it must get only the known fields.
    const waited = await waitForAuth(created, { platform: 'douyin', sessionId: 'sess-1', timeoutMs: 30_000 });
    expect(waited).toEqual(session);
    expect(server.requests).toHaveLength(2);
  });
});

describe('a field of the wrong shape is named', () => {
  test.each([
    {
      name: 'an expiresAt of "NaN"',
      data: { ...SESSION, expiresAt: 'NaN' },
      says: '"data.expiresAt": expected a date-time, got "NaN"',
    },
    {
      name: 'a numeric expiresAt',
      data: { ...SESSION, expiresAt: 1 },
      says: '"data.expiresAt": expected a date-time, got 1',
    },
    {
      name: 'no requiresSelection',
      data: { sessionId: 's', status: 'pending' },
      says: '"data.requiresSelection": expected true or false, got nothing',
    },
    {
      name: 'a numeric status',
      data: { ...SESSION, status: 2 },
      says: '"data.status": expected a string, got 2',
    },
    {
      name: 'an errorCode string',
      data: { ...SESSION, errorCode: '15045' },
      says: '"data.errorCode": expected a number, got "15045"',
    },
    {
      name: 'accounts that are not an array',
      data: { ...SESSION, accounts: 'all' },
      says: '"data.accounts": expected an array, got "all"',
    },
    {
      name: 'an account without a platform',
      data: { ...SESSION, accounts: [{ accountId: 'a', platformUid: 'u', displayName: 'd' }] },
      says: '"data.accounts[0].platform": expected a string, got nothing',
    },
    {
      name: 'a null account',
      data: { ...SESSION, accountIds: ['a', null] },
      says: '"data.accountIds[1]": expected a string, got null',
    },
    { name: 'data that is an array', data: [SESSION], says: '"data": expected an object, got an array' },
    // The value shown is the server's, so the key is redacted from it too.
    { name: 'data that is the key', data: CANARY, says: '"data": expected an object, got "[redacted]"' },
    {
      name: 'a requiresSelection that is the key',
      data: { ...SESSION, requiresSelection: CANARY.toLowerCase() },
      says: '"data.requiresSelection": expected true or false, got "[redacted]"',
    },
    {
      name: 'accounts that are the key',
      data: { ...SESSION, accounts: `${CANARY}!` },
      says: '"data.accounts": expected an array, got "[redacted]!"',
    },
  ])('$name', async ({ data, says }) => {
    const server = await serve((_req, res) => json(res, statusBody(data)));
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url }), { platform: 'douyin', sessionId: 'sess-1' }),
    );
    expect(error).toMatchObject({ reason: 'bad-body' });
    expect((error as Error).message).toBe(`GET ${STATUS_PATH} answered code 0 with a bad ${says}`);
  });

  it('treats null in an optional field as absent', async () => {
    const server = await serve((_req, res) =>
      json(res, statusBody({ ...SESSION, errorCode: null, accountId: null, accounts: null })),
    );
    const { session } = await getAuthStatus(client({ baseUrl: server.url }), {
      platform: 'douyin',
      sessionId: 'sess-1',
    });
    expect(session).toEqual(SESSION);
  });
});

describe('the API key never leaks', () => {
  it('is absent from every error produced above and from the clients', () => {
    // The tables above must have run and thrown: guards against a vacuous pass.
    expect(seenErrors.length).toBeGreaterThanOrEqual(inputRows.length + classificationRows.length - 1);
    expect(seenClients.length).toBeGreaterThan(classificationRows.length);
    for (const error of seenErrors) {
      for (const view of views(error)) expect(view).not.toContain(NEEDLE);
    }
    for (const created of seenClients) {
      expect(inspect(created, { showHidden: true, depth: 10 })).not.toContain(NEEDLE);
      expect(JSON.stringify(created)).not.toContain(NEEDLE);
      expect(Object.values(created).join(' ')).not.toContain(NEEDLE);
    }
  });

  it('the leak check itself finds a key that is present', () => {
    const leaky = new AitoearnTransportError('network', 'fine', {}, { cause: new Error(`key ${CANARY}`) });
    expect(views(leaky).some((view) => view.includes(NEEDLE))).toBe(true);
  });
});

describe('no leftovers', () => {
  it('leaves no more sockets, servers or timers than at the start', async () => {
    await Promise.all(openServers.splice(0).map((server) => server.close()));
    // Client sockets close a moment after the servers end them; wait for that, bounded.
    for (let i = 0; i < 100; i++) {
      const now = countResources();
      if (TRACKED_RESOURCES.every((name) => now[name] <= resourcesAtStart[name])) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const end = countResources();
    for (const name of TRACKED_RESOURCES) expect(end[name]).toBeLessThanOrEqual(resourcesAtStart[name]);
  });
});
