import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AitoearnError, AitoearnInputError, named } from '../errors.js';
import { LOOPBACK_HOST, MAX_BODY_BYTES, pagePolicy } from '../local-server.js';
import { isPlatform } from '../platforms.js';
import type { AuthSession, AuthStart, Platform } from '../types.js';
import { endingPagePolicy, renderConsentPage, renderEndingPage, renderResultPage } from './consent-page.js';
import { crossSiteReason, hostAllowed, hostPolicy, isLoopbackBind, isWildcard, urlHost } from './guard.js';
import { newRequestId } from './ids.js';
import { apiMessage, type Language, pickLanguage, type SandboxCode } from './messages.js';
import { resolveSandboxOptions, type SandboxOptions } from './options.js';
import { parseSessionSpec, type SandboxSessionSpec } from './session-spec.js';
import { parseStartQuery, SANDBOX_AUTH_INSTRUCTIONS } from './start.js';
import { type ActionResult, SandboxFullError, SessionStore, type StoredSession } from './store.js';

/** One request the sandbox answered, for tests and scripts that count or inspect calls. */
export interface SandboxRequest {
  readonly method: string;
  /** The request path, without the query. */
  readonly path: string;
  /** When it arrived, epoch ms on the sandbox's clock. */
  readonly at: number;
  readonly httpStatus: number;
  /** The business `code` of an API answer (start and status operations). */
  readonly code?: number;
  /** How long the answer took, in milliseconds (measured on the monotonic clock, not on `now`). */
  readonly durationMs: number;
}

/**
 * One line for a log of the sandbox's traffic, e.g. `GET /api/v2/channels/accounts/auth/douyin 200 code=0
 * 2ms`. The query is never part of `path`; characters that could drive a terminal are escaped.
 */
export function formatSandboxRequest(request: SandboxRequest): string {
  const path = request.path.replace(/[^\x21-\x7e]/gu, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
  const code = request.code === undefined ? '' : ` code=${request.code}`;
  return `${request.method} ${path} ${request.httpStatus}${code} ${Math.round(request.durationMs)}ms`;
}

/** The port is taken, or the address cannot be bound: `startSandbox` rejects with this. */
export class SandboxListenError extends AitoearnError {
  static {
    named(SandboxListenError, 'SandboxListenError');
  }
  /** The system error code, such as `EADDRINUSE` or `EADDRNOTAVAIL`. */
  readonly code: string;
  readonly host: string;
  readonly port: number;

  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    const code = cause.code ?? 'UNKNOWN';
    const why =
      code === 'EADDRINUSE'
        ? 'the port is already in use (choose another port, or port 0 for a free one)'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : code === 'EADDRNOTAVAIL'
            ? 'this machine has no such address'
            : cause.message;
    super(`Cannot listen on ${urlHost(host)}:${port}: ${why} (${code}).`, { cause });
    this.code = code;
    this.host = host;
    this.port = port;
  }
}

/** What creating a session returns (`POST /sandbox/sessions` answers the same JSON). */
export interface CreatedSandboxSession {
  readonly sessionId: string;
  readonly platform: Platform;
  /** When the session stops being readable, ISO 8601. */
  readonly expiresAt: string;
  /** The page where a person approves, denies or picks accounts. */
  readonly consentUrl: string;
}

/** A running sandbox. Call {@link Sandbox.close} when done; until then it keeps the process alive. */
export interface Sandbox {
  /**
   * The origin to use as `baseUrl`, such as `http://127.0.0.1:41234`. Bound to every interface (`0.0.0.0`,
   * `::`), it names the loopback address, which the client accepts over http.
   */
  readonly url: string;
  /**
   * What the person running the sandbox should know, one sentence each: set when it listens beyond
   * loopback, where its consent pages (which need no key) are open to the network.
   */
  readonly warnings: readonly string[];
  /** The first accepted API key (`'sandbox-key'` unless `apiKeys` was given). */
  readonly apiKey: string;
  /** Creates a session in-process, as `POST /sandbox/sessions` does; a bad spec throws {@link AitoearnInputError}. */
  createSession(spec: SandboxSessionSpec): CreatedSandboxSession;
  /** The last 1000 requests answered, oldest first (a copy). */
  readonly requests: readonly SandboxRequest[];
  /** How many requests have been answered since the start. */
  readonly requestCount: number;
  /** Stops listening, closes every connection and resolves when the server is closed. Safe to call twice. */
  close(): Promise<void>;
}

