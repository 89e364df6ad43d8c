import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthSession, Platform } from '../client.js';
import { AitoearnInputError } from '../errors.js';
import { renderConsentPage, renderResultPage } from './consent-page.js';
import { apiMessage, type Language, pickLanguage, type SandboxCode } from './messages.js';
import { resolveSandboxOptions, type SandboxOptions } from './options.js';
import { isPlatform, parseSessionSpec, type SandboxSessionSpec } from './session-spec.js';
import { type ActionResult, SandboxFullError, SessionStore, type StoredSession } from './store.js';

/** One request the sandbox answered, for tests and scripts that count or inspect calls. */
export interface SandboxRequest {
  readonly method: string;
  /** The request path, without the query. */
  readonly path: string;
  /** When it arrived, epoch ms on the sandbox's clock. */
  readonly at: number;
  readonly httpStatus: number;
  /** The business `code` of a status-endpoint answer. */
  readonly code?: number;
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
  /** The origin to use as `baseUrl`, such as `http://127.0.0.1:41234`. */
  readonly url: string;
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

const STATUS_PREFIX = ['api', 'v2', 'channels', 'accounts', 'auth'] as const;
const ACTIONS = ['approve', 'deny', 'select'] as const;
type Action = (typeof ACTIONS)[number];
const MAX_LOG = 1000;
const MAX_BODY_BYTES = 64 * 1024;
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;
const HTML_HEADERS: OutgoingHttpHeaders = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

type Route =
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
  if (parts.length === 8 && STATUS_PREFIX.every((part, i) => parts[i] === part) && parts[6] === 'status') {
    return { route: { kind: 'status', platform: parts[5] ?? '', sessionId: parts[7] ?? '' }, method: 'GET' };
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
  readonly now: number;
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
 * Starts a local, stateful stand-in for the AiToEarn authorization-status API. It answers
 * `GET /api/v2/channels/accounts/auth/{platform}/status/{sessionId}` as the real API does (HTTP 200, the
 * business outcome in `code`), creates sessions at `POST /sandbox/sessions`, and serves a consent page
 * where a person approves, denies or picks accounts. Options are checked before anything listens.
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

  const created = (session: StoredSession): CreatedSandboxSession => ({
    sessionId: session.id,
    platform: session.platform,
    expiresAt: new Date(session.expiresAt).toISOString(),
    consentUrl: `${url}/sandbox/consent/${encodeURIComponent(session.id)}`,
  });

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
    log.push({
      method: x.method,
      path: x.path,
      at: x.now,
      httpStatus,
      ...(code === undefined ? {} : { code }),
    });
    if (log.length > MAX_LOG) log.shift();
  }

  function sendJson(x: Exchange, httpStatus: number, body: unknown, headers?: OutgoingHttpHeaders): void {
    send(x, httpStatus, 'application/json; charset=utf-8', JSON.stringify(body), headers);
  }

  function sendHtml(x: Exchange, httpStatus: number, html: string): void {
    send(x, httpStatus, 'text/html; charset=utf-8', html, HTML_HEADERS);
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

  /** A business error of the status endpoint: HTTP 200, as the real API answers. */
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

  function hasApiKey(x: Exchange): boolean {
    const key = x.req.headers['x-api-key'];
    return typeof key === 'string' && config.apiKeys.has(key);
  }

  /** The business error a status request earns, in the order the real API checks; undefined when none. */
  function statusError(x: Exchange, platform: string, session: StoredSession | undefined) {
    if (!hasApiKey(x)) return 401;
    if (!isPlatform(platform)) return 10002;
    if (!session) return 15039;
    if (session.platform !== platform) return 15040;
    return undefined;
  }

  function handleStatus(x: Exchange, platform: string, sessionId: string): void {
    const session = hasApiKey(x) ? store.get(sessionId, x.now) : undefined;
    const code = statusError(x, platform, session);
    if (code !== undefined || !session) {
      sendApiError(x, code ?? 15039);
      return;
    }
    const body: { code: 0; message: string; data: AuthSession; requestId: string } = {
      code: 0,
      message: apiMessage(0, x.language),
      data: store.view(session, x.now),
      requestId: x.requestId,
    };
    send(x, 200, 'application/json; charset=utf-8', JSON.stringify(body), {}, 0);
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
    const session = result.session;
    const names = (session.accounts ?? []).map((a) => a.displayName).join(', ');
    return sendHtml(
      x,
      200,
      session.status === 'completed'
        ? renderResultPage('Authorization approved', `Connected: ${names}. You can close this window.`)
        : renderResultPage('Authorization denied', 'Nothing was connected. You can close this window.'),
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
    const x: Exchange = {
      req,
      res,
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?', 1)[0] || '/',
      now: config.now(),
      requestId: typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID(),
      language: pickLanguage(typeof languageHeader === 'string' ? languageHeader : undefined),
    };
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
    const { route } = match;
    switch (route.kind) {
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
    server.once('error', reject);
    // A deep backlog: thousands of waiters may connect in the same instant (see BENCHMARKS.md).
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

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
