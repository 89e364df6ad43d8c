import createClient from 'openapi-fetch';
import { linkAbort, unlinkAbort } from './abort-link.js';
import {
  BadField,
  decodeSession,
  decodeStart,
  MAX_ANSWER_BYTES,
  type Redact,
  readCapped,
  redactorFor,
  TOO_LARGE,
} from './answer.js';
import {
  AitoearnApiError,
  AitoearnInputError,
  AitoearnTransportError,
  type ResponseFacts,
} from './errors.js';
import type { paths } from './generated/aitoearn.js';
import { START_PATH, STATUS_PATH } from './operations.js';
import type { AuthSession, AuthStart, AuthStatus, Platform } from './types.js';
import {
  checkApiKey,
  checkBaseUrl,
  checkCallbackUrl,
  checkPathParam,
  checkPositiveMs,
  checkQueryText,
  checkRedirectUri,
  checkSignal,
  show,
} from './validate.js';
import { VERSION } from './version.js';

export type {
  AuthInstructions,
  AuthSession,
  AuthStart,
  AuthStatus,
  ConnectedAccount,
  Platform,
  SelectableAccount,
} from './types.js';

/** The two public sites of the AiToEarn Open Platform. */
export const SITES = { cn: 'https://aitoearn.cn', ai: 'https://aitoearn.ai' } as const;
export type Site = keyof typeof SITES;

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
  readonly redact: Redact;
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
  const custom = options.fetch;
  const api = createClient<paths>({
    baseUrl,
    headers,
    // A redirect would carry X-Api-Key to wherever it points: never follow one.
    redirect: 'manual',
    ...(custom ? { fetch: (request: Request) => custom(request).then(withoutErrorBody) } : plainTransport),
  });
  const client: AitoearnClient = Object.freeze({ baseUrl, requestTimeoutMs });
  internals.set(client, { api, redact: redactorFor(apiKey) });
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
  fetch: (request: Request) =>
    fetch(request.url, (request as unknown as PlainRequest).init).then(withoutErrorBody),
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
  checkParams(params);
  checkPathParam('platform', params.platform);
  checkPathParam('sessionId', params.sessionId);
  checkSignal(params.signal);
}

function checkParams(params: unknown): void {
  if (typeof params !== 'object' || params === null) {
    throw new AitoearnInputError('params', `Expected the parameters to be an object, got ${show(params)}.`);
  }
}

export interface StartAuthParams {
  /** The platform to connect an account of, e.g. `douyin`. */
  readonly platform: Platform | (string & {});
  /**
   * Where the person's browser POSTs the result when the authorization succeeds: an http or https URL
   * (a loopback one is fine). Treat that POST as a hint to check the status, never as the outcome.
   */
  readonly callbackUrl?: string | URL;
  /**
   * Where the person's browser goes after a successful authorization (when there is no `callbackUrl`): an
   * http or https URL with a domain name. The API refuses loopback addresses and IP literals here.
   */
  readonly redirectUri?: string | URL;
  /** The account group to put the connected account in. @default the API key owner's default group */
  readonly groupId?: string;
  /** Aborting rejects with the signal's `reason`, as `fetch` does. */
  readonly signal?: AbortSignal;
}

/** A started authorization: the page to open, the session to wait for, when it expires. */
export interface AuthStartResult extends Readonly<AuthStart> {
  /** The API's request id, for support tickets. */
  readonly requestId: string | undefined;
}

/**
 * Starts the authorization of an account: resolves with the `url` to open (or a `data:image/…` QR code for
 * platforms authorized in their app), the `sessionId` to wait for with {@link getAuthStatus} or
 * `waitForAuth`, and its `expiresAt`. Errors as for {@link getAuthStatus}; business codes 15032 (platform
 * not supported), 12601 (group not found) and 400 (a refused URL) are {@link AitoearnApiError}s.
 * Parameters are checked first; a bad one throws {@link AitoearnInputError} and sends nothing.
 *
 * @example
 * const started = await startAuth(client, { platform: 'douyin' });
 * console.log(`Open ${started.url}`);
 * const session = await waitForAuth(client, { platform: 'douyin', sessionId: started.sessionId });
 */