const API_PREFIX = ['api', 'v2', 'channels', 'accounts', 'auth'] as const;
const ACTIONS = ['approve', 'deny', 'select'] as const;
type Action = (typeof ACTIONS)[number];
const MAX_LOG = 1000;
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;
const HTML_HEADERS: OutgoingHttpHeaders = {
  'Content-Security-Policy': pagePolicy("'self'"),
  'X-Content-Type-Options': 'nosniff',
  // Not 'no-referrer': under it Chrome sends `Origin: null` with the page's own form POSTs, which the
  // cross-site guard must refuse. 'same-origin' still sends nothing to other sites.
  'Referrer-Policy': 'same-origin',
};

type Route =
  | { readonly kind: 'start'; readonly platform: string }
  | { readonly kind: 'status'; readonly platform: string; readonly sessionId: string }
  | { readonly kind: 'create' }
  | { readonly kind: 'action'; readonly action: Action; readonly sessionId: string }
  | { readonly kind: 'consent'; readonly sessionId: string };

function matchRoute(path: string): { readonly route: Route; readonly method: 'GET' | 'POST' } | undefined {
  let parts: string[];
  try {
    parts = path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (parts.includes('')) return undefined;
  const [first, second, third, fourth] = parts;
  if (API_PREFIX.every((part, i) => parts[i] === part)) {
    if (parts.length === 6) return { route: { kind: 'start', platform: parts[5] ?? '' }, method: 'GET' };
    if (parts.length === 8 && parts[6] === 'status') {
      return {
        route: { kind: 'status', platform: parts[5] ?? '', sessionId: parts[7] ?? '' },
        method: 'GET',
      };
    }
  }
  if (first !== 'sandbox') return undefined;
  if (parts.length === 2 && second === 'sessions') return { route: { kind: 'create' }, method: 'POST' };
  if (parts.length === 4 && second === 'sessions' && ACTIONS.includes(fourth as Action)) {
    return { route: { kind: 'action', action: fourth as Action, sessionId: third ?? '' }, method: 'POST' };
  }
  if (parts.length === 3 && second === 'consent') {
    return { route: { kind: 'consent', sessionId: third ?? '' }, method: 'GET' };
  }
  return undefined;
}

/** One request and what every answer to it carries. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly now: number;
  /** `performance.now()` at arrival, for `durationMs`. */
  readonly startedAt: number;
  readonly requestId: string;
  readonly language: Language;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is drained and dropped, so the 413 answer can still be read.
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    req.on('close', () => reject(new Error('The connection closed before the request body ended.')));
  });
}

function isFormRequest(req: IncomingMessage): boolean {
  return /^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '');
}

/**
 * The URL to reach a sandbox bound to `host` and what to warn about. Bound to every interface (`0.0.0.0`,
 * `::`), it is reached at the loopback address, which the client accepts over http; bound beyond loopback,
 * its pages (which need no key) are on the network, and the person running it should know.
 */
export function describeBinding(host: string, port: number): { url: string; warnings: readonly string[] } {
  const reachable = isWildcard(host) ? (host.includes(':') ? '[::1]' : LOOPBACK_HOST) : urlHost(host);
  const where = isWildcard(host) ? `every interface (${urlHost(host)})` : urlHost(host);
  const warnings: string[] = isLoopbackBind(host)
    ? []
    : [
        `The sandbox listens on ${where}, port ${port}: anyone on the network who can reach it can open its consent pages, which need no key, and approve or deny sessions. Bind 127.0.0.1 unless that is what you want.`,
      ];
  const url = `http://${reachable}:${port}`;
  if (!isLoopbackBind(host) && !isWildcard(host)) {
    warnings.push(
      `The client accepts plain http only to loopback addresses, so ${url} serves browsers but not aitoearn-auth; bind 0.0.0.0 to reach it at http://127.0.0.1:${port} as well.`,
    );
  }
  return Object.freeze({ url, warnings: Object.freeze(warnings) });
}

/**
 * Starts a local, stateful stand-in for the AiToEarn authorization API. It answers the start operation
 * (`GET /api/v2/channels/accounts/auth/{platform}`) and the status operation
 * (`GET /api/v2/channels/accounts/auth/{platform}/status/{sessionId}`) as the real server does (HTTP 200,
 * the business outcome in `code`), creates scripted sessions at `POST /sandbox/sessions`, and serves a
 * consent page where a person approves, denies or picks accounts; an approval of a started session ends as
 * the real one does, with the browser POSTing to `callbackUrl` or going to `redirectUri`. Options are
 * checked before anything listens.
 *
 * @example
 * const sandbox = await startSandbox();
 * const { sessionId } = sandbox.createSession({ platform: 'douyin', outcome: { type: 'complete', afterMs: 3000 } });
 * const client = createAitoearnClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
 * // … poll, then:
 * await sandbox.close();
 */
