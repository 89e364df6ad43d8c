import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_CODES, SUCCESS_MESSAGE } from '../codes.js';
import { AitoearnError, AitoearnInputError, named } from '../errors.js';
import { MAX_BODY_BYTES, pagePolicy, readBody } from '../local-server.js';
import { START_PATH, STATUS_PATH } from '../operations.js';
import { isPlatform } from '../platforms.js';
import { printable, show } from '../text.js';
import type { AuthStart } from '../types.js';
import { DOMAIN_NAME, refuse } from '../validate.js';
import { crossSiteReason, describeBinding, hostGuard, urlHost } from './guard.js';
import * as T from './options.js';
import { consentPage, endingPage, resultPage } from './pages.js';
import * as S from './sessions.js';

/** One line of a traffic log, e.g. `GET /api/v2/channels/accounts/auth/douyin 200 code=0 2ms`; never the query. */
export const formatSandboxRequest = ({ method, path, httpStatus: s, code, durationMs }: T.SandboxRequest) =>
  `${method} ${printable(path)} ${code === undefined ? s : `${s} code=${code}`} ${Math.round(durationMs)}ms`;

const LISTEN_FAILURES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is already in use (choose another port, or port 0 for a free one)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'this machine has no such address',
};

/** The port is taken, or the address cannot be bound: `startSandbox` rejects with this. */
export class SandboxListenError extends AitoearnError {
  static {
    named(SandboxListenError, 'SandboxListenError');
  }
  /** The system error code, such as `EADDRINUSE` or `EADDRNOTAVAIL`. */
  declare readonly code: string;
  declare readonly host: string;
  declare readonly port: number;

  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    const code = cause.code ?? 'UNKNOWN';
    const why = LISTEN_FAILURES[code] ?? cause.message;
    super(`Cannot listen on ${urlHost(host)}:${port}: ${why} (${code}).`, { cause });
    Object.assign(this, { code, host, port });
  }
}

/** Thrown by `createSession()` when the sandbox holds `maxSessions` unexpired sessions (HTTP: 429). */
export class SandboxFullError extends AitoearnError {
  static {
    named(SandboxFullError, 'SandboxFullError');
  }
  /** How long until the earliest session expires and frees a place, in milliseconds. */
  declare readonly retryAfterMs: number;

  constructor(maxSessions: number, retryAfterMs: number) {
    super(`The sandbox is full: "maxSessions" (${maxSessions}) reached; one expires in ${retryAfterMs} ms.`);
    Object.assign(this, { retryAfterMs });
  }
}

/** The codes the sandbox answers; the compiler checks that `API_CODES` holds the real text of each. */
type Answered = 0 | 400 | 401 | 12601 | 15032 | 15039 | 15040;
/** What the sandbox tells the person for every platform (the real server has a text per platform). */
const INSTRUCTIONS = Object.freeze({
  'en-US': 'Open the link and approve or deny on the AiToEarn sandbox consent page.',
  'zh-CN': '请打开链接，在 AiToEarn 沙盒授权页面上批准或拒绝。',
});
// Stricter than upstream on purpose: the callback's origin goes into a CSP header, where a `;` or a space in
// a host name (the URL parser allows both in some forms) would start another directive.
const CSP_SAFE_HOST = /^([a-z0-9-]+(\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])$/;

/**
 * The start query as upstream's zod schema checks it (each name once, `redirectUri` with a domain name as
 * `httpUrl()`), URLs normalised so that the form and the CSP agree; undefined where upstream answers 400.
 */
function startQuery(search: URLSearchParams): (S.BrowserTargets & { groupId: string }) | undefined {
  const url = (name: string, host: RegExp) => {
    if (!search.has(name)) return undefined;
    const text = search.get(name)?.trim() ?? '';
    const parsed = URL.canParse(text) ? new URL(text) : undefined;
    return parsed && /^https?:$/.test(parsed.protocol) && host.test(parsed.hostname) ? parsed.href : null;
  };
  const [callbackUrl, redirectUri] = [url('callbackUrl', CSP_SAFE_HOST), url('redirectUri', DOMAIN_NAME)];
  const twice = ['callbackUrl', 'redirectUri', 'groupId'].some((name) => search.getAll(name).length > 1);
  if (twice || callbackUrl === null || redirectUri === null) return undefined;
  return { callbackUrl, redirectUri, groupId: search.get('groupId') ?? '' };
}

