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
  getAuthStatus,
  isTransient,
  startAuth,
  waitForAuth,
} from '../src/index.js';
import { CANARY, expectNoKey, NEEDLE } from './helpers/canary.js';
import { errorBody, json, startServer, statusBody, type TestServer } from './helpers/http-server.js';
import { liveResources } from './helpers/leaks.js';

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

type Answer = Response | { readonly text: string };
/** A `fetch` to inject: answers request number `index` (text as a JSON 200) and records the requests. */
function fakeFetch(answer: (request: Request, index: number) => Answer | Promise<Answer>) {
  const requests: Request[] = [];
  const fetch = async (request: Request) => {
    const given = await answer(request, requests.push(request) - 1);
    const headers = { 'content-type': 'application/json' };
    return given instanceof Response ? given : new Response(given.text, { headers });
  };
  return { fetch, requests };
}
/** A successful answer's body around `data`. */
const ok = (data: unknown, extra = {}) => ({ text: JSON.stringify({ code: 0, data, ...extra }) });

/** Every error and client of this file, for the key-leak test at the end. */
const seen: unknown[] = [];
const servers: TestServer[] = [];
type Respond = Parameters<typeof startServer>[0];
async function serve(handler: Respond): Promise<TestServer> {
  servers.push(await startServer(handler));
  return servers.at(-1) as TestServer;
}
afterEach(() => Promise.all(servers.splice(0).map((server) => server.close())));

function client(options: Partial<AitoearnClientOptions> = {}): AitoearnClient {
  const created = createAitoearnClient({ apiKey: CANARY, baseUrl: 'http://127.0.0.1:9', ...options });
  seen.push(created);
  return created;
}

/** A client (with `options`) whose `fetch` answers request number `index` with `answer`. */
function faked(answer: Parameters<typeof fakeFetch>[0], options: Partial<AitoearnClientOptions> = {}) {
  const fake = fakeFetch(answer);
  return { client: client({ fetch: fake.fetch, ...options }), requests: fake.requests };
}
const answering = (answer: Answer) => faked(() => answer).client;
/** What getAuthStatus threw for a client with `options`. */
const statusError = (options: Partial<AitoearnClientOptions>) =>
  caught(() => getAuthStatus(client(options), ASK));

/** What `work` threw (recorded for the leak test); fails the test if it resolved. */
async function caught(work: () => unknown): Promise<Error> {
  const resolved = () => Promise.reject(new Error('expected a rejection, got a result'));
  const error = await Promise.resolve()
    .then(work)
    .then(resolved, (e: Error) => e);
  seen.push(error);
  return error;
}

const countResources = () => ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'].map((kind) => liveResources(kind));
const resourcesAtStart: number[] = [];
beforeAll(() => void resourcesAtStart.push(...countResources()));

describe('getAuthStatus', () => {
  it('sends the key and language, and returns the session, the body requestId and the server Date', async () => {
    const headers = { 'x-request-id': 'req-header', Date: 'Wed, 21 Oct 2015 07:28:00 GMT' };
    const server = await serve((_req, res) =>
      json(res, statusBody(SESSION, { requestId: 'req-body' }), { headers }),
    );
    const result = await getAuthStatus(client({ baseUrl: `${server.url}/`, acceptLanguage: 'zh-CN' }), ASK);
    expect(result).toEqual({ session: SESSION, requestId: 'req-body', serverDateMs: 1445412480000 });
    expect(server.requests).toMatchObject([
      { method: 'GET', url: STATUS_PATH, headers: { 'x-api-key': CANARY, 'accept-language': 'zh-CN' } },
    ]);
  });

  it('takes the requestId from x-request-id when the body has none; no Date, no server time', async () => {
    const c = answering(new Response(ok(SESSION).text, { headers: { 'x-request-id': 'h-1' } }));
    expect(await getAuthStatus(c, ASK)).toEqual({
      session: SESSION,
      requestId: 'h-1',
      serverDateMs: undefined,
    });
  });

  it('reports a status outside 200–599 from a custom fetch as http-status, not network', async () => {
    const error = await caught(() => getAuthStatus(answering(Response.error()), ASK));
    expect(error).toMatchObject({ reason: 'http-status', httpStatus: 0 });
  });
});

