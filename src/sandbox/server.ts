import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { API_CODES, type ApiCode, SUCCESS_MESSAGE } from '../codes.js';
import { AitoearnError, AitoearnInputError, named } from '../errors.js';
import { MAX_BODY_BYTES, pagePolicy } from '../local-server.js';
import { START_PATH, STATUS_PATH } from '../operations.js';
import { isPlatform } from '../platforms.js';
import { printable } from '../text.js';
import type { AuthSession, AuthStart } from '../types.js';
import { DOMAIN_NAME, refuse } from '../validate.js';
import { crossSiteReason, describeBinding, hostAllowed, hostPolicy, urlHost } from './guard.js';
import { resolveSandboxOptions } from './options.js';
import { type BrowserTargets, consentPage, endingPage, resultPage } from './pages.js';
import * as sessions from './sessions.js';
import { Refused } from './sessions.js';
import type * as T from './types.js';

/** One line of a traffic log, e.g. `GET /api/v2/channels/accounts/auth/douyin 200 code=0 2ms`; never the query. */
export function formatSandboxRequest(request: T.SandboxRequest): string {
  const { method, path, httpStatus, code, durationMs } = request;
  const answer = code === undefined ? httpStatus : `${httpStatus} code=${code}`;
  return `${method} ${printable(path)} ${answer} ${Math.round(durationMs)}ms`;
}

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
  readonly code: string;

  constructor(
    readonly host: string,
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    const code = cause.code ?? 'UNKNOWN';
    super(`Cannot listen on ${urlHost(host)}:${port}: ${LISTEN_FAILURES[code] ?? cause.message} (${code}).`, {
      cause,
    });
    this.code = code;
  }
}

type Language = 'en' | 'zh';
/** A code the sandbox answers with: success, or one whose real text `API_CODES` holds. */
type AnsweredCode =
  | 0
  | { [C in ApiCode]: (typeof API_CODES)[C] extends { text: object } ? C : never }[ApiCode];

/** The real server's message for `code`. */
export function apiMessage(code: AnsweredCode, language: Language): string {
  return code === 0 ? SUCCESS_MESSAGE : API_CODES[code].text[language];
}

/** The best-ranked `en` or `zh` of an `Accept-Language` header (ties: the first); English otherwise. */
function pickLanguage(header = ''): Language {
  let [best, bestQ]: [Language, number] = ['en', 0];
  for (const part of header.toLowerCase().split(',')) {
    const [tag = '', q = 'q=1'] = part.split(';').map((s) => s.trim());
    const [language, weight] = [tag.split('-')[0], Number(q.replace(/^q=/, ''))];
    if ((language === 'en' || language === 'zh') && weight > bestQ) [best, bestQ] = [language, weight];
  }
  return best;
}

/** What the sandbox tells the person for every platform (the real server has a text per platform). */
const INSTRUCTIONS = Object.freeze({
  'en-US': 'Open the link and approve or deny on the AiToEarn sandbox consent page.',
  'zh-CN': '请打开链接，在 AiToEarn 沙盒授权页面上批准或拒绝。',
});
/**
 * Stricter than upstream on purpose: the callback's origin goes into a CSP header, where a `;` or a space
 * in a host name (the URL parser allows both in some forms) would start another directive.
 */
const CSP_SAFE_HOST = /^([a-z0-9-]+(\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])$/;

/**
 * The start query, checked as the real server's zod schema does: `callbackUrl` any http(s) URL,
 * `redirectUri` one with a domain name (zod's `httpUrl()`), each at most once; unknown ones are ignored.
 * Undefined when the real server would answer 400; URLs normalised, so the form and the CSP agree.
 */
function startQuery(
  search: URLSearchParams,
): (BrowserTargets & { groupId?: string | undefined }) | undefined {
  const one = (name: string, host?: RegExp) => {
    const [text, ...more] = search.getAll(name);
    if (more.length > 0) throw new RangeError(name);
    if (text === undefined || !host) return text;
    const url = URL.canParse(text.trim()) ? new URL(text.trim()) : undefined;
    if (url && /^https?:$/.test(url.protocol) && host.test(url.hostname)) return url.href;
    throw new RangeError(name);
  };
  try {
    const [callbackUrl, redirectUri] = [one('callbackUrl', CSP_SAFE_HOST), one('redirectUri', DOMAIN_NAME)];
    return { callbackUrl, redirectUri, groupId: one('groupId') };
  } catch {
    return undefined;
  }
}

