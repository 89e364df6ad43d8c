import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { afterEach, beforeAll, describe, expect, it, test, vi } from 'vitest';
import {
  AitoearnApiError,
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
  waitForAuth,
} from '../src/index.js';
import { CANARY, expectNoKey, NEEDLE, views } from './helpers/canary.js';
import { type Answer, fakeFetch, ok } from './helpers/fake-fetch.js';
import { errorBody, json, startServer, statusBody, type TestServer } from './helpers/http-server.js';

const STATUS_PATH = '/api/v2/channels/accounts/auth/douyin/status/sess-1';
const START_PATH = '/api/v2/channels/accounts/auth/douyin';
const ASK = { platform: 'douyin', sessionId: 'sess-1' } as const;
const SESSION: AuthSession = {
  sessionId: 'sess-1',
  status: 'pending',
  requiresSelection: false,
  expiresAt: '2030-01-01T00:00:00.000Z',
};
const STARTED = {
  url: 'https://open.douyin.com/platform/oauth/connect?client_key=ck&state=st',
  sessionId: 'V1StGXR8_Z5jdHi6',
  expiresAt: '2030-01-01T00:05:00.000Z',
  authInstructions: { 'en-US': 'Scan with Douyin', 'zh-CN': '请使用抖音扫码' },
};

/** Every error and client of this file, for the key-leak test at the end. */
const seen: unknown[] = [];
const openServers: TestServer[] = [];
async function serve(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const server = await startServer(handler);
  openServers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(openServers.splice(0).map((server) => server.close()));
});

function client(options: Partial<AitoearnClientOptions> = {}): AitoearnClient {
  const created = createAitoearnClient({ apiKey: CANARY, baseUrl: 'http://127.0.0.1:9', ...options });
  seen.push(created);
  return created;
}

/** A client whose `fetch` answers every request with `answer`. */
function faked(
  answer: (request: Request, index: number) => Answer | Promise<Answer>,
  options: Partial<AitoearnClientOptions> = {},
) {
  const fake = fakeFetch(answer);
  return { client: client({ fetch: fake.fetch, ...options }), requests: fake.requests };
}

function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** What `work` threw (recorded for the leak test); fails the test if it resolved. */
async function caught(work: () => unknown): Promise<Error> {
  try {
    await work();
  } catch (error) {
    seen.push(error);
    return error as Error;
  }
  throw new Error('expected a rejection, got a result');
}

const countResources = () => {
  const active = process.getActiveResourcesInfo();
  return ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'].map((name) => active.filter((r) => r === name).length);
};
let resourcesAtStart: number[] = [];
beforeAll(() => {
  resourcesAtStart = countResources();
});

describe('getAuthStatus', () => {
  it('sends the key and language, and returns the session, the body requestId and the server Date', async () => {
    const server = await serve((_req, res) =>
      json(res, statusBody(SESSION, { requestId: 'req-body' }), {
        headers: { 'x-request-id': 'req-header', Date: 'Wed, 21 Oct 2015 07:28:00 GMT' },
      }),
    );
    const result = await getAuthStatus(client({ baseUrl: `${server.url}/`, acceptLanguage: 'zh-CN' }), ASK);
    expect(result).toEqual({ session: SESSION, requestId: 'req-body', serverDateMs: 1445412480000 });
    expect(server.requests).toMatchObject([
      { method: 'GET', url: STATUS_PATH, headers: { 'x-api-key': CANARY, 'accept-language': 'zh-CN' } },
    ]);
  });

  it('takes the requestId from x-request-id when the body has none', async () => {
    const { client: c } = faked(
      () => new Response(JSON.stringify(ok(SESSION).json), { headers: { 'x-request-id': 'h-1' } }),
    );
    // No Date header: no server time (not NaN).
    expect(await getAuthStatus(c, ASK)).toEqual({
      requestId: 'h-1',
      session: SESSION,
      serverDateMs: undefined,
    });
  });

  // Item 4 of issue 16.
  it('refuses an answer about another session than the one asked for, naming data.sessionId', async () => {
    const { client: c } = faked(() =>
      ok({ ...SESSION, sessionId: 'sess-2', status: 'completed' }, { requestId: 'r-1' }),
    );
    const error = await caught(() => getAuthStatus(c, ASK));
    expect(error).toMatchObject({ reason: 'bad-body', requestId: 'r-1' });
    expect(error.message).toBe(
      `GET ${STATUS_PATH} answered code 0 with a bad "data.sessionId": expected the session asked for, "sess-1", got "sess-2"`,
    );
  });

  // The leftover of the previous session: new Response() throws on such a status.
  it('reports a status outside 200–599 from a custom fetch as http-status, not network', async () => {
    const { client: c } = faked(() => Response.error());
    expect(await caught(() => getAuthStatus(c, ASK))).toMatchObject({ reason: 'http-status', httpStatus: 0 });
  });
});

interface InputRow {
  readonly name: string;
  readonly options?: Record<string, unknown> | undefined;
  readonly params?: Record<string, unknown> | undefined;
  readonly field: string;
  /** A rendering of the value the message must contain. */
  readonly shows?: string;
  /** A secret the message must never contain. */
  readonly secret?: string;
}