// [call, field, the client options or the call's params, text the message shows ("!text": must not show)]
type Row = readonly [
  call: 'client' | 'status' | 'start',
  field: string,
  given: object | undefined,
  shows: string,
];
const r = (call: Row[0], field: string, v: unknown, shows = ''): Row => [call, field, { [field]: v }, shows];
const inputRows: Row[] = [
  ...['', '.', '..', 'a/b', 'a?b', 'a#b', '%2e%2e', 'a b', 'a\\b', 'ab\uD800', 7, undefined].map((id) =>
    r('status', 'sessionId', id, `got ${typeof id === 'string' ? JSON.stringify(id) : id}`),
  ),
  r('status', 'sessionId', 'a\tb', '"a\\tb"'),
  r('status', 'sessionId', 'a\u0000b', '"a\\u0000b"'),
  r('status', 'sessionId', 'a\u200bb', '"a\\u200bb"'),
  r('status', 'sessionId', 'a\u202eb', '"a\\u202eb"'),
  r('status', 'sessionId', 'x'.repeat(300), `"${'x'.repeat(60)}…" (300 characters)`),
  r('status', 'platform', '..', '"..": a dot segment'),
  r('status', 'platform', 'a/b', '"a/b": it contains "/"'),
  r('status', 'platform', 42, 'got 42'),
  r('status', 'signal', {}),
  r('client', 'apiKey', '', 'got ""'),
  r('client', 'apiKey', undefined, 'got undefined'),
  ...[`${CANARY} x`, `${CANARY}é`, `${CANARY}\n`].map((key) => r('client', 'apiKey', key, `!${NEEDLE}`)),
  r('client', 'apiKey', 739_190_731, '!7391'),
  r('client', 'baseUrl', 'not a url', '"not a url"'),
  r('client', 'baseUrl', 'http://example.com', 'unencrypted'),
  ...['https', 'http', 'ftp'].map((s) =>
    r('client', 'baseUrl', `${s}://user:pw-9f3c@example.com`, '!pw-9f3c'),
  ),
  r('client', 'baseUrl', 'https://example.com/?q=1', 'query'),
  r('client', 'baseUrl', 'https://example.com/#f', 'fragment'),
  r('client', 'baseUrl', 'ftp://x', '"ftp://x"'),
  r('client', 'baseUrl', 8080, 'got 8080'),
  ['client', 'site', { site: 'xx', baseUrl: undefined }, '"xx"'],
  ...[0, -5, Number.NaN, Number.POSITIVE_INFINITY].map((ms) =>
    r('client', 'requestTimeoutMs', ms, `got ${ms}`),
  ),
  r('client', 'requestTimeoutMs', '1000', 'got "1000"'),
  r('client', 'acceptLanguage', 'en-US\r\nX-Evil: 1', '"en-US\\r\\nX-Evil: 1"'),
  r('client', 'fetch', 'fetch', '"fetch"'),
  ['client', 'options', undefined, ''],
  r('start', 'platform', '', 'got ""'),
  r('start', 'platform', undefined),
  ...['cb', 'ftp://example.com/cb', 'javascript:alert(1)', 8080].map((url) =>
    r('start', 'callbackUrl', url, JSON.stringify(url)),
  ),
  r('start', 'callbackUrl', 'https://u:pw-9f3c@example.com/cb', '!pw-9f3c'),
  r('start', 'callbackUrl', `https://example.com/${'a'.repeat(3000)}`, 'longer than 2048'),
  ...[
    ['http://127.0.0.1:8080/done', '127.0.0.1'],
    ['http://localhost/done', 'localhost'],
    ['http://[::1]:3000/', '[::1]'],
    ['https://10.0.0.7/done', '10.0.0.7'],
    ['http://2130706433/', '127.0.0.1'],
    ['https://intranet/done', 'intranet'],
  ].map(([uri, host]) => r('start', 'redirectUri', uri, `not ${host}`)),
  r('start', 'redirectUri', 'data:text/html,hi', 'scheme data:'),
  r('start', 'groupId', '', 'got ""'),
  r('start', 'groupId', 'g\n1', '"g\\n1"'),
  r('start', 'groupId', 12, 'got 12'),
  ['start', 'params', undefined, ''],
];