const HTML_HEADERS: OutgoingHttpHeaders = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': pagePolicy("'self'"),
  'X-Content-Type-Options': 'nosniff',
  // Under 'no-referrer' Chrome sends `Origin: null` with the page's own form POSTs, which are then refused.
  'Referrer-Policy': 'same-origin',
};

async function text(req: IncomingMessage): Promise<string> {
  const body = await readBody(req);
  if (body === undefined) throw new S.Refused(413, `The request body is over ${MAX_BODY_BYTES} bytes.`);
  return body;
}

function json(text: string, example = '') {
  try {
    return text.trim() === '' ? undefined : JSON.parse(text);
  } catch (error) {
    refuse('body', `a JSON object${example}`, text, (error as Error).message);
  }
}

/** Calls a reporting callback of the caller's: its throw must not break the sandbox, which keeps serving. */
function report<A>(callback: ((arg: A) => void) | undefined, arg: A): void {
  try {
    callback?.(arg);
  } catch {}
}

/**
 * Starts a local, stateful stand-in for the AiToEarn authorization API: both operations as the real server
 * answers them, scripted sessions (`POST /sandbox/sessions`) and a consent page whose approval ends at
 * `callbackUrl` or `redirectUri`. Pass `sandbox.url` and `sandbox.apiKey` to the client; `close()` at the end.
 */
