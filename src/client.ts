import createClient from 'openapi-fetch';
import {
  AitoearnApiError,
  AitoearnInputError,
  AitoearnTransportError,
  type ResponseFacts,
} from './errors.js';
import type { components, paths } from './generated/aitoearn.js';
import { linkAbort, unlinkAbort } from './poll/abort-link.js';
import { checkApiKey, checkBaseUrl, checkPathParam, checkPositiveMs, show } from './validate.js';
import { VERSION } from './version.js';

/** An authorization session, as `GET …/auth/{platform}/status/{sessionId}` reports it. */
export type AuthSession = components['schemas']['AuthSessionStatusVo'];
/** `pending`, `completed` or `failed`, as the spec declares them. */
export type AuthStatus = AuthSession['status'];
/** A connected account of a completed session. */
export type ConnectedAccount = NonNullable<AuthSession['accounts']>[number];
/** An account the user may choose while `requiresSelection` is true. */
export type SelectableAccount = NonNullable<AuthSession['selectableAccounts']>[number];
/** A platform identifier the spec knows, such as `douyin` or `youtube`. */
export type Platform = ConnectedAccount['platform'];

/** The two public sites of the AiToEarn Open Platform. */
export const SITES = { cn: 'https://aitoearn.cn', ai: 'https://aitoearn.ai' } as const;
export type Site = keyof typeof SITES;

const STATUS_PATH = '/api/v2/channels/accounts/auth/{platform}/status/{sessionId}' as const;

export interface AitoearnClientOptions {
  /** The Open Platform API key, sent as `X-Api-Key` to the configured origin only. */
  readonly apiKey: string;
  /** Which public site to call: `'cn'` (https://aitoearn.cn) or `'ai'` (https://aitoearn.ai). @default 'ai' */
  readonly site?: Site;
  /** Overrides `site`: https, or http to a loopback host (the sandbox, Prism). */
  readonly baseUrl?: string | URL;
  /** A `fetch` to use instead of the global one; it is called with one `Request`. */
  readonly fetch?: (request: Request) => Promise<Response>;
  /** How long one request may take, headers and body, in milliseconds. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** Sent as `Accept-Language`; the API's messages follow it (`en-US` or `zh-CN`). */
  readonly acceptLanguage?: 'en-US' | 'zh-CN' | (string & {});
}

/** Defaults of {@link AitoearnClientOptions}. */
export const clientDefaults = Object.freeze({ site: 'ai', requestTimeoutMs: 10_000 } as const);

/** A configured client. It holds the key out of sight: inspecting or serialising it shows no secret. */
export interface AitoearnClient {
  /** The origin (and path prefix) every request goes to. */
  readonly baseUrl: string;
  readonly requestTimeoutMs: number;
}

interface Internals {
  /** Removes the API key from text the server sent back, before it can reach a message or a field. */
  readonly redact: (text: string) => string;
  readonly api: ReturnType<typeof createClient<paths>>;
}

const internals = new WeakMap<AitoearnClient, Internals>();

/**
 * Creates a client for the AiToEarn Open Platform. Options are checked at once; nothing is sent.
 *
 * @example
 * const client = createAitoearnClient({ apiKey: process.env.AITOEARN_API_KEY ?? '', site: 'cn' });
 */