describe('bad input is refused, naming the field and the value, before any request', () => {
  test.each(inputRows)('%s refuses %s: %j', async (call, field, given, shows) => {
    const fake = fakeFetch(() => ok(SESSION));
    const base = { apiKey: CANARY, baseUrl: 'http://127.0.0.1:9', fetch: fake.fetch };
    const error = await caught(() => {
      const created = createAitoearnClient(
        (call === 'client' ? given && { ...base, ...given } : base) as never,
      );
      const params = (call === 'client' ? ASK : given && { ...ASK, ...given }) as never;
      return call === 'start' ? startAuth(created, params) : getAuthStatus(created, params);
    });
    expect(error).toBeInstanceOf(AitoearnInputError);
    expect(error).toMatchObject({ field });
    expect(error.message).toContain(`Expected "${field}" to be `);
    if (shows.startsWith('!')) expect(error.message).not.toContain(shows.slice(1));
    else expect(error.message).toContain(shows);
    expect(fake.requests).toEqual([]);
  });

  it('refuses a client that createAitoearnClient did not make', async () => {
    const error = await caught(() => startAuth({ baseUrl: 'http://127.0.0.1:9', requestTimeoutMs: 1 }, ASK));
    expect(error).toMatchObject({ field: 'client' });
  });

  it('refuses the key given in place of the options or the client, naming only its length', async () => {
    const shown = `got a string of length ${CANARY.length} (not shown)`;
    expect((await caught(() => createAitoearnClient(CANARY as never))).message).toContain(shown);
    expect((await caught(() => getAuthStatus(CANARY as never, ASK))).message).toContain(shown);
  });

  test.each([
    [{ baseUrl: 'http://127.0.0.1:8080' }, 'http://127.0.0.1:8080'],
    [{ baseUrl: 'http://localhost:8080/' }, 'http://localhost:8080'],
    [{ baseUrl: 'http://[::1]:8080' }, 'http://[::1]:8080'],
    [{ baseUrl: new URL('https://example.com/prefix/') }, 'https://example.com/prefix'],
    [{ site: 'cn' as const }, 'https://aitoearn.cn'],
    [{}, 'https://aitoearn.ai'],
    [{ site: 'cn' as const, baseUrl: 'https://x.test' }, 'https://x.test'],
  ])('accepts %j as the base %s', (options, expected) => {
    expect(createAitoearnClient({ apiKey: CANARY, ...options }).baseUrl).toBe(expected);
  });
});

function html(status: number, type?: string): Respond {
  return (_q, res) => res.writeHead(status, type ? { 'content-type': type } : {}).end('<html>gateway</html>');
}
const cutShort =
  (headers: object): Respond =>
  (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', ...headers });
    res.write('{"code":0,"data":{"sessionId":"se');
    setTimeout(() => res.socket?.destroy(), 20);
  };
const DATE = { Date: 'Wed, 21 Oct 2015 07:28:00 GMT', 'X-RateLimit-Reset': String(1445412480000 + 7000) };
const BUSY = { 'Retry-After': '3', 'x-request-id': 'gw-1' };

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
  ).map(([code, kind, transient]): (typeof classificationRows)[number] => [
    `business ${code}`,
    (_req, res) => json(res, errorBody(code)),
    { code, kind, requestId: `req-${code}`, httpStatus: 200 },
    transient,
  ]),
  ...[401, 403, 404, 408, 429, 500, 502, 503, 504].map((status): (typeof classificationRows)[number] => [
    `HTTP ${status}`,
    html(status),
    { reason: 'http-status', httpStatus: status },
    status >= 408,
  ]),
  ['an HTML body with HTTP 200', html(200), { reason: 'bad-body' }, true],
  // A header's bytes 0x80–0x9f arrive as C1 controls, which a terminal acts on: escaped in the message.
  ['a C1 control in a header', html(502, 'x\x9b2J'), { message: expect.stringMatching(/x\\x9b2J/) }, true],
  // undici rejects the body read with TypeError "terminated" (cause: UND_ERR_SOCKET): a network failure.
  ['JSON short of its Content-Length', cutShort({ 'Content-Length': 200 }), { reason: 'network' }, true],
  ['chunked JSON cut short by a reset', cutShort({}), { reason: 'network' }, true],
  ['JSON ended cleanly, cut short', (_q, res) => res.end('{"code":0,"data":'), { reason: 'bad-body' }, true],
  ['an empty body with HTTP 200', (_q, res) => res.end(), { reason: 'bad-body' }, true],
  ['code 0 with data {}', (_q, res) => json(res, { code: 0, data: {} }), { reason: 'bad-body' }, true],
  ['a JSON body without code', (_q, res) => json(res, { data: SESSION }), { reason: 'bad-body' }, true],
  ['a connection reset before any answer', (req) => req.socket.destroy(), { reason: 'network' }, true],
  ['a server that never answers (requestTimeoutMs 1000)', () => {}, { reason: 'timeout' }, true],
  [
    "a gateway 503's Retry-After and request id",
    (_q, res) => res.writeHead(503, BUSY).end('busy'),
    { reason: 'http-status', httpStatus: 503, retryAfterMs: 3000, requestId: 'gw-1' },
    true,
  ],
  [
    'X-RateLimit-Reset (epoch ms) against the server Date',
    (_q, res) => json(res, errorBody(429), { headers: DATE }),
    { code: 429, retryAfterMs: 7000 },
    true,
  ],
];