export async function startSandbox(options?: T.SandboxOptions): Promise<T.Sandbox> {
  const config = T.resolveSandboxOptions(options);
  const { signal, apiKeys, maxSessions } = config;
  signal?.throwIfAborted();
  const sessions = new Map<string, S.StoredSession>();
  const log: T.SandboxRequest[] = [];
  let requestCount = 0;

  /** The session unless it never existed or has expired (the real API forgets it then). */
  function find(id: string, now: number): S.StoredSession | undefined {
    const session = sessions.get(id);
    if (session && now < session.expiresAt) return session;
    sessions.delete(id);
    return undefined;
  }

  function create(spec: unknown, now: number, targets?: S.BrowserTargets): T.CreatedSandboxSession {
    const checked = S.parseSessionSpec(spec);
    if (sessions.size >= maxSessions) for (const id of sessions.keys()) find(id, now);
    if (sessions.size >= maxSessions) {
      const earliest = [...sessions.values()].reduce((min, s) => Math.min(min, s.expiresAt), Infinity);
      throw new SandboxFullError(maxSessions, earliest - now);
    }
    // 96 random bits: a repeated id is not worth a check.
    const [sessionId, expiresAt] = [S.newSessionId(), now + (checked.lifetimeMs ?? config.sessionLifetimeMs)];
    sessions.set(sessionId, { ...checked, ...targets, id: sessionId, createdAt: now, expiresAt });
    const consentUrl = `${url}/sandbox/consent/${encodeURIComponent(sessionId)}`;
    return { sessionId, platform: checked.platform, expiresAt: S.iso(expiresAt), consentUrl };
  }

  /** One request; `page`: refusals are answered with a page (a browser's form); `code`: for the log. */
  function exchange(req: IncomingMessage, res: ServerResponse) {
    const id = req.headers['x-request-id'];
    const requestId = typeof id === 'string' && /^[\x21-\x7e]{1,200}$/.test(id) ? id : S.newRequestId();
    const [path, now, startedAt] = [req.url?.split('?', 1)[0] || '/', config.now(), performance.now()];
    return { req, res, path, requestId, now, startedAt, page: false, code: {} as { code?: Answered } };
  }
  type Exchange = ReturnType<typeof exchange>;

  /** Answers JSON, or HTML when `body` is a string, and logs it. */
  function send(x: Exchange, httpStatus: number, body: unknown, headers: OutgoingHttpHeaders = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    x.res.writeHead(httpStatus, {
      ...(typeof body === 'string' ? HTML_HEADERS : { 'Content-Type': 'application/json; charset=utf-8' }),
      ...headers,
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
      // The sandbox's clock, not the machine's: clients estimate the server's clock from this header.
      Date: new Date(x.now).toUTCString(),
      'x-request-id': x.requestId,
    });
    x.res.end(text);
    requestCount += 1;
    const path = [...apiKeys].reduce((p, key) => p.replaceAll(key, '[redacted]'), x.path);
    const [{ method = 'GET' }, durationMs] = [x.req, performance.now() - x.startedAt];
    const entry = Object.freeze({ method, path, at: x.now, httpStatus, ...x.code, durationMs });
    if (log.push(entry) > 1000) log.shift();
    report(config.onRequest, entry);
  }

  /** An answer of the API operations: HTTP 200 whatever the outcome, as the real API answers. */
  function api(x: Exchange, code: Answered, data?: object) {
    x.code = { code };
    // The first `en` or `zh` of Accept-Language (browsers list by preference); English otherwise.
    const lang = /(?:^|,)\s*(en|zh)\b/i.exec(x.req.headers['accept-language'] ?? '')?.[1]?.toLowerCase();
    const message = code === 0 ? SUCCESS_MESSAGE : API_CODES[code].text[lang === 'zh' ? 'zh' : 'en'];
    const rest = code === 0 ? { data } : { data: {}, timestamp: x.now };
    send(x, 200, { code, message, ...rest, requestId: x.requestId });
  }
  const keyOk = (x: Exchange) => apiKeys.has(String(x.req.headers['x-api-key']));

  const on = (method: string, template: string, run: (x: Exchange, params: string[]) => unknown) =>
    [method, new RegExp(`^${template.replace(/\{\w+\}/g, '([^/]+)')}$`), run] as const;
  const routes = [
    on('GET', START_PATH, (x, [platform = '']) => {
      // The real server's order: the key guard, the query's zod pipe, the platform, then the group.
      if (!keyOk(x)) return api(x, 401);
      const query = startQuery(new URLSearchParams(x.req.url?.replace(/^[^?]*\??/, '')));
      if (!query) return api(x, 400);
      if (!isPlatform(platform) || config.unsupportedPlatforms.has(platform)) return api(x, 15032);
      if (query.groupId && !config.groupIds.has(query.groupId)) return api(x, 12601);
      const { consentUrl: url, sessionId, expiresAt } = create({ platform }, x.now, query);
      api(x, 0, { url, sessionId, expiresAt, authInstructions: INSTRUCTIONS } satisfies AuthStart);
    }),
    on('GET', STATUS_PATH, (x, [platform, id = '']) => {
      // The key, then the session (unknown, expired or another user's), then the platform: the path's platform
      // is not checked on its own, so an unknown one gives 15039 or 15040, as on the real server.
      if (!keyOk(x)) return api(x, 401);
      const session = find(id, x.now);
      if (!session) return api(x, 15039);
      api(x, session.platform === platform ? 0 : 15040, S.view(session, x.now));
    }),
    on('POST', '/sandbox/sessions', async (x) => {
      if (!keyOk(x)) throw new S.Refused(401, 'Missing or unknown "X-Api-Key" header.');
      send(x, 201, create(json(await text(x.req), ' such as {"platform":"douyin"}'), x.now));
    }),
    on('POST', '/sandbox/sessions/{id}/(approve|deny|select)', async (x, [id = '', action = '']) => {
      const sent = await text(x.req);
      // A browser's form gets a page back; a script sending JSON (or nothing) gets JSON.
      x.page = /^application\/x-www-form-urlencoded\b/i.test(x.req.headers['content-type'] ?? '');
      const uids = x.page ? new URLSearchParams(sent).getAll('platformUids') : json(sent)?.platformUids;
      const session = find(id, x.now);
      if (!session) throw new S.Refused(404, `No session ${show(id)}: it never existed or it expired.`);
      if (x.page && action === 'select' && !uids.length)
        throw new S.Refused(400, 'Tick at least one account to connect.');
      const answered = S.decide(session, action, x.now, uids);
      if (!x.page) return send(x, 200, answered);
      // Denied: as on the real server, an error page, and no callback, no redirect.
      const denied = resultPage('Authorization denied', 'Nothing was connected. You can close this window.');
      if (answered.status === 'failed') return send(x, 200, denied);
      // A fresh nonce per page: a nonce that repeats would let an injected script run.
      const nonce = randomBytes(18).toString('base64');
      const formAction = session.callbackUrl ? new URL(session.callbackUrl).origin : "'none'";
      const csp = { 'Content-Security-Policy': pagePolicy(formAction, nonce) };
      send(x, 200, endingPage(answered, session, nonce), csp);
    }),
    on('GET', '/sandbox/consent/{id}', (x, [id = '']) => {
      x.page = true;
      const session = find(id, x.now);
      if (!session) throw new S.Refused(404, 'This authorization session does not exist or has expired.');
      const { status, requiresSelection } = S.view(session, x.now);
      if (status !== 'pending') throw new S.Refused(409, `This authorization is already ${status}.`);
      send(x, 200, consentPage(session, requiresSelection));
    }),
  ];

  async function handle(x: Exchange): Promise<unknown> {
    // Before anything else: a page that reached us through a name of its own (DNS rebinding) gets nothing.
    if (!hostOk(x.req.headers.host))
      throw new S.Refused(403, 'Invalid Host header: the sandbox answers only to its own host and port.');
    const { method } = x.req;
    for (const [allowed, pattern, run] of routes) {
      // A malformed escape names nothing here: its URIError is answered 404.
      const params = pattern.exec(x.path)?.slice(1).map(decodeURIComponent);
      if (!params) continue;
      if (method !== allowed)
        throw new S.Refused(405, `${x.path} answers ${allowed} only.`, { Allow: allowed });
      const crossSite = method === 'POST' && crossSiteReason(x.req.headers);
      if (crossSite) throw new S.Refused(403, `Cross-site request refused: ${crossSite}.`);
      return run(x, params);
    }
    throw new S.Refused(404, `No route for ${method} ${x.path}.`);
  }

  /** A refusal: JSON whose `code` is the HTTP status, or a page where a browser's form is answered. */
  function refusal(x: Exchange, error: unknown) {
    const input = error instanceof AitoearnInputError && error;
    const full = error instanceof SandboxFullError && error;
    const known = error instanceof S.Refused ? error.httpStatus : error instanceof URIError && 404;
    const status = known || (input ? 400 : full ? 429 : 500);
    const message = status === 500 ? `Sandbox internal error: ${error}` : (error as Error).message;
    if (x.page && status < 500) return send(x, status, resultPage('Not possible', message));
    const retry = full && { 'Retry-After': Math.ceil(full.retryAfterMs / 1000) };
    const body = { code: status, message, ...(input && { field: input.field }), requestId: x.requestId };
    send(x, status, body, retry || (error instanceof S.Refused ? error.headers : {}));
  }

  const server = createServer((req, res) => {
    const x = exchange(req, res);
    handle(x).catch((error: unknown) =>
      res.headersSent || res.destroyed ? res.destroy() : refusal(x, error),
    );
  });
  // A deep backlog: thousands of waiters may connect in the same instant (see BENCHMARKS.md).
  await once(server.listen({ port: config.port, host: config.host, backlog: 4096 }), 'listening').catch(
    (error) => Promise.reject(new SandboxListenError(config.host, config.port, error)),
  );
  // After start-up an 'error' (EMFILE, for one) must not crash the host process; the server keeps accepting.
  server.on('error', (error) => report(config.onError, error));
  const { port } = server.address() as AddressInfo;
  const hostOk = hostGuard(config.host, port, config.allowedHosts);
  const { url, warnings } = describeBinding(config.host, port);

  let closing: Promise<unknown> | undefined;
  const close = async () => {
    signal?.removeEventListener('abort', onAbort);
    closing ??= once(server.close(), 'close');
    // Keep-alive sockets (fetch pools them) would hold close() open and the process alive.
    server.closeAllConnections();
    await closing;
  };
  const onAbort = () => void close().catch(config.onError);
  // Aborted while binding (a Ctrl-C during start-up): close what was opened, and say why.
  if (signal?.aborted) await close().then(() => Promise.reject(signal.reason));
  signal?.addEventListener('abort', onAbort, { once: true });

  return Object.freeze({
    url,
    warnings: Object.freeze(warnings),
    apiKey: config.apiKey,
    createSession: (spec) => create(spec, config.now()),
    get requests() {
      return log.slice();
    },
    get requestCount() {
      return requestCount;
    },
    close,
  } satisfies T.Sandbox);
}