export function createAitoearnClient(options: AitoearnClientOptions): AitoearnClient {
  if (typeof options !== 'object' || options === null) {
    throw new AitoearnInputError(
      'options',
      `Expected the client options to be an object, got ${show(options)}.`,
    );
  }
  const apiKey = checkApiKey(options.apiKey);
  const site = options.site ?? clientDefaults.site;
  if (!Object.hasOwn(SITES, site)) {
    throw new AitoearnInputError('site', `Expected "site" to be "cn" or "ai", got ${show(site)}.`);
  }
  const baseUrl = checkBaseUrl(options.baseUrl ?? SITES[site]);
  const requestTimeoutMs = checkPositiveMs(
    'requestTimeoutMs',
    options.requestTimeoutMs ?? clientDefaults.requestTimeoutMs,
  );
  const headers: Record<string, string> = {
    'X-Api-Key': apiKey,
    Accept: 'application/json',
    'User-Agent': `aitoearn-auth/${VERSION}`,
  };
  if (options.acceptLanguage !== undefined) {
    if (
      typeof options.acceptLanguage !== 'string' ||
      !/^[A-Za-z0-9,;=.* -]{1,100}$/.test(options.acceptLanguage)
    ) {
      throw new AitoearnInputError(
        'acceptLanguage',
        `Expected "acceptLanguage" to be a language tag such as "en-US" or "zh-CN", got ${show(options.acceptLanguage)}.`,
      );
    }
    headers['Accept-Language'] = options.acceptLanguage;
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new AitoearnInputError('fetch', `Expected "fetch" to be a function, got ${show(options.fetch)}.`);
  }
  const api = createClient<paths>({
    baseUrl,
    headers,
    // A redirect would carry X-Api-Key to wherever it points: never follow one.
    redirect: 'manual',
    ...(options.fetch ? { fetch: options.fetch } : plainTransport),
  });
  const client: AitoearnClient = Object.freeze({ baseUrl, requestTimeoutMs });
  const redact = (text: string) => (text.includes(apiKey) ? text.split(apiKey).join('[redacted]') : text);
  internals.set(client, { api, redact });
  return client;
}

/**
 * The default transport. openapi-fetch builds a `Request` for every call and the global `fetch` copies it
 * into a request of its own (with another abort controller following the first one's signal): with no
 * custom `fetch`, openapi-fetch gets this plain holder of the URL and init instead, which `fetch` receives
 * as they are. A custom `fetch` still gets a real `Request` (the documented contract).
 */
class PlainRequest {
  readonly url: string;
  readonly init: RequestInit;
  readonly method: string;
  constructor(url: string, init: RequestInit) {
    this.url = url;
    this.init = init;
    this.method = init.method ?? 'GET';
  }
}
const plainTransport = {
  Request: PlainRequest as unknown as typeof Request,
  fetch: (request: Request) => fetch(request.url, (request as unknown as PlainRequest).init),
};

export interface GetAuthStatusParams {
  /** The platform the session was started for, e.g. `douyin`. */
  readonly platform: Platform | (string & {});
  /** The session id returned when the authorization was started. */
  readonly sessionId: string;
  /** Aborting rejects with the signal's `reason`, as `fetch` does. */
  readonly signal?: AbortSignal;
}

/** A successful status answer with what the poller needs from the response. */
export interface AuthStatusResult {
  readonly session: AuthSession;
  /** The API's request id, for support tickets. */
  readonly requestId: string | undefined;
  /** The server's clock from the `Date` header, epoch ms (1 s resolution), when sent. */
  readonly serverDateMs: number | undefined;
}

/**
 * Asks once for the state of an authorization session. Resolves when the API answers `code: 0`; throws
 * {@link AitoearnApiError} for a business error and {@link AitoearnTransportError} when no business answer
 * arrived. Parameters are checked first; a bad one throws {@link AitoearnInputError} and sends nothing.
 *
 * @example
 * const { session } = await getAuthStatus(client, { platform: 'douyin', sessionId });
 * console.log(session.status);
 */
export async function getAuthStatus(
  client: AitoearnClient,
  params: GetAuthStatusParams,
): Promise<AuthStatusResult> {
  checkClient(client);
  checkStatusParams(params);
  return requestAuthStatus(client, params, client.requestTimeoutMs);
}

/** Validated inputs for {@link requestAuthStatus}. */
export function checkStatusParams(params: GetAuthStatusParams): void {
  if (typeof params !== 'object' || params === null) {
    throw new AitoearnInputError('params', `Expected the parameters to be an object, got ${show(params)}.`);
  }
  checkPathParam('platform', params.platform);
  checkPathParam('sessionId', params.sessionId);
  if (params.signal !== undefined && !(params.signal instanceof AbortSignal)) {
    throw new AitoearnInputError(
      'signal',
      `Expected "signal" to be an AbortSignal, got ${show(params.signal)}.`,
    );
  }
}