describe('every answer from a real server is classified; the client never retries', () => {
  test.each(classificationRows)('%s', async (_name, respond, fields, transient) => {
    const server = await serve(respond);
    const error = await statusError({ baseUrl: server.url, requestTimeoutMs: 1000 });
    expect(error).toBeInstanceOf('code' in fields ? AitoearnApiError : AitoearnTransportError);
    expect(error).toMatchObject(fields);
    expect(error.message).toContain(`GET ${STATUS_PATH}`);
    expect(isTransient(error)).toBe(transient);
    expect(server.requests).toHaveLength(1);
  });

  // The 302 points at a host named after the key, which the URL parser lower-cases: redacted all the same.
  test.each([301, 302, 303, 307, 308])('a terminal %i to another origin is not followed', async (status) => {
    const target = await serve((_req, res) => json(res, statusBody(SESSION)));
    const to = status === 302 ? `https://${CANARY}.evil.example` : target.url;
    const origin = await serve((_req, res) => res.writeHead(status, { Location: `${to}/steal` }).end());
    const error = await statusError({ baseUrl: origin.url });
    expect(error).toMatchObject({ reason: 'redirect', httpStatus: status });
    const shown = status === 302 ? 'https://[redacted].evil.example' : target.url;
    expect(error.message).toContain(`GET ${STATUS_PATH} answered HTTP ${status}, a redirect to ${shown},`);
    expect(isTransient(error)).toBe(false);
    expect(target.requests).toHaveLength(0);
  });
});

describe('startAuth', () => {
  it('sends the platform, the key and the query, and resolves a frozen start with the request id', async () => {
    const server = await serve((_req, res) => json(res, statusBody(STARTED, { requestId: 'req-start' })));
    const query = {
      callbackUrl: 'http://127.0.0.1:8765/cb/abc?x=1',
      redirectUri: 'https://example.com/done',
    };
    const params = {
      platform: 'douyin',
      ...query,
      redirectUri: new URL(query.redirectUri),
      groupId: 'group-1',
    };
    const started = await startAuth(client({ baseUrl: server.url }), params);
    expect(started).toEqual({ ...STARTED, requestId: 'req-start' });
    expect(Object.isFrozen(started)).toBe(true);
    const sent = new URL(server.requests[0]?.url ?? '', server.url);
    expect(sent.pathname).toBe(START_PATH);
    expect(Object.fromEntries(sent.searchParams)).toEqual({ ...query, groupId: 'group-1' });
    expect(server.requests[0]?.headers['x-api-key']).toBe(CANARY);
  });

  it('sends no query when only the platform is given; keeps whichever instruction languages came, as plain text', async () => {
    const instructions = [
      undefined,
      { 'zh-CN': '只有中文' },
      { 'en-US': 'Scan\u001b[2J \u202eit\u200b\u00ad\u{E0041}\r\nthen' },
    ];
    const { client: c, requests } = faked((_r, i) => ok({ ...STARTED, authInstructions: instructions[i] }));
    expect('authInstructions' in (await startAuth(c, { platform: 'douyin' }))).toBe(false);
    expect(new URL(requests[0]?.url ?? '').search).toBe('');
    expect((await startAuth(c, ASK)).authInstructions).toEqual({ 'zh-CN': '只有中文' });
    expect((await startAuth(c, ASK)).authInstructions).toEqual({ 'en-US': 'Scan[2J it\nthen' });
  });

  test.each([
    [15032, 'platform-unsupported', 'platform not supported'],
    [12601, 'group-not-found', 'account group not found'],
    [400, 'validation', 'validation failed'],
  ] as const)('business %i is a terminal %s, its message without the query', async (code, kind, meaning) => {
    const c = answering({ text: JSON.stringify(errorBody(code)) });
    const error = await caught(() =>
      startAuth(c, { platform: 'douyin', callbackUrl: 'http://127.0.0.1:9/cb-77' }),
    );
    expect(error).toMatchObject({ code, kind, requestId: `req-${code}` });
    expect(error.message).toContain(`code ${code} (${meaning}) for GET ${START_PATH} `);
    expect(error.message).not.toContain('cb-77');
    expect(isTransient(error)).toBe(false);
  });

  // A tab in the host, a Cyrillic homoglyph (punycode), an upper-case scheme and a space; QR code images.
  test.each([
    ['https://good.example\t.evil.test/x', 'https://good.example.evil.test/x'],
    ['https://аitoearn.ai/x', 'https://xn--itoearn-1fg.ai/x'],
    ['HTTPS://Good.Example/a b', 'https://good.example/a%20b'],
    ['data:image/png;base64,iVBORw0KGgo=', 'data:image/png;base64,iVBORw0KGgo='],
    ['data:image/webp;base64,UklGRg==', 'data:image/webp;base64,UklGRg=='],
  ])('hands out the url %j as a browser opens it, %j', async (url, href) => {
    expect((await startAuth(answering(ok({ ...STARTED, url })), ASK)).url).toBe(href);
  });

  const NOT_OPENABLE = 'expected an http(s) URL or a data:image/ URL';
  test.each([
    ['javascript:alert(1)', NOT_OPENABLE],
    ['file:///etc/passwd', NOT_OPENABLE],
    ['data:text/html,<script>1</script>', NOT_OPENABLE],
    ['data:image/svg+xml,<svg onload=alert(1)>', NOT_OPENABLE],
    ['-https://example.com', NOT_OPENABLE],
    ['https://', 'expected a URL'],
    ['https://aitoearn.ai@evil.example/consent', 'expected a URL without a user name or password'],
    ['data:image/png,abc', 'expected a base64 data:image/ URL'],
    [`https://example.com/${'认'.repeat(8000)}`, 'expected a URL of at most 8192 characters'],
    [`https://example.com/${'a'.repeat(8192)}`, 'expected a URL of at most 8192 characters'],
    [`data:image/png;base64,${'A'.repeat(256 * 1024)}`, 'expected a URL of at most 262144 characters'],
  ])('refuses the url %s as a final refused-url', async (url, says) => {
    const error = await caught(() => startAuth(answering(ok({ ...STARTED, url })), ASK));
    expect(error).toMatchObject({ reason: 'refused-url' });
    expect(error.message).toContain(`answered code 0 with a bad "data.url": ${says}`);
    expect(isTransient(error)).toBe(false);
  });
});