const row = (name: string, field: string, given: Partial<InputRow>): InputRow => ({ name, field, ...given });
const statusInputRows: InputRow[] = [
  ...['', '.', '..', 'a/b', 'a?b', 'a#b', '%2e%2e', 'a b', 'a\\b', 'ab\uD800'].map((sessionId) =>
    row(`a sessionId of ${JSON.stringify(sessionId)}`, 'sessionId', { params: { sessionId } }),
  ),
  row('a sessionId with a tab', 'sessionId', { params: { sessionId: 'a\tb' }, shows: '"a\\tb"' }),
  row('a sessionId with a NUL', 'sessionId', { params: { sessionId: 'a\u0000b' }, shows: '"a\\u0000b"' }),
  row('a sessionId with a zero-width space', 'sessionId', {
    params: { sessionId: 'a\u200bb' },
    shows: '"a\\u200bb"',
  }),
  row('a sessionId with a bidi override', 'sessionId', {
    params: { sessionId: 'a\u202eb' },
    shows: '"a\\u202eb"',
  }),
  row('a 300-character sessionId', 'sessionId', {
    params: { sessionId: 'x'.repeat(300) },
    shows: `"${'x'.repeat(60)}…" (300 characters)`,
  }),
  row('a non-string sessionId', 'sessionId', { params: { sessionId: 7 }, shows: 'got 7' }),
  row('a missing sessionId', 'sessionId', { params: { sessionId: undefined }, shows: 'got undefined' }),
  row('a platform of ".."', 'platform', { params: { platform: '..' }, shows: '"..": a dot segment' }),
  row('a platform with a slash', 'platform', {
    params: { platform: 'a/b' },
    shows: '"a/b": it contains "/"',
  }),
  row('a non-string platform', 'platform', { params: { platform: 42 }, shows: 'got 42' }),
  row('a signal that is not an AbortSignal', 'signal', { params: { signal: {} } }),
  row('an empty apiKey', 'apiKey', { options: { apiKey: '' }, shows: 'got ""' }),
  row('a missing apiKey', 'apiKey', { options: { apiKey: undefined }, shows: 'got undefined' }),
  ...[`${CANARY} x`, `${CANARY}é`, `${CANARY}\n`, 739_190_731].map((apiKey) =>
    row(`an apiKey of ${JSON.stringify(apiKey)}`, 'apiKey', {
      options: { apiKey },
      secret: String(apiKey).slice(0, 11),
    }),
  ),
  row('a baseUrl that is not a URL', 'baseUrl', { options: { baseUrl: 'not a url' }, shows: '"not a url"' }),
  row('plain http to a remote host', 'baseUrl', {
    options: { baseUrl: 'http://example.com' },
    shows: 'unencrypted',
  }),
  ...['https', 'http', 'ftp'].map((scheme) =>
    row(`a ${scheme} baseUrl with credentials`, 'baseUrl', {
      options: { baseUrl: `${scheme}://user:pw-9f3c@example.com` },
      secret: 'pw-9f3c',
    }),
  ),
  row('a baseUrl with a query', 'baseUrl', {
    options: { baseUrl: 'https://example.com/?q=1' },
    shows: 'query',
  }),
  row('a baseUrl with a fragment', 'baseUrl', {
    options: { baseUrl: 'https://example.com/#f' },
    shows: 'fragment',
  }),
  row('an ftp baseUrl', 'baseUrl', { options: { baseUrl: 'ftp://x' }, shows: '"ftp://x"' }),
  row('a non-string baseUrl', 'baseUrl', { options: { baseUrl: 8080 }, shows: 'got 8080' }),
  row('an unknown site', 'site', { options: { site: 'xx', baseUrl: undefined }, shows: '"xx"' }),
  ...[0, -5, Number.NaN, Number.POSITIVE_INFINITY, '1000'].map((requestTimeoutMs) =>
    row(`a requestTimeoutMs of ${String(requestTimeoutMs)}`, 'requestTimeoutMs', {
      options: { requestTimeoutMs },
      shows: `got ${typeof requestTimeoutMs === 'string' ? `"${requestTimeoutMs}"` : requestTimeoutMs}`,
    }),
  ),
  row('an acceptLanguage with CRLF', 'acceptLanguage', {
    options: { acceptLanguage: 'en-US\r\nX-Evil: 1' },
    shows: '"en-US\\r\\nX-Evil: 1"',
  }),
  row('a fetch that is not a function', 'fetch', { options: { fetch: 'fetch' }, shows: '"fetch"' }),
  row('options that are not an object', 'options', { options: undefined }),
];

const startInputRows: InputRow[] = [
  row('an empty platform', 'platform', { params: { platform: '' }, shows: 'got ""' }),
  row('a missing platform', 'platform', { params: { platform: undefined } }),
  ...['cb', 'ftp://example.com/cb', 'javascript:alert(1)', 8080].map((callbackUrl) =>
    row(`a callbackUrl of ${JSON.stringify(callbackUrl)}`, 'callbackUrl', {
      params: { callbackUrl },
      shows: JSON.stringify(callbackUrl),
    }),
  ),
  row('a callbackUrl with credentials', 'callbackUrl', {
    params: { callbackUrl: 'https://u:pw-9f3c@example.com/cb' },
    secret: 'pw-9f3c',
  }),
  row('a 3000-character callbackUrl', 'callbackUrl', {
    params: { callbackUrl: `https://example.com/${'a'.repeat(3000)}` },
    shows: 'longer than 2048',
  }),
  ...[
    ['http://127.0.0.1:8080/done', '127.0.0.1'],
    ['http://localhost/done', 'localhost'],
    ['http://[::1]:3000/', '[::1]'],
    ['https://10.0.0.7/done', '10.0.0.7'],
    ['http://2130706433/', '127.0.0.1'],
    ['https://intranet/done', 'intranet'],
  ].map(([redirectUri, host]) =>
    row(`a redirectUri to ${host}`, 'redirectUri', { params: { redirectUri }, shows: `not ${host}` }),
  ),
  row('a data: redirectUri', 'redirectUri', {
    params: { redirectUri: 'data:text/html,hi' },
    shows: 'scheme data:',
  }),
  row('an empty groupId', 'groupId', { params: { groupId: '' }, shows: 'got ""' }),
  row('a groupId with a newline', 'groupId', { params: { groupId: 'g\n1' }, shows: '"g\\n1"' }),
  row('a numeric groupId', 'groupId', { params: { groupId: 12 }, shows: 'got 12' }),
  row('parameters that are not an object', 'params', { params: undefined }),
];