/** Throws unless `client` came from {@link createAitoearnClient}. */
export function checkClient(client: AitoearnClient): void {
  internalsOf(client);
}

function internalsOf(client: AitoearnClient): Internals {
  const found = typeof client === 'object' && client !== null ? internals.get(client) : undefined;
  if (!found) {
    throw new AitoearnInputError(
      'client',
      `Expected "client" to come from createAitoearnClient(), got ${show(client)}.`,
    );
  }
  return found;
}

// Constant abort reasons: aborting without one builds a DOMException (and its stack) on every call.
const TIMED_OUT = Object.freeze(new Error('request timed out'));

/**
 * Starts a request's timeout: calls `onTimeout` after `ms` milliseconds unless the returned function
 * (cancel) is called first.
 */
export type RequestTimer = (ms: number, onTimeout: () => void) => () => void;

const setTimeoutTimer: RequestTimer = (ms, onTimeout) => {
  const handle = setTimeout(onTimeout, ms);
  return () => clearTimeout(handle);
};

/**
 * The status request itself, with one timeout, for parameters already checked with
 * {@link checkStatusParams} (the waiter checks them once, not on every request). The waiter passes a
 * timer of its own (on its clock, never the caller's `sleep`); `getAuthStatus` uses `setTimeout`.
 * The caller's signal is listened to through `linkAbort` (one listener per signal, however many
 * requests share it).
 * @internal
 */
export async function requestAuthStatus(
  client: AitoearnClient,
  params: GetAuthStatusParams,
  timeoutMs: number,
  timer: RequestTimer = setTimeoutTimer,
): Promise<AuthStatusResult> {
  const { api, redact } = internalsOf(client);
  const { platform, sessionId, signal } = params;
  signal?.throwIfAborted();
  // Only built for messages, when something fails.
  const operation = () => `GET /api/v2/channels/accounts/auth/${platform}/status/${sessionId}`;

  const controller = new AbortController();
  // Settle on abort even when a custom fetch ignores the signal, or undici loses the link to it (it
  // follows the caller's signal only through a WeakRef to the Request). Only this function aborts
  // `controller`, so it rejects this promise itself instead of listening to the controller's signal.
  let rejectAborted: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    rejectAborted = reject;
  });
  aborted.catch(() => {});
  const abort = (reason: unknown) => {
    if (controller.signal.aborted) return;
    controller.abort(reason);
    rejectAborted(reason);
  };
  if (signal) linkAbort(signal, abort);
  let timedOut = false;
  const cancelTimer = timer(timeoutMs, () => {
    timedOut = true;
    abort(TIMED_OUT);
  });
  try {
    const outcome = await Promise.race([
      // Parsed here rather than by openapi-fetch, so that a bad body keeps the response's facts.
      api.GET(STATUS_PATH, {
        params: { path: { platform, sessionId } },
        signal: controller.signal,
        parseAs: 'text',
      }),
      aborted,
    ]).catch((error: unknown) => {
      if (signal?.aborted) throw signal.reason;
      if (timedOut) {
        const ms = Math.round(timeoutMs);
        throw new AitoearnTransportError(
          'timeout',
          `${operation()} timed out after ${ms} ms`,
          {},
          { cause: error },
        );
      }
      const detail = error instanceof Error ? describeCause(error) : String(error);
      throw new AitoearnTransportError(
        'network',
        `${operation()} failed on the network: ${redact(detail)}`,
        {},
        {
          cause: error,
        },
      );
    });
    return interpret(outcome.response, outcome.data, outcome.error, operation, redact);
  } finally {
    cancelTimer();
    if (signal) unlinkAbort(signal, abort);
  }
}

/** undici hides the useful part ("ECONNREFUSED", "other side closed") in `cause`. */
function describeCause(error: Error): string {
  const inner = error.cause instanceof Error ? error.cause : undefined;
  const code = inner && 'code' in inner ? ` (${String(inner.code)})` : '';
  return inner ? `${error.message}: ${inner.message}${code}` : error.message;
}