type Call = 'status' | 'start';
/** A bad answer: `data` as given, or the call's good data with `change` in it; the message it gives. */
const raw = (call: Call, data: unknown, field: string, says: string) =>
  [call, data, `"${field}": expected ${says}`] as const;
const bad = (call: Call, change: object, field: string, says: string) =>
  raw(call, { ...(call === 'start' ? STARTED : SESSION), ...change }, `data.${field}`, says);
const RFC = 'an RFC 3339 date-time with an offset, got';
const BAD_DATES = ['1', '2030-01-01T00:00:00', '2030-01-01', '2030-13-01T00:00:00Z', '2026-02-30T00:00:00Z'];
describe('answers are read along the spec: wrong fields named (a transient bad-body), unknown fields dropped', () => {
  test.each([
    raw('start', undefined, 'data', 'an object, got nothing'),
    raw('start', {}, 'data.url', 'a string, got nothing'),
    bad('start', { sessionId: 5 }, 'sessionId', 'a string, got 5'),
    bad('start', { sessionId: '../x' }, 'sessionId', 'an id that is safe in a URL path, got "../x"'),
    bad('start', { authInstructions: 'x' }, 'authInstructions', 'an object, got "x"'),
    bad('status', { sessionId: 'sess-2' }, 'sessionId', 'the session asked for, "sess-1", got "sess-2"'),
    bad('status', { expiresAt: 1 }, 'expiresAt', 'a string, got 1'),
    bad('status', { requiresSelection: undefined }, 'requiresSelection', 'true or false, got nothing'),
    bad('status', { status: 2 }, 'status', 'a string, got 2'),
    bad('status', { errorCode: '15045' }, 'errorCode', 'a number, got "15045"'),
    bad('status', { accounts: 'all' }, 'accounts', 'an array, got "all"'),
    bad('status', { accounts: [{ accountId: 'a' }] }, 'accounts[0].platform', 'a string, got nothing'),
    bad('status', { accountIds: ['a', null] }, 'accountIds[1]', 'a string, got null'),
    raw('status', [SESSION], 'data', 'an object, got an array'),
    // The value shown is the server's, so the key is redacted from it too.
    raw('status', CANARY, 'data', 'an object, got "[redacted]"'),
    bad('status', { accounts: `${CANARY}!` }, 'accounts', 'an array, got "[redacted]!"'),
    ...[...BAD_DATES, '2030-01-01T24:00:00Z'].map((expiresAt) =>
      bad('status', { expiresAt }, 'expiresAt', `${RFC} "${expiresAt}"`),
    ),
    bad('start', { expiresAt: '2030-01-01' }, 'expiresAt', `${RFC} "2030-01-01"`),
  ])('%s: %j', async (call, data, says) => {
    const c = answering(ok(data, { requestId: 'r-1' }));
    const error = await caught(() => (call === 'start' ? startAuth(c, ASK) : getAuthStatus(c, ASK)));
    expect(error).toMatchObject({ reason: 'bad-body', requestId: 'r-1' });
    const path = call === 'start' ? START_PATH : STATUS_PATH;
    expect(error.message).toBe(`GET ${path} answered code 0 with a bad ${says}`);
    expect(isTransient(error)).toBe(true);
  });

  const GOOD_DATES = ['2030-01-01T08:00:00+08:00', '2030-01-01t00:00:00.5z', '0099-12-31T23:59:59Z'];
  test.each(GOOD_DATES)('accepts the expiresAt %s', async (expiresAt) => {
    const c = faked((r) => ok({ ...(r.url.includes('/status/') ? SESSION : STARTED), expiresAt })).client;
    expect((await getAuthStatus(c, ASK)).session.expiresAt).toBe(expiresAt);
    expect((await startAuth(c, ASK)).expiresAt).toBe(expiresAt);
  });

  it('treats null in an optional field as absent, keeps unknown platforms and statuses, freezes every level', async () => {
    const account = { accountId: 'a1', platform: 'mastodon', platformUid: 'u1', displayName: 'n' };
    const data = {
      ...SESSION,
      status: 'cancelled',
      errorCode: null,
      accounts: [{ ...account, x: 1 }],
      more: {},
    };
    const { session } = await getAuthStatus(answering(ok(data)), ASK);
    expect(session).toEqual({ ...SESSION, status: 'cancelled', accounts: [account] });
    expect([session, session.accounts, session.accounts?.[0]].every((v) => Object.isFrozen(v))).toBe(true);
  });

  it('completes a session with 200,000 levels of nesting in an unknown field, for the waiter too', async () => {
    const session = { sessionId: 'sess-1', status: 'completed', requiresSelection: false };
    const nested = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const c = answering({ text: `{"code":0,"data":${JSON.stringify(session).slice(0, -1)},"x":${nested}}}` });
    expect((await getAuthStatus(c, ASK)).session).toEqual(session);
    expect(await waitForAuth(c, { ...ASK, timeoutMs: 30_000 })).toEqual(session);
  });
});