describe('bad input is refused, naming the field and the value, before any request', () => {
  test.each([
    ...statusInputRows.map((r) => ({ ...r, call: 'getAuthStatus' })),
    ...startInputRows.map((r) => ({ ...r, call: 'startAuth' })),
  ])('$call refuses $name', async (r) => {
    const fake = fakeFetch(() => ok(SESSION));
    const error = await caught(() => {
      const options = 'options' in r ? r.options : {};
      const given = options && {
        apiKey: CANARY,
        baseUrl: 'http://127.0.0.1:9',
        fetch: fake.fetch,
        ...options,
      };
      const created = createAitoearnClient(given as AitoearnClientOptions);
      const params = 'params' in r && r.params === undefined ? undefined : { ...ASK, ...r.params };
      return r.call === 'startAuth'
        ? startAuth(created, params as StartAuthParams)
        : getAuthStatus(created, params as GetAuthStatusParams);
    });
    expect(error).toBeInstanceOf(AitoearnInputError);
    expect(error).toMatchObject({ field: r.field });
    expect(error.message).toContain(`Expected "${r.field}" to be `);
    if (r.shows !== undefined) expect(error.message).toContain(r.shows);
    if (r.secret !== undefined) expect(error.message).not.toContain(r.secret);
    expect(fake.requests).toEqual([]);
  });

  it('refuses a client that createAitoearnClient did not make', async () => {
    const error = await caught(() => startAuth({ baseUrl: 'http://127.0.0.1:9', requestTimeoutMs: 1 }, ASK));
    expect(error).toMatchObject({ field: 'client' });
  });

  it('accepts https, and http to loopback hosts, without a trailing slash; maps site, "ai" by default', () => {
    for (const [baseUrl, expected] of [
      ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
      ['http://localhost:8080/', 'http://localhost:8080'],
      ['http://[::1]:8080', 'http://[::1]:8080'],
      [new URL('https://example.com/prefix/'), 'https://example.com/prefix'],
    ] as const) {
      expect(client({ baseUrl }).baseUrl).toBe(expected);
    }
    expect(createAitoearnClient({ apiKey: CANARY, site: 'cn' }).baseUrl).toBe('https://aitoearn.cn');
    expect(createAitoearnClient({ apiKey: CANARY }).baseUrl).toBe('https://aitoearn.ai');
    expect(createAitoearnClient({ apiKey: CANARY, site: 'cn', baseUrl: 'https://x.test' }).baseUrl).toBe(
      'https://x.test',
    );
  });
});

type Respond = (req: IncomingMessage, res: ServerResponse) => void;
const business =
  (code: number): Respond =>
  (_req, res) =>
    json(res, errorBody(code));
const http =
  (status: number): Respond =>
  (_req, res) =>
    res.writeHead(status, { 'Content-Type': 'text/html' }).end('<html><body>gateway</body></html>');
const cutShort =
  (length?: string): Respond =>
  (_req, res) => {
    res.writeHead(200, {
      'Content-Type': 'application/json',
      ...(length ? { 'Content-Length': length } : {}),
    });
    res.write('{"code":0,"data":{"sessionId":"se');
    setTimeout(() => res.socket?.destroy(), 20);
  };

// [answer, the error's fields, transient]
const classificationRows: [string, Respond, Record<string, unknown>, boolean][] = [
  ...(
    [
      [401, 'unauthorized', false],
      [10002, 'validation', false],
      [400, 'validation', false],
      [15039, 'session-invalid', false],
      [15040, 'platform-mismatch', false],
      [429, 'rate-limited', true],
      [500, 'internal', true],
      [99999, 'unknown', false],
    ] as const
  ).map(([code, kind, transient]): [string, Respond, Record<string, unknown>, boolean] => [
    `business ${code}`,
    business(code),
    { code, kind, requestId: `req-${code}`, httpStatus: 200 },
    transient,
  ]),
  ...([401, 403, 404, 408, 429, 500, 502, 503, 504] as const).map(
    (status): [string, Respond, Record<string, unknown>, boolean] => [
      `HTTP ${status}`,
      http(status),
      { reason: 'http-status', httpStatus: status },
      status >= 408,
    ],
  ),
  [
    'HTTP 302',
    (_q, res) => res.writeHead(302, { Location: 'https://elsewhere.example/steal' }).end(),
    { reason: 'redirect', httpStatus: 302 },
    false,
  ],
  [
    'an HTML body with HTTP 200',
    (_q, res) => res.writeHead(200).end('<html>maintenance</html>'),
    { reason: 'bad-body' },
    true,
  ],
  // undici rejects the body read with TypeError "terminated" (cause: UND_ERR_SOCKET): a network failure.
  ['JSON cut short of its Content-Length, then a reset', cutShort('200'), { reason: 'network' }, true],
  ['chunked JSON cut short by a reset', cutShort(), { reason: 'network' }, true],
  [
    'JSON cut short but ended cleanly',
    (_q, res) => res.writeHead(200).end('{"code":0,"data":{'),
    { reason: 'bad-body' },
    true,
  ],
  [
    'an empty body with HTTP 200',
    (_q, res) => res.writeHead(200, { 'Content-Length': '0' }).end(),
    { reason: 'bad-body' },
    true,
  ],
  [
    'code 0 with data {}',
    (_q, res) => json(res, { code: 0, message: 'ok', data: {} }),
    { reason: 'bad-body' },
    true,
  ],
  [
    'a JSON body without code',
    (_q, res) => json(res, { message: 'ok', data: SESSION }),
    { reason: 'bad-body' },
    true,
  ],
  ['a connection reset before any answer', (req) => req.socket.destroy(), { reason: 'network' }, true],
  ['a server that never answers (requestTimeoutMs 200)', () => {}, { reason: 'timeout' }, true],
];