const HTML_HEADERS: OutgoingHttpHeaders = {
  'Content-Security-Policy': pagePolicy("'self'"),
  'X-Content-Type-Options': 'nosniff',
  // Not 'no-referrer': under it Chrome sends `Origin: null` with the page's own form POSTs, which the
  // cross-site check refuses. 'same-origin' still sends nothing to other sites.
  'Referrer-Policy': 'same-origin',
};
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;
const iso = (ms: number) => new Date(ms).toISOString();
const route = (template: string) => new RegExp(`^${template.replace(/\{\w+\}/g, '([^/]+)')}$`);

/** One request and what every answer to it carries. */
function exchange(req: IncomingMessage, res: ServerResponse, now: number) {
  const [path = '', query = ''] = (req.url ?? '/').split(/\?(.*)/s);
  const id = req.headers['x-request-id'];
  return {
    req,
    res,
    now,
    method: req.method ?? 'GET',
    path: path || '/',
    query: new URLSearchParams(query),
    startedAt: performance.now(),
    requestId: typeof id === 'string' && REQUEST_ID.test(id) ? id : sessions.newRequestId(),
    language: pickLanguage(req.headers['accept-language']),
    /** Set where a refusal is answered with a page: the session to link back to, or ''. */
    page: undefined as string | undefined,
  };
}
type Exchange = ReturnType<typeof exchange>;

/**
 * Starts a local, stateful stand-in for the AiToEarn authorization API: the start and status operations as
 * the real server answers them (HTTP 200, the outcome in `code`), scripted sessions at `POST
 * /sandbox/sessions`, and a consent page where a person approves, denies or picks accounts, after which the
 * browser POSTs to `callbackUrl` or goes to `redirectUri` as on the real service. Options are checked first.
 *
 * @example
 * const sandbox = await startSandbox();
 * const { sessionId } = sandbox.createSession({ platform: 'douyin', outcome: { type: 'complete', afterMs: 3000 } });
 * const client = createAitoearnClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
 * // … poll, then:
 * await sandbox.close();
 */