export async function startAuth(client: AitoearnClient, params: StartAuthParams): Promise<AuthStartResult> {
  checkClient(client);
  checkParams(params);
  const platform = checkPathParam('platform', params.platform);
  const query: { callbackUrl?: string; redirectUri?: string; groupId?: string } = {};
  if (params.callbackUrl !== undefined) query.callbackUrl = checkCallbackUrl(params.callbackUrl);
  if (params.redirectUri !== undefined) query.redirectUri = checkRedirectUri(params.redirectUri);
  if (params.groupId !== undefined) query.groupId = checkQueryText('groupId', params.groupId);
  const signal = checkSignal(params.signal);
  const answer = await exchange(client, signal, client.requestTimeoutMs, setTimeoutTimer, {
    // Without the query: a callback URL may carry a token of the caller's.
    operation: () => `GET ${fillPath(START_PATH, { platform })}`,
    send: (api, aborter) =>
      api.GET(START_PATH, { params: { path: { platform }, query }, signal: aborter, parseAs: 'stream' }),
    decode: decodeStart,
  });
  return Object.freeze({ ...answer.value, requestId: answer.requestId });
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

/** A path template with its parameters filled in as given (for messages; the request encodes them). */
function fillPath(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

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
  const { platform, sessionId } = params;
  const answer = await exchange(client, params.signal, timeoutMs, timer, {
    // Only built for messages, when something fails.
    operation: () => `GET ${fillPath(STATUS_PATH, { platform, sessionId })}`,
    send: (api, signal) =>
      api.GET(STATUS_PATH, { params: { path: { platform, sessionId } }, signal, parseAs: 'stream' }),
    decode: decodeSession,
  });
  const date = answer.response.headers.get('date');
  const serverDateMs = date ? Date.parse(date) : Number.NaN;
  return {
    session: answer.value,
    requestId: answer.requestId,
    serverDateMs: Number.isFinite(serverDateMs) ? serverDateMs : undefined,
  };
}

type Api = Internals['api'];

/** One operation, as {@link exchange} sends it and reads its answer. */
interface Call<T> {
  /** `GET /path`, for messages; only called when something fails. */
  readonly operation: () => string;
  /** Sends the request with `parseAs: 'stream'`, so that {@link readAnswer} reads the body, capped. */
  readonly send: (
    api: Api,
    signal: AbortSignal,
  ) => Promise<{ response: Response; data?: unknown; error?: unknown }>;
  /** Reads the answer's `data` (when `code` is 0); throws {@link BadField} when a field is wrong. */
  readonly decode: (data: unknown, redact: Redact) => T;
}

/** A business answer with `code: 0`. */
interface Answer<T> {
  readonly value: T;
  readonly requestId: string | undefined;
  readonly response: Response;
}

/** Sends one request with one timeout, settles on abort, and reads the answer. */
async function exchange<T>(
  client: AitoearnClient,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  timer: RequestTimer,
  call: Call<T>,
): Promise<Answer<T>> {
  const { api, redact } = internalsOf(client);
  signal?.throwIfAborted();
  const { operation } = call;

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
      // Read (capped) and parsed here rather than by openapi-fetch, so that a bad body keeps the
      // response's facts; inside the race, so that the timeout covers the body too.
      call.send(api, controller.signal).then(readAnswer),
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
    return interpret(outcome, call, redact, client.baseUrl);
  } finally {
    cancelTimer();
    if (signal) unlinkAbort(signal, abort);
  }
}

/**
 * openapi-fetch reads the body of a non-2xx answer whole, however large. Only the status and headers of
 * an answer other than 200 matter here: drop its body (closing the connection) before openapi-fetch sees it.
 */
function withoutErrorBody(response: Response): Response {
  if (response.status === 200) return response;
  response.body?.cancel().catch(() => {});
  const { status, statusText, headers } = response;
  return new Response(null, { status, statusText, headers });
}

type Sent = Awaited<ReturnType<Call<unknown>['send']>>;

/** Reads the body of a 200 answer (capped); other answers arrive without one. */
async function readAnswer({ response, data }: Sent): Promise<Received> {
  // Duck-typed: a custom fetch (the undici package, say) may build its streams from another copy of the class.
  const stream = data as ReadableStream<Uint8Array> | undefined;
  const text =
    typeof stream?.getReader === 'function'
      ? await readCapped(stream, response.headers.get('content-length'))
      : '';
  return { response, text };
}

interface Received {
  readonly response: Response;
  readonly text: string | typeof TOO_LARGE;
}

/** undici hides the useful part ("ECONNREFUSED", "other side closed") in `cause`. */
function describeCause(error: Error): string {
  const inner = error.cause instanceof Error ? error.cause : undefined;
  const code = inner && 'code' in inner ? ` (${String(inner.code)})` : '';
  return inner ? `${error.message}: ${inner.message}${code}` : error.message;
}

function interpret<T>(
  { response, text }: Received,
  { operation: operationOf, decode }: Call<T>,
  redact: Redact,
  baseUrl: string,
): Answer<T> {
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
      `${operationOf()} answered HTTP ${status}, a redirect (to ${redact(redirectTarget(headers, baseUrl))}); redirects are not followed so that the API key stays with this origin`,
      facts(),
    );
  }
  if (status !== 200) {
    const type = redact(headers.get('content-type') ?? 'no content type');
    throw new AitoearnTransportError(
      'http-status',
      `${operationOf()} answered HTTP ${status} (${type}); the API answers every business outcome with HTTP 200`,
      facts(),
    );
  }
  if (text === TOO_LARGE) {
    throw new AitoearnTransportError(
      'too-large',
      `${operationOf()} answered a body over ${MAX_ANSWER_BYTES} bytes (1 MiB; real answers are a few KB): stopped reading it`,
      facts(),
    );
  }
  let body: { code?: unknown; message?: unknown; data?: unknown; requestId?: unknown } | undefined;
  try {
    // Not redacted here: a key the server echoes JSON-escaped would survive. Each string is redacted
    // after decoding, as it is read.
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // The parser's message quotes the body, which could echo our headers back: never include it.
    const type = redact(headers.get('content-type') ?? 'no content type');
    throw new AitoearnTransportError(
      'bad-body',
      `${operationOf()} answered HTTP 200 with a body that is not JSON (${type}, ${text.length} characters)`,
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
  const requestId = typeof body.requestId === 'string' ? redact(body.requestId) : headerId();
  if (body.code !== 0) {
    const message = typeof body.message === 'string' ? redact(body.message) : '';
    throw new AitoearnApiError(body.code, message, operationOf(), facts(requestId));
  }
  try {
    return { value: decode(body.data, redact), requestId, response };
  } catch (error) {
    if (!(error instanceof BadField)) throw error;
    throw new AitoearnTransportError(
      'bad-body',
      `${operationOf()} answered code 0 with a bad ${error.message}`,
      facts(requestId),
    );
  }
}

/** The origin a redirect points to (a relative `Location` is resolved against the request's origin). */
function redirectTarget(headers: Headers, baseUrl: string): string {
  const location = headers.get('location');
  if (!location) return 'no location';
  try {
    return new URL(location, baseUrl).origin;
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