describe('every answer from a real server is classified; the client never retries', () => {
  test.each(classificationRows)('%s', async (_name, respond, fields, transient) => {
    const server = await serve(respond);
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url, requestTimeoutMs: 200 }), ASK),
    );
    expect(error).toBeInstanceOf('code' in fields ? AitoearnApiError : AitoearnTransportError);
    expect(error).toMatchObject(fields);
    expect(error.message).toContain(`GET ${STATUS_PATH}`);
    expect(isTransient(error)).toBe(transient);
    expect(server.requests).toHaveLength(1);
  });

  test.each([301, 303, 307, 308])(
    'a %i to another origin is not followed, so the key stays',
    async (status) => {
      const target = await serve((_req, res) => json(res, statusBody(SESSION)));
      const origin = await serve((_req, res) =>
        res.writeHead(status, { Location: `${target.url}/steal` }).end(),
      );
      const error = await caught(() => getAuthStatus(client({ baseUrl: origin.url }), ASK));
      expect(error).toMatchObject({ reason: 'redirect', httpStatus: status });
      expect(error.message).toContain(target.url);
      expect(target.requests).toHaveLength(0);
    },
  );

  test.each([
    ['Retry-After in seconds', { 'Retry-After': '3' }, 3000],
    [
      'X-RateLimit-Reset (epoch ms) against the server Date',
      { Date: 'Wed, 21 Oct 2015 07:28:00 GMT', 'X-RateLimit-Reset': String(1445412480000 + 7000) },
      7000,
    ],
  ])('reads %s into retryAfterMs', async (_name, headers, ms) => {
    const server = await serve((_req, res) => json(res, errorBody(429), { headers }));
    expect(await caught(() => getAuthStatus(client({ baseUrl: server.url }), ASK))).toMatchObject({
      retryAfterMs: ms,
    });
  });

  it("keeps a gateway 503's Retry-After and request id", async () => {
    const server = await serve((_req, res) =>
      res.writeHead(503, { 'Retry-After': '3', 'x-request-id': 'gw-1' }).end('busy'),
    );
    expect(await caught(() => getAuthStatus(client({ baseUrl: server.url }), ASK))).toMatchObject({
      reason: 'http-status',
      httpStatus: 503,
      retryAfterMs: 3000,
      requestId: 'gw-1',
    });
  });
});