function interpret(
  response: Response,
  text: unknown,
  errorBody: unknown,
  operationOf: () => string,
  redact: (text: string) => string,
): AuthStatusResult {
  const { status, headers } = response;
  // Headers are read only on the way to an error; a success needs just the Date and maybe the id.
  const headerId = () => {
    const id = headers.get('x-request-id');
    return id === null ? undefined : redact(id);
  };
  const facts = (requestId = headerId()): ResponseFacts => ({
    httpStatus: status,
    requestId,
    retryAfterMs: retryAfterMs(headers),
  });
  if (status >= 300 && status < 400) {
    throw new AitoearnTransportError(
      'redirect',
      `${operationOf()} answered HTTP ${status}, a redirect (to ${redact(redirectTarget(response))}); redirects are not followed so that the API key stays with this origin`,
      facts(),
    );
  }
  if (status !== 200) {
    const kind = errorBody && typeof errorBody === 'object' ? 'a JSON body' : 'a non-JSON body';
    throw new AitoearnTransportError(
      'http-status',
      `${operationOf()} answered HTTP ${status} with ${kind}; the API answers every business outcome with HTTP 200`,
      facts(),
    );
  }
  let body: { code?: unknown; message?: unknown; data?: unknown; requestId?: unknown } | undefined;
  try {
    // Everything the server sends back is cleaned of the key once, here: messages, ids, session fields.
    body = typeof text === 'string' && text !== '' ? JSON.parse(redact(text)) : undefined;
  } catch {
    // The parser's message quotes the body, which could echo our headers back: never include it.
    const type = redact(headers.get('content-type') ?? 'no content type');
    throw new AitoearnTransportError(
      'bad-body',
      `${operationOf()} answered HTTP 200 with a body that is not JSON (${type}, ${String(text).length} characters)`,
      facts(),
    );
  }
  if (!body || typeof body !== 'object' || typeof body.code !== 'number' || !Number.isInteger(body.code)) {
    throw new AitoearnTransportError(
      'bad-body',
      `${operationOf()} answered a body without an integer "code"`,
      facts(),
    );
  }
  const requestId = typeof body.requestId === 'string' ? body.requestId : headerId();
  if (body.code !== 0) {
    const message = typeof body.message === 'string' ? body.message : '';
    throw new AitoearnApiError(body.code, message, operationOf(), facts(requestId));
  }
  const session = body.data;
  if (!isSession(session)) {
    throw new AitoearnTransportError(
      'bad-body',
      `${operationOf()} answered code 0 without a session (need "sessionId", "status" and "requiresSelection")`,
      facts(requestId),
    );
  }
  const date = headers.get('date');
  const serverDateMs = date ? Date.parse(date) : Number.NaN;
  return { session, requestId, serverDateMs: Number.isFinite(serverDateMs) ? serverDateMs : undefined };
}

function isSession(value: unknown): value is AuthSession {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.sessionId === 'string' &&
    typeof v.status === 'string' &&
    typeof v.requiresSelection === 'boolean' &&
    (v.expiresAt === undefined ||
      (typeof v.expiresAt === 'string' && Number.isFinite(Date.parse(v.expiresAt))))
  );
}

function redirectTarget(response: Response): string {
  const location = response.headers.get('location');
  if (!location) return 'no location';
  try {
    return new URL(location, response.url || undefined).origin;
  } catch {
    return 'an unparsable location';
  }
}

/** `Retry-After` (seconds or an HTTP date) or `X-RateLimit-Reset` (epoch ms), as a delay from now. */
export function retryAfterMs(headers: Headers, localNowMs = Date.now()): number | undefined {
  const serverNow = Date.parse(headers.get('date') ?? '') || localNowMs;
  let delay: number | undefined;
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) delay = Number(retryAfter) * 1000;
    else {
      const at = Date.parse(retryAfter);
      if (Number.isFinite(at)) delay = at - serverNow;
    }
  }
  const reset = headers.get('x-ratelimit-reset')?.trim();
  if (reset && /^\d+$/.test(reset)) {
    const fromReset = Number(reset) - serverNow;
    delay = Math.max(delay ?? 0, fromReset);
  }
  return delay === undefined || !Number.isFinite(delay) ? undefined : Math.max(0, delay);
}