const hex = (c: string, upper = false) => {
  const digits = (c.codePointAt(0) ?? 0).toString(16).padStart(4, '0');
  return `\\u${upper ? digits.toUpperCase() : digits}`;
};
/** A key with a solidus, a quote and a backslash, so that every JSON escape has something to escape. */
const ODD_KEY = 'CANARY/9f3c"Q\\SECRET';

describe('the key is redacted from every decoded string, whatever the JSON escapes', () => {
  test.each([
    ['every character as a lower-case \\u escape', CANARY, [...CANARY].map((c) => hex(c)).join('')],
    [
      'every other one as an upper-case \\u escape',
      CANARY,
      [...CANARY].map((c, i) => (i % 2 ? hex(c, true) : c)).join(''),
    ],
    ['an escaped solidus (\\/), as PHP encoders write it', ODD_KEY, 'CANARY\\/9f3c\\"Q\\\\SECRET'],
    ['a quote and a backslash as \\u escapes', ODD_KEY, 'CANARY/9f3c\\u0022Q\\u005cSECRET'],
  ])('%s', async (_name, key, keyJson) => {
    // The escaped text must not contain the key: else a raw-text redaction would pass this test.
    expect(keyJson).not.toContain(key);
    expect(JSON.parse(`"${keyJson}"`)).toBe(key);
    const account = { platform: 'douyin', platformUid: '@K@', displayName: 'Name @K@', account: '@K@' };
    const accounts = [{ ...account, accountId: 'a-@K@', avatarUrl: 'https://cdn.example/@K@.png' }];
    const data = { ...SESSION, accountId: '@K@', accountIds: ['@K@'], accounts };
    const selectableAccounts = [{ ...account, parentPlatformUid: '@K@' }];
    const answers = [
      { code: 0, message: 'ok @K@', requestId: 'id-@K@', data: { ...data, selectableAccounts } },
      { code: 15039, message: 'bad key @K@', data: {}, requestId: 'req-@K@' },
      { code: 0, data: { ...STARTED, url: 'https://example.com/@K@', authInstructions: { 'en-US': '@K@' } } },
    ].map((body) => ({ text: JSON.stringify(body).replaceAll('@K@', keyJson) }));
    const c = faked((_request, index) => answers[index] as Answer, { apiKey: key }).client;
    const result = await getAuthStatus(c, ASK);
    const error = await caught(() => getAuthStatus(c, ASK));
    const start = await startAuth(c, ASK);
    const redacted = { displayName: 'Name [redacted]', accountId: 'a-[redacted]' };
    expect(result.session.accounts?.[0]).toMatchObject(redacted);
    expect(result.session.selectableAccounts?.[0]?.parentPlatformUid).toBe('[redacted]');
    expect(result.requestId).toBe('id-[redacted]');
    expect(error).toMatchObject({ serverMessage: 'bad key [redacted]', requestId: 'req-[redacted]' });
    const url = 'https://example.com/[redacted]';
    expect(start).toMatchObject({ url, authInstructions: { 'en-US': '[redacted]' } });
    expectNoKey(result, start, error);
  });

  it('also where cleaning the text rejoins it (a zero-width space); a URL that parsing rejoins is refused', async () => {
    const [head, tail] = [CANARY.slice(0, 4), CANARY.slice(4)];
    const [text, url] = [`${head}\u200b${tail}`, `https://example.com/?k=${head}\t${tail}`];
    const answers = [ok({ ...STARTED, authInstructions: { 'en-US': text } }), ok({ ...STARTED, url })];
    const c = faked((_r, i) => answers[i] as Answer).client;
    expect(await startAuth(c, ASK)).toMatchObject({ authInstructions: { 'en-US': '[redacted]' } });
    expect(await caught(() => startAuth(c, ASK))).toMatchObject({ reason: 'refused-url' });
  });

  it('whatever its letter case, percent-encoded partly or wholly, and beside a malformed escape', async () => {
    const partly = CANARY.replaceAll('-', '%2D');
    const wholly = [...CANARY].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    const lastEncoded = `${CANARY.slice(0, -1)}%${CANARY.charCodeAt(CANARY.length - 1).toString(16)}%FF`;
    const avatarUrl = `https://cdn.example/${wholly}/a.png?k=${partly}`;
    const account = { accountId: 'a1', platform: 'douyin', platformUid: 'u1', avatarUrl };
    const accounts = [{ ...account, displayName: CANARY.toUpperCase() }];
    const refused = JSON.stringify({ code: 15039, message: `no ${CANARY.toUpperCase()} ${lastEncoded}` });
    const headers = { 'x-request-id': CANARY.toLowerCase() };
    const answers = [ok({ ...SESSION, accounts }), new Response(refused, { headers })];
    const { client: c } = faked((_r, index) => answers[index] as Answer);
    expect((await getAuthStatus(c, ASK)).session.accounts?.[0]).toMatchObject({
      displayName: '[redacted]',
      avatarUrl: 'https://cdn.example/[redacted]/a.png?k=[redacted]',
    });
    const error = await caught(() => getAuthStatus(c, ASK));
    expect(error).toMatchObject({ serverMessage: 'no [redacted] [redacted]%FF', requestId: '[redacted]' });
  });

  it("keeps only a custom fetch's redacted text and code as the cause: the request it may carry holds the key", async () => {
    const fetch = async (request: Request) => {
      const text = `fetch failed for ${request.headers.get('x-api-key')}`;
      throw Object.assign(new TypeError(text), { request, code: 'ECONNRESET' });
    };
    const error = await statusError({ fetch });
    expect(error).toMatchObject({ reason: 'network', cause: { code: 'ECONNRESET' } });
    expect(String((error.cause as Error).message)).toContain('fetch failed for [redacted]');
    expect(inspect(error, { showHidden: true, depth: 8 })).not.toContain(NEEDLE);
    // A code that is not a string (here the request itself) is not kept; one that is, is redacted.
    for (const code of [{ request: 'x' }, `E_${CANARY}`]) {
      const fetch = async () => Promise.reject(Object.assign(new Error('failed'), { code }));
      const { cause } = await statusError({ fetch });
      expect((cause as { code?: unknown }).code).toBe(typeof code === 'string' ? 'E_[redacted]' : undefined);
    }
  });

  it('cuts server text to a readable length, naming the full length', async () => {
    const c = answering({ text: JSON.stringify({ code: 15039, message: 'x'.repeat(900_000), data: {} }) });
    const error = await caught(() => getAuthStatus(c, ASK));
    expect((error as AitoearnApiError).serverMessage).toHaveLength(1000 + '… (900000 characters)'.length);
    expect(error.message.length).toBeLessThan(1200);
  });
});