describe('startAuth', () => {
  it('sends the platform, the key and the query, and resolves a frozen start with the request id', async () => {
    const server = await serve((_req, res) => json(res, statusBody(STARTED, { requestId: 'req-start' })));
    const started = await startAuth(client({ baseUrl: server.url }), {
      platform: 'douyin',
      callbackUrl: 'http://127.0.0.1:8765/cb/abc?x=1',
      redirectUri: new URL('https://example.com/done'),
      groupId: 'group-1',
    });
    expect(started).toEqual({ ...STARTED, requestId: 'req-start' });
    expect(Object.isFrozen(started)).toBe(true);
    const sent = new URL(server.requests[0]?.url ?? '', server.url);
    expect(sent.pathname).toBe(START_PATH);
    expect(Object.fromEntries(sent.searchParams)).toEqual({
      callbackUrl: 'http://127.0.0.1:8765/cb/abc?x=1',
      redirectUri: 'https://example.com/done',
      groupId: 'group-1',
    });
    expect(server.requests[0]?.headers['x-api-key']).toBe(CANARY);
  });

  it('sends no query when only the platform is given', async () => {
    const { authInstructions: _, ...bare } = STARTED;
    const { client: c, requests } = faked(() => ok(bare));
    const started = await startAuth(c, { platform: 'douyin' });
    expect('authInstructions' in started).toBe(false);
    expect(new URL(requests[0]?.url ?? '').search).toBe('');
  });

  test.each([
    { code: 15032, kind: 'platform-unsupported', meaning: 'platform not supported' },
    { code: 12601, kind: 'group-not-found', meaning: 'account group not found' },
    { code: 400, kind: 'validation', meaning: 'validation failed' },
  ] as const)(
    'business $code is a terminal $kind, its message without the query',
    async ({ code, kind, meaning }) => {
      const { client: c } = faked(() => ({ json: errorBody(code) }));
      const error = await caught(() =>
        startAuth(c, { platform: 'douyin', callbackUrl: 'http://127.0.0.1:9/cb-token-77' }),
      );
      expect(error).toMatchObject({ code, kind, requestId: `req-${code}` });
      expect(error.message).toContain(`code ${code} (${meaning}) for GET ${START_PATH} `);
      expect(error.message).not.toContain('cb-token-77');
      expect(isTransient(error)).toBe(false);
    },
  );

  // Items 7 and 18 of issue 16.
  test.each([
    [
      'a host with a tab, as a browser opens it',
      'https://good.example\t.evil.test/x',
      'https://good.example.evil.test/x',
    ],
    ['a Cyrillic homoglyph host, in punycode', 'https://аitoearn.ai/x', 'https://xn--itoearn-1fg.ai/x'],
    ['an upper-case scheme and a space', 'HTTPS://Good.Example/a b', 'https://good.example/a%20b'],
    ['a PNG QR code', 'data:image/png;base64,iVBORw0KGgo=', 'data:image/png;base64,iVBORw0KGgo='],
    ['a WebP QR code', 'data:image/webp;base64,UklGRg==', 'data:image/webp;base64,UklGRg=='],
  ])('hands out the url a browser opens: %s', async (_name, url, href) => {
    const { client: c } = faked(() => ok({ ...STARTED, url }));
    expect((await startAuth(c, ASK)).url).toBe(href);
  });

  it('keeps whichever instruction languages came, as plain text', async () => {
    const { client: c } = faked((_r, i) =>
      ok({
        ...STARTED,
        authInstructions: i
          ? { 'en-US': 'Scan\u001b[2J \u202eit\u200b\u00ad\u{E0041}' }
          : { 'zh-CN': '只有中文' },
      }),
    );
    expect((await startAuth(c, ASK)).authInstructions).toEqual({ 'zh-CN': '只有中文' });
    expect((await startAuth(c, ASK)).authInstructions).toEqual({ 'en-US': 'Scan[2J it' });
  });

  it('keeps only the fields the spec names and removes the key from every one', async () => {
    const { client: c } = faked(() =>
      ok(
        {
          url: `https://example.com/consent?k=${CANARY}`,
          sessionId: `s-${CANARY.toLowerCase()}`,
          expiresAt: STARTED.expiresAt,
          authInstructions: { 'en-US': `use ${CANARY}`, 'zh-CN': CANARY, extra: CANARY },
          unknown: { deep: CANARY },
        },
        { requestId: CANARY },
      ),
    );
    expect(await startAuth(c, ASK)).toEqual({
      url: 'https://example.com/consent?k=[redacted]',
      sessionId: 's-[redacted]',
      expiresAt: STARTED.expiresAt,
      authInstructions: { 'en-US': 'use [redacted]', 'zh-CN': '[redacted]' },
      requestId: '[redacted]',
    });
  });

  // Item 6 of issue 16: an answer that will not change is final, not worth retrying.
  const NOT_OPENABLE = 'expected an http(s) URL or a data:image/ URL';
  test.each([
    ['javascript:', 'javascript:alert(1)', NOT_OPENABLE],
    ['file:', 'file:///etc/passwd', NOT_OPENABLE],
    ['data:text/html', 'data:text/html,<script>1</script>', NOT_OPENABLE],
    ['data:image/svg+xml', 'data:image/svg+xml,<svg onload=alert(1)>', NOT_OPENABLE],
    ['a URL starting with -', '-https://example.com', NOT_OPENABLE],
    ['an unparsable URL', 'https://', 'expected a URL'],
    [
      'a URL that shows one host and opens another',
      'https://aitoearn.ai@evil.example/consent',
      'expected a URL without a user name or password',
    ],
    ['an image that is not base64', 'data:image/png,abc', 'expected a base64 data:image/ URL'],
    [
      'a page URL that percent-encodes past 8 KiB',
      `https://example.com/${'认'.repeat(8000)}`,
      'expected a URL of at most 8192 characters',
    ],
    [
      'a page URL over 8 KiB',
      `https://example.com/${'a'.repeat(8192)}`,
      'expected a URL of at most 8192 characters',
    ],
    [
      'an image over 256 KiB',
      `data:image/png;base64,${'A'.repeat(256 * 1024)}`,
      'expected a URL of at most 262144 characters',
    ],
  ])('refuses %s as a final refused-url', async (_name, url, says) => {
    const { client: c } = faked(() => ok({ ...STARTED, url }));
    const error = await caught(() => startAuth(c, ASK));
    expect(error).toMatchObject({ reason: 'refused-url' });
    expect(error.message).toContain(`answered code 0 with a bad "data.url": ${says}`);
    expect(isTransient(error)).toBe(false);
  });

  test.each([
    ['no data', undefined, '"data": expected an object, got nothing'],
    ['data {} (as in error answers)', {}, '"data.url": expected a string, got nothing'],
    ['a numeric sessionId', { ...STARTED, sessionId: 5 }, '"data.sessionId": expected a string, got 5'],
    [
      'a sessionId that would address another path',
      { ...STARTED, sessionId: '../x' },
      '"data.sessionId": expected an id that is safe in a URL path, got "../x"',
    ],
    [
      'an authInstructions that is text',
      { ...STARTED, authInstructions: 'x' },
      '"data.authInstructions": expected an object, got "x"',
    ],
  ])('code 0 with %s is a transient bad-body naming the field', async (_name, data, field) => {
    const { client: c } = faked(() => ok(data, { requestId: 'r-1' }));
    const error = await caught(() => startAuth(c, ASK));
    expect(error).toMatchObject({ reason: 'bad-body', requestId: 'r-1' });
    expect(error.message).toBe(`GET ${START_PATH} answered code 0 with a bad ${field}`);
    expect(isTransient(error)).toBe(true);
  });
});