export async function startSandbox(options?: T.SandboxOptions): Promise<T.Sandbox> {
  const config = resolveSandboxOptions(options);
  const { signal, apiKeys } = config;
  signal?.throwIfAborted();
  const store = new sessions.SessionStore(config.maxSessions, config.sessionLifetimeMs);
  const log: T.SandboxRequest[] = [];
  let requestCount = 0;
  let url = '';
  let policy = hostPolicy(config.host, config.port, config.allowedHosts);
  const created = (s: sessions.StoredSession): T.CreatedSandboxSession => {
    const consentUrl = `${url}/sandbox/consent/${encodeURIComponent(s.id)}`;
    return { sessionId: s.id, platform: s.platform, expiresAt: iso(s.expiresAt), consentUrl };
  };

  /** Answers JSON, or HTML when `body` is a string, and logs it; `code` is an API operation's business code. */
  function send(x: Exchange, status: number, body: unknown, headers: OutgoingHttpHeaders = {}, code = NaN) {
    const html = typeof body === 'string';
    const text = html ? body : JSON.stringify(body);
    x.res.writeHead(status, {
      ...(html ? HTML_HEADERS : {}),
      ...headers,
      'Content-Type': `${html ? 'text/html' : 'application/json'}; charset=utf-8`,
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
      // The sandbox's clock, not the machine's: clients estimate the server's clock from this header.
      Date: new Date(x.now).toUTCString(),
      'x-request-id': x.requestId,
    });
    x.res.end(text);
    requestCount += 1;
    const path = [...apiKeys].reduce((p, key) => p.split(key).join('[redacted]'), x.path);
    const durationMs = performance.now() - x.startedAt;
    const [at, httpStatus, coded] = [x.now, status, code >= 0 && { code }];
    const entry: T.SandboxRequest = { method: x.method, path, at, httpStatus, ...coded, durationMs };
    if (log.push(Object.freeze(entry)) > 1000) log.shift();
    try {
      config.onRequest?.(entry);
    } catch {
      // A logging callback must not break the answer already sent.
    }
  }

  /** An answer of the API operations: HTTP 200 whatever the outcome, as the real API answers. */
  function api(x: Exchange, code: AnsweredCode, data?: AuthSession | AuthStart) {
    const message = apiMessage(code, x.language);
    const body = code === 0 ? { code, message, data } : { code, message, data: {}, timestamp: x.now };
    send(x, 200, { ...body, requestId: x.requestId }, {}, code);
  }

  const keyOk = (x: Exchange) => apiKeys.has(String(x.req.headers['x-api-key']));

  /** The body; over the cap a 413, after draining the rest so that the answer can be read. */
  async function readBody(x: Exchange): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    await new Promise((resolve, reject) => {
      x.req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      });
      x.req.on('end', resolve);
      x.req.on('error', reject);
      x.req.on('close', () => reject(new Error('The connection closed before the request body ended.')));
    });
    if (size > MAX_BODY_BYTES) throw new Refused(413, `The request body is over ${MAX_BODY_BYTES} bytes.`);
    return Buffer.concat(chunks).toString('utf8');
  }
  const json = (text: string, example = '') => {
    try {
      return text.trim() === '' ? undefined : JSON.parse(text);
    } catch (error) {
      refuse('body', `a JSON object${example}`, text, (error as Error).message);
    }
  };

  function start(x: Exchange, [platform = '']: string[]) {
    // The real server's order: the key guard, the query's zod pipe, the platform, then the group.
    if (!keyOk(x)) return api(x, 401);
    const query = startQuery(x.query);
    if (!query) return api(x, 400);
    if (!isPlatform(platform) || config.unsupportedPlatforms.has(platform)) return api(x, 15032);
    if (query.groupId && !config.groupIds.has(query.groupId)) return api(x, 12601);
    const session = store.create(sessions.parseSessionSpec({ platform }), x.now, query);
    const { sessionId, expiresAt, consentUrl } = created(session);
    api(x, 0, { url: consentUrl, sessionId, expiresAt, authInstructions: INSTRUCTIONS });
  }

  function status(x: Exchange, [platform, id = '']: string[]) {
    // The key, then the session (unknown, expired or another user's), then the platform: the path's platform
    // is not checked on its own, so an unknown one gives 15039 or 15040, as on the real server.
    if (!keyOk(x)) return api(x, 401);
    const session = store.get(id, x.now);
    if (!session) return api(x, 15039);
    if (session.platform !== platform) return api(x, 15040);
    api(x, 0, sessions.view(session, x.now));
  }

  async function create(x: Exchange) {
    if (!keyOk(x)) throw new Refused(401, 'Missing or unknown "X-Api-Key" header.');
    const spec = json(await readBody(x), ' such as {"platform":"douyin"}');
    send(x, 201, created(store.create(sessions.parseSessionSpec(spec), x.now)));
  }

  async function act(x: Exchange, [id = '', action]: string[]) {
    const text = await readBody(x);
    // A browser's form gets a page back; a script sending JSON (or nothing) gets JSON.
    const form = /^application\/x-www-form-urlencoded\b/i.test(x.req.headers['content-type'] ?? '');
    x.page = form ? id : undefined;
    const uids = form ? new URLSearchParams(text).getAll('platformUids') : json(text)?.platformUids;
    if (form && action === 'select' && uids.length === 0)
      throw new Refused(400, 'Tick at least one account to connect.');
    const answered = store.act(id, action as 'select', x.now, uids);
    if (!form) return send(x, 200, answered);
    // Denied: as on the real server, an error page, and no callback, no redirect.
    if (answered.status === 'failed') {
      const text = 'Nothing was connected. You can close this window.';
      return send(x, 200, resultPage('Authorization denied', text));
    }
    const targets: BrowserTargets = store.get(id, x.now) ?? {};
    if (!targets.callbackUrl && !targets.redirectUri) return send(x, 200, endingPage(answered, {}, ''));
    // A fresh nonce per page: a nonce that repeats would let an injected script run.
    const nonce = randomBytes(18).toString('base64');
    const formAction = targets.callbackUrl ? new URL(targets.callbackUrl).origin : "'none'";
    send(x, 200, endingPage(answered, targets, nonce), {
      'Content-Security-Policy': pagePolicy(formAction, nonce),
    });
  }

  function consent(x: Exchange, [id = '']: string[]) {
    x.page = '';
    const session = store.get(id, x.now);
    if (!session) throw new Refused(404, 'This authorization session does not exist or has expired.');
    const { status, requiresSelection: selecting } = sessions.view(session, x.now);
    if (status !== 'pending') throw new Refused(409, `This authorization is already ${status}.`);
    const { platform, expiresAt } = session;
    const accounts = sessions.candidates(session);
    send(x, 200, consentPage({ sessionId: id, platform, expiresAt: iso(expiresAt), selecting, accounts }));
  }

  const routes = [
    ['GET', route(START_PATH), start],
    ['GET', route(STATUS_PATH), status],
    ['POST', /^\/sandbox\/sessions$/, create],
    ['POST', /^\/sandbox\/sessions\/([^/]+)\/(approve|deny|select)$/, act],
    ['GET', /^\/sandbox\/consent\/([^/]+)$/, consent],
  ] as const;

  async function handle(x: Exchange): Promise<unknown> {
    // Before anything else: a page that reached us through a name of its own (DNS rebinding) gets nothing.
    if (!hostAllowed(x.req.headers.host, policy)) {
      throw new Refused(403, 'Invalid Host header: the sandbox answers only to its own host and port.');
    }
    const found = routes.find(([, pattern]) => pattern.test(x.path));
    let params: string[] | undefined;
    try {
      params = found?.[1].exec(x.path)?.slice(1).map(decodeURIComponent);
    } catch {
      // A malformed escape names nothing here.
    }
    if (!found || !params) throw new Refused(404, `No route for ${x.method} ${x.path}.`);
    const [method, , run] = found;
    if (x.method !== method)
      throw new Refused(405, `${x.path} answers ${method} only, not ${x.method}.`, { Allow: method });
    const crossSite = method === 'POST' ? crossSiteReason(x.req.headers) : undefined;
    const only = "only the sandbox's own pages may post";
    if (crossSite) throw new Refused(403, `Cross-site request refused: ${crossSite}; ${only}.`);
    return run(x, params);
  }

  /** A refusal: JSON whose `code` is the HTTP status, or a page where a browser's form is answered. */
  function refusal(x: Exchange, error: unknown) {
    const [full, input] = [error instanceof sessions.SandboxFullError, error instanceof AitoearnInputError];
    const status = error instanceof Refused ? error.httpStatus : input ? 400 : full ? 429 : 500;
    const message = status === 500 ? `Sandbox internal error: ${error}` : (error as Error).message;
    if (x.page !== undefined && status < 500) {
      return send(x, status, resultPage('Not possible', message, status === 404 ? '' : x.page));
    }
    const retry = error instanceof sessions.SandboxFullError && Math.ceil(error.retryAfterMs / 1000);
    const headers =
      retry !== false ? { 'Retry-After': retry } : error instanceof Refused ? error.headers : {};
    const field = error instanceof AitoearnInputError && { field: error.field };
    send(x, status, { code: status, message, ...field, requestId: x.requestId }, headers);
  }

  const server = createServer((req, res) => {
    const x = exchange(req, res, config.now());
    handle(x).catch((error: unknown) =>
      res.headersSent || res.destroyed ? res.destroy() : refusal(x, error),
    );
  });

  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(new SandboxListenError(config.host, config.port, error));
    server.once('error', failed);
    // A deep backlog: thousands of waiters may connect in the same instant (see BENCHMARKS.md).
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => {
      server.off('error', failed);
      // Aborted while binding (a Ctrl-C during start-up): close what was opened, and say why.
      if (signal?.aborted) server.close(() => reject(signal.reason));
      else resolve();
    });
  });
  // After start-up an 'error' (EMFILE, for one) must not crash the host process; the server keeps accepting.
  server.on('error', (error) => {
    try {
      config.onError(error);
    } catch {
      // The report failed; the sandbox still keeps serving.
    }
  });
  const { port } = server.address() as AddressInfo;
  policy = hostPolicy(config.host, port, config.allowedHosts);
  const binding = describeBinding(config.host, port);
  url = binding.url;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    signal?.removeEventListener('abort', onAbort);
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      // Keep-alive sockets (fetch pools them) would hold close() open and the process alive.
      server.closeAllConnections();
    });
    return closing;
  };
  const onAbort = () => void close().catch(config.onError);
  signal?.addEventListener('abort', onAbort, { once: true });

  return Object.freeze({
    url,
    warnings: Object.freeze(binding.warnings),
    apiKey: config.apiKey,
    createSession: (spec) => created(store.create(sessions.parseSessionSpec(spec), config.now())),
    get requests() {
      return log.slice();
    },
    get requestCount() {
      return requestCount;
    },
    close,
  } satisfies T.Sandbox);
}