export async function startSandbox(options?: SandboxOptions): Promise<Sandbox> {
  const config = resolveSandboxOptions(options);
  const store = new SessionStore(config.maxSessions, config.sessionLifetimeMs);
  const log: SandboxRequest[] = [];
  let requestCount = 0;
  let url = '';
  let policy = hostPolicy(config.host, config.port, config.allowedHosts);

  const consentUrl = (session: StoredSession) => `${url}/sandbox/consent/${encodeURIComponent(session.id)}`;
  const created = (session: StoredSession): CreatedSandboxSession => ({
    sessionId: session.id,
    platform: session.platform,
    expiresAt: new Date(session.expiresAt).toISOString(),
    consentUrl: consentUrl(session),
  });

  /** The path as logged: every accepted API key replaced, so no log line can carry one. */
  const loggedPath = (path: string): string => {
    let safe = path;
    for (const key of config.apiKeys) safe = safe.split(key).join('[redacted]');
    return safe;
  };

  function send(
    x: Exchange,
    httpStatus: number,
    contentType: string,
    body: string,
    headers: OutgoingHttpHeaders = {},
    code?: number,
  ): void {
    x.res.writeHead(httpStatus, {
      ...headers,
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      // The sandbox's clock, not the machine's: clients estimate the server clock from this header.
      Date: new Date(x.now).toUTCString(),
      'x-request-id': x.requestId,
    });
    x.res.end(body);
    requestCount += 1;
    const entry: SandboxRequest = Object.freeze({
      method: x.method,
      path: loggedPath(x.path),
      at: x.now,
      httpStatus,
      ...(code === undefined ? {} : { code }),
      durationMs: performance.now() - x.startedAt,
    });
    log.push(entry);
    if (log.length > MAX_LOG) log.shift();
    try {
      config.onRequest?.(entry);
    } catch {
      // A logging callback must not break the answer that was already sent.
    }
  }

  function sendJson(x: Exchange, httpStatus: number, body: unknown, headers?: OutgoingHttpHeaders): void {
    send(x, httpStatus, 'application/json; charset=utf-8', JSON.stringify(body), headers);
  }

  function sendHtml(x: Exchange, httpStatus: number, html: string, headers = HTML_HEADERS): void {
    send(x, httpStatus, 'text/html; charset=utf-8', html, headers);
  }

  /** An answer of the sandbox's own endpoints: a real HTTP status, `code` equal to it. */
  function sendProblem(x: Exchange, httpStatus: number, message: string, field?: string): void {
    sendJson(x, httpStatus, {
      code: httpStatus,
      message,
      ...(field ? { field } : {}),
      requestId: x.requestId,
    });
  }

  /** A business error of the API operations: HTTP 200, as the real API answers. */
  function sendApiError(x: Exchange, code: Exclude<SandboxCode, 0>): void {
    const body = {
      code,
      message: apiMessage(code, x.language),
      data: {},
      timestamp: x.now,
      requestId: x.requestId,
    };
    send(x, 200, 'application/json; charset=utf-8', JSON.stringify(body), {}, code);
  }

  /** A success of the API operations. */
  function sendApiData(x: Exchange, data: AuthSession | AuthStart): void {
    const body = { code: 0, message: apiMessage(0, x.language), data, requestId: x.requestId };
    send(x, 200, 'application/json; charset=utf-8', JSON.stringify(body), {}, 0);
  }

  function hasApiKey(x: Exchange): boolean {
    const key = x.req.headers['x-api-key'];
    return typeof key === 'string' && config.apiKeys.has(key);
  }

  function handleStart(x: Exchange, platform: string) {
    // The real server's order: the key guard, the query's zod pipe, then the platform, then the group.
    if (!hasApiKey(x)) return sendApiError(x, 401);
    const query = parseStartQuery(x.query);
    if (!query) return sendApiError(x, 400);
    if (!isPlatform(platform) || config.unsupportedPlatforms.has(platform)) return sendApiError(x, 15032);
    if (query.groupId && !config.groupIds.has(query.groupId)) return sendApiError(x, 12601);
    let session: StoredSession;
    try {
      session = store.create(parseSessionSpec({ platform }), x.now, query);
    } catch (error) {
      if (!(error instanceof SandboxFullError)) throw error;
      return sendJson(
        x,
        429,
        { code: 429, message: error.message, requestId: x.requestId },
        { 'Retry-After': String(Math.ceil(error.retryAfterMs / 1000)) },
      );
    }
    const data: AuthStart = {
      url: consentUrl(session),
      sessionId: session.id,
      expiresAt: new Date(session.expiresAt).toISOString(),
      authInstructions: SANDBOX_AUTH_INSTRUCTIONS,
    };
    sendApiData(x, data);
  }

  function handleStatus(x: Exchange, platform: string, sessionId: string) {
    // The real server's order: the key, then the session (unknown, expired or another user's), then the
    // platform. The path's platform is not checked on its own: an unknown one gives 15039 or 15040.
    if (!hasApiKey(x)) return sendApiError(x, 401);
    const session = store.get(sessionId, x.now);
    if (!session) return sendApiError(x, 15039);
    if (session.platform !== platform) return sendApiError(x, 15040);
    sendApiData(x, store.view(session, x.now));
  }

  async function handleCreate(x: Exchange): Promise<void> {
    if (!hasApiKey(x)) return sendProblem(x, 401, 'Missing or unknown "X-Api-Key" header.');
    const text = await readBody(x.req);
    if (text === undefined) return sendProblem(x, 413, `The request body is over ${MAX_BODY_BYTES} bytes.`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const why = text.trim() === '' ? 'it is empty' : (error as Error).message;
      return sendProblem(
        x,
        400,
        `Expected "body" to be a JSON object such as {"platform":"douyin"}: ${why}.`,
        'body',
      );
    }
    try {
      sendJson(x, 201, created(store.create(parseSessionSpec(value), x.now)));
    } catch (error) {
      if (error instanceof AitoearnInputError) return sendProblem(x, 400, error.message, error.field);
      if (error instanceof SandboxFullError) {
        return sendJson(
          x,
          429,
          { code: 429, message: error.message, requestId: x.requestId },
          { 'Retry-After': String(Math.ceil(error.retryAfterMs / 1000)) },
        );
      }
      throw error;
    }
  }

  /** The page that ends an approval in the browser: the callback form, the redirect, or a closing text. */
  function sendEnding(x: Exchange, sessionId: string, answered: AuthSession) {
    const stored = store.get(sessionId, x.now);
    const targets = { callbackUrl: stored?.callbackUrl, redirectUri: stored?.redirectUri };
    const accounts = answered.accounts ?? [];
    if (targets.callbackUrl === undefined && targets.redirectUri === undefined) {
      return sendHtml(x, 200, renderEndingPage(accounts, targets, ''));
    }
    // A fresh nonce per answer: a nonce that repeats would let an injected script run.
    const nonce = randomBytes(18).toString('base64');
    sendHtml(x, 200, renderEndingPage(accounts, targets, nonce), {
      ...HTML_HEADERS,
      'Content-Security-Policy': endingPagePolicy(targets, nonce),
    });
  }

  async function handleAction(x: Exchange, action: Action, sessionId: string): Promise<void> {
    const text = await readBody(x.req);
    if (text === undefined) return sendProblem(x, 413, `The request body is over ${MAX_BODY_BYTES} bytes.`);
    const isJson = text.trimStart().startsWith('{');
    // A browser's form gets a page back; a script sending JSON (or nothing) gets JSON.
    const html = isFormRequest(x.req) && !isJson;
    let fields: Record<string, unknown> = {};
    if (isJson) {
      try {
        fields = JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        return sendProblem(
          x,
          400,
          `Expected "body" to be a JSON object: ${(error as Error).message}.`,
          'body',
        );
      }
    } else if (html) {
      fields = { platformUids: new URLSearchParams(text).getAll('platformUids') };
    } else if (text.trim() !== '') {
      return sendProblem(x, 400, 'Expected "body" to be a JSON object or HTML form fields.', 'body');
    }

    let result: ActionResult;
    if (action === 'approve') result = store.approve(sessionId, x.now);
    else if (action === 'deny') result = store.deny(sessionId, x.now);
    else if (html && Array.isArray(fields.platformUids) && fields.platformUids.length === 0) {
      return sendHtml(
        x,
        400,
        renderResultPage('Choose an account', 'Tick at least one account to connect.', sessionId),
      );
    } else result = store.select(sessionId, x.now, fields.platformUids);

    if (!html) {
      return result.ok
        ? sendJson(x, 200, result.session)
        : sendProblem(x, result.refusal.httpStatus, result.refusal.message, result.refusal.field);
    }
    if (!result.ok) {
      const back = result.refusal.httpStatus === 404 ? undefined : sessionId;
      return sendHtml(
        x,
        result.refusal.httpStatus,
        renderResultPage('Nothing changed', result.refusal.message, back),
      );
    }
    if (result.session.status === 'completed') return sendEnding(x, sessionId, result.session);
    // Denied: as on the real server, an error page and no callback, no redirect.
    return sendHtml(
      x,
      200,
      renderResultPage('Authorization denied', 'Nothing was connected. You can close this window.'),
    );
  }

  function handleConsent(x: Exchange, sessionId: string): void {
    const session = store.get(sessionId, x.now);
    if (!session) {
      const text = 'This authorization session does not exist or has expired.';
      sendHtml(x, 404, renderResultPage('Session not found', text));
      return;
    }
    const { pending, selecting } = store.isPendingAt(session, x.now);
    if (!pending) {
      const text = `This authorization is already ${store.view(session, x.now).status}.`;
      sendHtml(x, 409, renderResultPage('Already answered', text));
      return;
    }
    sendHtml(
      x,
      200,
      renderConsentPage({
        sessionId: session.id,
        platform: session.platform,
        expiresAt: new Date(session.expiresAt).toISOString(),
        selecting,
        accounts: store.candidates(session),
      }),
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const incomingId = req.headers['x-request-id'];
    const languageHeader = req.headers['accept-language'];
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const x: Exchange = {
      req,
      res,
      method: req.method ?? 'GET',
      path: (queryAt === -1 ? target : target.slice(0, queryAt)) || '/',
      query: new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1)),
      now: config.now(),
      startedAt: performance.now(),
      requestId: typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : newRequestId(),
      language: pickLanguage(typeof languageHeader === 'string' ? languageHeader : undefined),
    };
    // Before anything else: a page that reached us through a name of its own (DNS rebinding) gets nothing.
    if (!hostAllowed(req.headers.host, policy)) {
      return sendProblem(x, 403, 'Invalid Host header: the sandbox answers only to its own host and port.');
    }
    const match = matchRoute(x.path);
    if (!match) return sendProblem(x, 404, `No route for ${x.method} ${x.path}.`);
    if (x.method !== match.method) {
      return sendJson(
        x,
        405,
        {
          code: 405,
          message: `${x.path} answers ${match.method} only, not ${x.method}.`,
          requestId: x.requestId,
        },
        { Allow: match.method },
      );
    }
    if (x.method === 'POST') {
      const why = crossSiteReason(req.headers);
      if (why !== undefined) {
        return sendProblem(
          x,
          403,
          `Cross-site request refused: ${why}; only the sandbox's own pages may post.`,
        );
      }
    }
    const { route } = match;
    switch (route.kind) {
      case 'start':
        return handleStart(x, route.platform);
      case 'status':
        return handleStatus(x, route.platform, route.sessionId);
      case 'create':
        return handleCreate(x);
      case 'action':
        return handleAction(x, route.action, route.sessionId);
      case 'consent':
        return handleConsent(x, route.sessionId);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const message = `Sandbox internal error: ${error instanceof Error ? error.message : String(error)}`;
      res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' });
      res.end(JSON.stringify({ code: 500, message }));
    });
  });

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(new SandboxListenError(config.host, config.port, error));
    server.once('error', failed);
    // A deep backlog: thousands of waiters may connect in the same instant (see BENCHMARKS.md).
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => {
      server.off('error', failed);
      resolve();
    });
  });
  // After start-up an 'error' (EMFILE when out of descriptors, for one) must not crash the host process:
  // the server keeps accepting once descriptors are free again.
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
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      // Keep-alive sockets (fetch pools them) would hold close() open and the process alive.
      server.closeAllConnections();
    });
    return closing;
  };

  return Object.freeze({
    url,
    warnings: binding.warnings,
    apiKey: config.firstApiKey,
    createSession: (spec: SandboxSessionSpec) => created(store.create(parseSessionSpec(spec), config.now())),
    get requests() {
      return log.slice();
    },
    get requestCount() {
      return requestCount;
    },
    close,
  });
}