// Item 3 of issue 16, in both answers.
describe('expiresAt is an RFC 3339 date-time with an offset or Z', () => {
  const call = {
    status: (c: AitoearnClient) => getAuthStatus(c, ASK),
    start: (c: AitoearnClient) => startAuth(c, ASK),
  };
  const data = { status: SESSION, start: STARTED };
  test.each(
    (['status', 'start'] as const).flatMap((op) =>
      [
        '1',
        '2030-01-01T00:00:00',
        '2030-01-01',
        '2030-13-01T00:00:00Z',
        '2026-02-30T00:00:00Z',
        '2030-01-01T24:00:00Z',
        'NaN',
      ].map((expiresAt) => [op, expiresAt] as const),
    ),
  )('%s: refuses %j, naming data.expiresAt', async (op, expiresAt) => {
    const { client: c } = faked(() => ok({ ...data[op], expiresAt }));
    const error = await caught(() => call[op](c));
    expect(error).toMatchObject({ reason: 'bad-body' });
    expect(error.message).toContain(
      `a bad "data.expiresAt": expected an RFC 3339 date-time with an offset, got ${JSON.stringify(expiresAt)}`,
    );
  });

  test.each([
    '2030-01-01T08:00:00+08:00',
    '2030-01-01t00:00:00.5z',
    '2030-01-01T00:00:00Z',
    '0099-12-31T23:59:59Z',
  ])('accepts %s', async (expiresAt) => {
    const { client: c } = faked((request) =>
      ok(request.url.includes('/status/') ? { ...SESSION, expiresAt } : { ...STARTED, expiresAt }),
    );
    expect((await getAuthStatus(c, ASK)).session.expiresAt).toBe(expiresAt);
    expect((await startAuth(c, ASK)).expiresAt).toBe(expiresAt);
  });
});

describe('a status answer is read along the spec: wrong fields named, unknown fields dropped', () => {
  test.each([
    ['a numeric expiresAt', { ...SESSION, expiresAt: 1 }, '"data.expiresAt": expected a string, got 1'],
    [
      'no requiresSelection',
      { sessionId: 'sess-1', status: 'pending' },
      '"data.requiresSelection": expected true or false, got nothing',
    ],
    ['a numeric status', { ...SESSION, status: 2 }, '"data.status": expected a string, got 2'],
    [
      'an errorCode string',
      { ...SESSION, errorCode: '15045' },
      '"data.errorCode": expected a number, got "15045"',
    ],
    [
      'accounts that are not an array',
      { ...SESSION, accounts: 'all' },
      '"data.accounts": expected an array, got "all"',
    ],
    [
      'an account without a platform',
      { ...SESSION, accounts: [{ accountId: 'a', platformUid: 'u', displayName: 'd' }] },
      '"data.accounts[0].platform": expected a string, got nothing',
    ],
    [
      'a null account id',
      { ...SESSION, accountIds: ['a', null] },
      '"data.accountIds[1]": expected a string, got null',
    ],
    ['data that is an array', [SESSION], '"data": expected an object, got an array'],
    // The value shown is the server's, so the key is redacted from it too.
    ['data that is the key', CANARY, '"data": expected an object, got "[redacted]"'],
    [
      'accounts that are the key',
      { ...SESSION, accounts: `${CANARY}!` },
      '"data.accounts": expected an array, got "[redacted]!"',
    ],
  ])('%s', async (_name, data, says) => {
    const { client: c } = faked(() => ok(data));
    const error = await caught(() => getAuthStatus(c, ASK));
    expect(error).toMatchObject({ reason: 'bad-body' });
    expect(error.message).toBe(`GET ${STATUS_PATH} answered code 0 with a bad ${says}`);
  });

  it('treats null in an optional field as absent, keeps unknown platforms and statuses, freezes every level', async () => {
    const account = { accountId: 'a1', platform: 'mastodon', platformUid: 'u1', displayName: 'n', extra: 1 };
    const { client: c } = faked(() =>
      ok({
        ...SESSION,
        status: 'cancelled',
        errorCode: null,
        accountId: null,
        accounts: [account],
        more: {},
      }),
    );
    const { session } = await getAuthStatus(c, ASK);
    expect(session).toEqual({
      ...SESSION,
      status: 'cancelled',
      accounts: [{ accountId: 'a1', platform: 'mastodon', platformUid: 'u1', displayName: 'n' }],
    });
    expect([session, session.accounts, session.accounts?.[0]].every((v) => Object.isFrozen(v))).toBe(true);
  });

  it('completes a session with 200,000 levels of nesting in an unknown field, and the waiter gets the same', async () => {
    const depth = 200_000;
    const text = `{"code":0,"message":"ok","data":{"sessionId":"sess-1","status":"completed","requiresSelection":false,"extra":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const { client: c } = faked(() => ({ text }));
    const { session } = await getAuthStatus(c, ASK);
    expect(session).toEqual({ sessionId: 'sess-1', status: 'completed', requiresSelection: false });
    expect(await waitForAuth(c, { ...ASK, timeoutMs: 30_000 })).toEqual(session);
  });
});

/** A body from a template, with `@KEY@` replaced by raw JSON text (so escapes reach the client as sent). */
const withKey = (template: unknown, keyJson: string): Answer => ({
  text: JSON.stringify(template).replaceAll('@KEY@', keyJson),
});
const hex = (c: string) => (c.codePointAt(0) ?? 0).toString(16).padStart(4, '0');
/** A key with a solidus, a quote and a backslash, so that every JSON escape has something to escape. */
const ODD_KEY = 'CANARY/9f3c"Q\\SECRET';

describe('the key is redacted from every decoded string, whatever the JSON escapes', () => {
  test.each([
    ['every character as a lower-case \\u escape', CANARY, [...CANARY].map((c) => `\\u${hex(c)}`).join('')],
    [
      'every character as an upper-case \\u escape',
      CANARY,
      [...CANARY].map((c) => `\\u${hex(c).toUpperCase()}`).join(''),
    ],
    [
      'every other character escaped',
      CANARY,
      [...CANARY].map((c, i) => (i % 2 ? `\\u${hex(c)}` : c)).join(''),
    ],
    ['an escaped solidus (\\/), as PHP encoders write it', ODD_KEY, 'CANARY\\/9f3c\\"Q\\\\SECRET'],
    ['a quote and a backslash as \\u escapes', ODD_KEY, 'CANARY/9f3c\\u0022Q\\u005cSECRET'],
  ])('%s', async (_name, key, keyJson) => {
    // The escaped text must not contain the key: else a raw-text redaction would pass this test.
    expect(keyJson).not.toContain(key);
    expect(JSON.parse(`"${keyJson}"`)).toBe(key);
    const account = { platform: 'douyin', platformUid: '@KEY@', displayName: 'Name @KEY@', account: '@KEY@' };
    const answers = [
      withKey(
        {
          code: 0,
          message: 'ok @KEY@',
          requestId: 'id-@KEY@',
          data: {
            sessionId: 'sess-1',
            status: 'completed',
            requiresSelection: false,
            accountId: '@KEY@',
            accountIds: ['@KEY@'],
            accounts: [{ ...account, accountId: 'a-@KEY@', avatarUrl: 'https://cdn.example/@KEY@.png' }],
            selectableAccounts: [{ ...account, parentPlatformUid: '@KEY@' }],
          },
        },
        keyJson,
      ),
      withKey({ code: 15039, message: 'bad key @KEY@', data: {}, requestId: 'req-@KEY@' }, keyJson),
      withKey(
        {
          code: 0,
          data: { ...STARTED, url: 'https://example.com/@KEY@', authInstructions: { 'en-US': '@KEY@' } },
        },
        keyJson,
      ),
    ];
    const fake = fakeFetch((_request, index) => answers[index] as Answer);
    const c = createAitoearnClient({ apiKey: key, baseUrl: 'http://127.0.0.1:9', fetch: fake.fetch });
    const result = await getAuthStatus(c, ASK);
    const error = await caught(() => getAuthStatus(c, ASK));
    const start = await startAuth(c, ASK);
    expect(result.session.accounts?.[0]?.displayName).toBe('Name [redacted]');
    expect(result.session.selectableAccounts?.[0]?.parentPlatformUid).toBe('[redacted]');
    expect(result.requestId).toBe('id-[redacted]');
    expect(error).toMatchObject({ serverMessage: 'bad key [redacted]', requestId: 'req-[redacted]' });
    expect(start).toMatchObject({
      url: 'https://example.com/[redacted]',
      authInstructions: { 'en-US': '[redacted]' },
    });
    expectNoKey(result, start, error);
  });

  it('whatever its letter case, and percent-encoded in a URL, partly or wholly', async () => {
    const partly = CANARY.replaceAll('-', '%2D');
    const wholly = [...CANARY].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    const account = {
      accountId: 'a1',
      platform: 'douyin',
      platformUid: 'u1',
      displayName: CANARY.toUpperCase(),
    };
    const { client: c } = faked((_r, index) =>
      index === 0
        ? ok({
            ...SESSION,
            accounts: [{ ...account, avatarUrl: `https://cdn.example/${wholly}/a.png?k=${partly}` }],
          })
        : new Response(
            JSON.stringify({ code: 15039, message: `no such key ${CANARY.toUpperCase()}`, data: {} }),
            {
              headers: { 'x-request-id': CANARY.toLowerCase() },
            },
          ),
    );
    const { session } = await getAuthStatus(c, ASK);
    expect(session.accounts?.[0]).toMatchObject({
      displayName: '[redacted]',
      avatarUrl: 'https://cdn.example/[redacted]/a.png?k=[redacted]',
    });
    expect(await caught(() => getAuthStatus(c, ASK))).toMatchObject({
      serverMessage: 'no such key [redacted]',
      requestId: '[redacted]',
    });
  });

  it('in a redirect to a host name made of the key, lower-cased by the URL parser', async () => {
    const server = await serve((_req, res) =>
      res.writeHead(302, { Location: `https://${CANARY}.evil.example/collect` }).end(),
    );
    const error = await caught(() => getAuthStatus(client({ baseUrl: server.url }), ASK));
    expect(error.message).toContain('a redirect to https://[redacted].evil.example,');
  });
});