describe('abort and timeout', () => {
  it('rejects with the reason of an already-aborted signal and sends nothing', async () => {
    const { client: c, requests } = faked(() => ok(SESSION));
    const signal = AbortSignal.abort(new Error('caller gave up'));
    expect(await caught(() => getAuthStatus(c, { ...ASK, signal }))).toBe(signal.reason);
    expect(await caught(() => startAuth(c, { ...ASK, signal }))).toBe(signal.reason);
    expect(requests).toEqual([]);
  });

  // A 60 s request timeout and a 5 s test timeout: only the abort itself can settle this in time.
  it('rejects with the reason when aborted during a hanging request', { timeout: 5000 }, async () => {
    const server = await serve(() => {});
    const controller = new AbortController();
    const c = client({ baseUrl: server.url, requestTimeoutMs: 60_000 });
    const pending = caught(() => getAuthStatus(c, { ...ASK, signal: controller.signal }));
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    controller.abort(new Error('stop now'));
    expect(await pending).toBe(controller.signal.reason);
  });

  // A custom fetch that ignores its signal must not leave a locked, pending stream.
  it('cancels the body of a timed-out request, whether its headers came before or after the timeout', async () => {
    const cancelled: string[] = [];
    const stalled = (name: string) =>
      new Response(new ReadableStream({ cancel: () => void cancelled.push(name) }));
    let deliver = (_: Response) => {};
    const late = new Promise<Response>((resolve) => {
      deliver = resolve;
    });
    const { client: c } = faked((_r, i) => (i === 0 ? stalled('headers first') : late), {
      requestTimeoutMs: 50,
    });
    const first = await caught(() => startAuth(c, ASK));
    expect(first).toMatchObject({ reason: 'timeout' });
    expect(first.message).toBe(`GET ${START_PATH} timed out after 50 ms`);
    expect(await caught(() => getAuthStatus(c, ASK))).toMatchObject({ reason: 'timeout' });
    const response = stalled('headers late');
    deliver(response);
    await vi.waitFor(() => expect(cancelled).toEqual(['headers first', 'headers late']));
    await vi.waitFor(() => expect(response.body?.locked).toBe(false));
  });
});