describe('abort and timeout', () => {
  it('rejects with the reason of an already-aborted signal and sends nothing', async () => {
    const { client: c, requests } = faked(() => ok(SESSION));
    const reason = new Error('caller gave up');
    expect(await caught(() => getAuthStatus(c, { ...ASK, signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(await caught(() => startAuth(c, { ...ASK, signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(requests).toEqual([]);
  });

  // A 60 s request timeout and a 5 s test timeout: only the abort itself can settle this in time.
  it('rejects with the reason when aborted during a hanging request', { timeout: 5000 }, async () => {
    const arrived = deferred<void>();
    const server = await serve(() => arrived.resolve());
    const controller = new AbortController();
    const reason = new Error('stop now');
    const pending = caught(() =>
      getAuthStatus(client({ baseUrl: server.url, requestTimeoutMs: 60_000 }), {
        ...ASK,
        signal: controller.signal,
      }),
    );
    await arrived.promise;
    controller.abort(reason);
    expect(await pending).toBe(reason);
  });

  // Item 5 of issue 16: a custom fetch that ignores its signal must not leave a locked, pending stream.
  it('cancels the body of a timed-out request, whether its headers came before or after the timeout', async () => {
    const cancelled: string[] = [];
    const stalled = (name: string) =>
      new Response(new ReadableStream({ cancel: () => void cancelled.push(name) }), { status: 200 });
    const late = deferred<Response>();
    const { client: c } = faked((_r, index) => (index === 0 ? stalled('headers first') : late.promise), {
      requestTimeoutMs: 50,
    });
    const first = await caught(() => startAuth(c, ASK));
    expect(first).toMatchObject({ reason: 'timeout' });
    expect(first.message).toBe(`GET ${START_PATH} timed out after 50 ms`);
    expect(await caught(() => getAuthStatus(c, ASK))).toMatchObject({ reason: 'timeout' });
    const response = stalled('headers late');
    late.resolve(response);
    await vi.waitFor(() => expect(cancelled).toEqual(['headers first', 'headers late']));
    await vi.waitFor(() => expect(response.body?.locked).toBe(false));
  });
});

/**
 * Answers with `total` bytes of JSON whitespace, written with backpressure (so what the server managed to
 * write is what the client read, plus the sockets' buffers), and reports how far it got.
 */
function endlessBody(total: number, status = 200, contentLength?: number) {
  const report = { written: 0, finished: false, closed: Promise.resolve() };
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const respond: Respond = (_req, res) => {
    let gone = false;
    report.closed = new Promise((resolve) => res.once('close', resolve));
    res.once('close', () => {
      gone = true;
    });
    res.writeHead(status, {
      'Content-Type': 'application/json',
      ...(contentLength ? { 'Content-Length': contentLength } : {}),
    });
    const pump = () => {
      while (!gone && report.written < total) {
        report.written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
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

  test.each([
    [
      'a 64 MB body past 1 MiB: a transient too-large',
      200,
      { reason: 'too-large', httpStatus: 200 },
      'answered a body over 1 MiB (real answers are a few KB)',
    ],
    [
      "a gateway's 64 MB error page, unread: an http-status",
      502,
      { reason: 'http-status', httpStatus: 502 },
      'answered HTTP 502 (application/json); the API answers everything with 200',
    ],
  ])('stops reading %s error, the connection closed', async (_name, status, fields, says) => {
    const { report, respond } = endlessBody(TOTAL, status);
    const server = await serve(respond);
    const error = await caught(() => getAuthStatus(client({ baseUrl: server.url }), ASK));
    expect(error).toMatchObject(fields);
    expect(error.message).toBe(`GET ${STATUS_PATH} ${says}`);
    expect(isTransient(error)).toBe(true);
    await report.closed;
    expect(report.finished).toBe(false);
    expect(report.written).toBeLessThan(TOTAL / 2);
  });

  it('refuses a Content-Length over 1 MiB without reading the body', async () => {
    // The server sends 64 KB of a declared 5 MB and then waits: only not reading can settle this.
    const { report, respond } = endlessBody(64 * 1024, 200, 5_000_000);
    const server = await serve(respond);
    const error = await caught(() =>
      getAuthStatus(client({ baseUrl: server.url, requestTimeoutMs: 60_000 }), ASK),
    );
    expect(error).toMatchObject({ reason: 'too-large' });
    await report.closed;
  });

  it('reads an answer just under 1 MiB, in many chunks', async () => {
    const text = JSON.stringify(statusBody({ ...SESSION, padding: 'x'.repeat(1024 * 1024 - 300) }));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024 * 1024);
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      for (let i = 0; i < text.length; i += 10_000) res.write(text.slice(i, i + 10_000));
      res.end();
    });
    expect((await getAuthStatus(client({ baseUrl: server.url }), ASK)).session).toEqual(SESSION);
  });
});

describe('what a custom fetch throws', () => {
  it('keeps only its redacted text and code as the cause: the request it may carry holds the key', async () => {
    const c = client({
      fetch: async (request) => {
        throw Object.assign(new TypeError(`fetch failed for ${request.headers.get('x-api-key')}`), {
          request,
          code: 'ECONNRESET',
        });
      },
    });
    const error = await caught(() => getAuthStatus(c, ASK));
    expect(error).toMatchObject({ reason: 'network', cause: { code: 'ECONNRESET' } });
    expect(String((error.cause as Error).message)).toContain('fetch failed for [redacted]');
    expect(inspect(error, { showHidden: true, depth: 8 })).not.toContain(NEEDLE);
  });
});

describe('server text in errors', () => {
  it('is cut to a readable length, the full length named', async () => {
    const { client: c } = faked(() => ({
      text: JSON.stringify({ code: 15039, message: 'x'.repeat(900_000), data: {} }),
    }));
    const error = await caught(() => getAuthStatus(c, ASK));
    expect((error as AitoearnApiError).serverMessage).toHaveLength(1000 + '… (900000 characters)'.length);
    expect(error.message.length).toBeLessThan(1200);
  });

  it('a malformed percent escape beside an encoded key does not shield it from redaction', async () => {
    const encoded = `${CANARY.slice(0, -1)}%${CANARY.charCodeAt(CANARY.length - 1).toString(16)}%FF`;
    const { client: c } = faked(() => ({
      text: JSON.stringify({ code: 15039, message: `key=${encoded}`, data: {} }),
    }));
    const error = await caught(() => getAuthStatus(c, ASK));
    expect(error.message).not.toContain(NEEDLE);
  });
});

describe('the API key never leaks, and nothing is left behind', () => {
  it('is absent from every error and client of this file', () => {
    // The tables above must have run and thrown: guards against a vacuous pass.
    expect(seen.length).toBeGreaterThan(statusInputRows.length + classificationRows.length);
    expectNoKey(...seen);
    for (const created of seen) expect(inspect(created, { showHidden: true })).not.toContain(NEEDLE);
  });

  it('the leak check itself finds a key in a cause', () => {
    const leaky = new AitoearnTransportError('network', 'fine', {}, { cause: new Error(`key ${CANARY}`) });
    expect(views(leaky).some((view) => view.includes(NEEDLE))).toBe(true);
  });

  it('leaves no more sockets, servers or timers than at the start', async () => {
    await Promise.all(openServers.splice(0).map((server) => server.close()));
    // Client sockets close a moment after the servers end them (vi.waitFor would count its own timer).
    const settled = () => countResources().every((n, i) => n <= (resourcesAtStart[i] ?? 0));
    for (let i = 0; i < 100 && !settled(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(countResources()).toEqual(resourcesAtStart);
  });
});