/** Writes `total` bytes of JSON whitespace with backpressure (so that the written is what the client read). */
function endlessBody(total: number, status = 200, length?: number) {
  const report = { written: 0, finished: false, closed: Promise.resolve() };
  const respond: Respond = (_req, res) => {
    report.closed = new Promise((resolve) => res.once('close', resolve));
    const headers = { 'Content-Type': 'application/json', ...(length && { 'Content-Length': length }) };
    res.writeHead(status, headers);
    const pump = () => {
      while (!res.destroyed && report.written < total) {
        report.written += 64 * 1024;
        if (!res.write(Buffer.alloc(64 * 1024, 0x20))) return void res.once('drain', pump);
      }
      if (!res.destroyed && length === undefined) {
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
  const TOO_LARGE = 'answered a body over 1 MiB (real answers are a few KB)';
  // A declared 5 MB (Content-Length) comes as 64 KB and then a wait: only not reading can settle that.
  test.each([
    [200, undefined, 'too-large', TOO_LARGE],
    [502, undefined, 'http-status', 'answered HTTP 502 (application/json); the API answers all with 200'],
    [200, 5_000_000, 'too-large', TOO_LARGE],
  ])(
    'stops reading with HTTP %i (Content-Length %s), the connection closed',
    async (status, length, reason, says) => {
      const total = length ? 64 * 1024 : TOTAL;
      const { report, respond } = endlessBody(total, status, length);
      const server = await serve(respond);
      const error = await statusError({ baseUrl: server.url, requestTimeoutMs: 60_000 });
      expect(error).toMatchObject({ reason, httpStatus: status });
      expect(error.message).toBe(`GET ${STATUS_PATH} ${says}`);
      expect(isTransient(error)).toBe(true);
      await report.closed;
      expect(report.finished).toBe(false);
      expect(report.written).toBeLessThan(TOTAL / 2);
    },
  );

  it('reads an answer just under 1 MiB, in many chunks', async () => {
    const text = JSON.stringify(statusBody({ ...SESSION, padding: 'x'.repeat(1024 * 1024 - 300) }));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024 * 1024);
    const server = await serve((_req, res) => {
      for (let i = 0; i < text.length; i += 10_000) res.write(text.slice(i, i + 10_000));
      res.end();
    });
    expect((await getAuthStatus(client({ baseUrl: server.url }), ASK)).session).toEqual(SESSION);
  });
});

describe('the API key never leaks, and nothing is left behind', () => {
  it('is absent from every error and client of this file', () => {
    // The tables above must have run and thrown: guards against a vacuous pass.
    expect(seen.length).toBeGreaterThan(inputRows.length + classificationRows.length);
    expectNoKey(...seen);
    for (const created of seen) expect(inspect(created, { showHidden: true })).not.toContain(NEEDLE);
  });

  it('leaves no more sockets, servers or timers than at the start', async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    // Client sockets close a moment after the servers end them (vi.waitFor would count its own timer).
    const settled = () => countResources().every((n, i) => n <= (resourcesAtStart[i] ?? 0));
    for (let i = 0; i < 100 && !settled(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    // No more than at the start: a timer another test left running may have ended meanwhile.
    expect(countResources().map((n, i) => Math.max(0, n - (resourcesAtStart[i] ?? 0)))).toEqual([0, 0, 0]);
  });
});
