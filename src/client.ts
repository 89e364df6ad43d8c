import createClient from 'openapi-fetch';
import { linkAbort, unlinkAbort } from './abort-link.js';
import * as answer from './answer.js';
import { AitoearnApiError, AitoearnTransportError, type TransportFailure } from './errors.js';
import type { paths } from './generated/aitoearn.js';
import { START_PATH, STATUS_PATH } from './operations.js';
import type { AuthSession, AuthStart, Platform } from './types.js';
import * as v from './validate.js';
import { VERSION } from './version.js';

export type { AuthSession, AuthStatus } from './types.js';

const SITES = { cn: 'https://aitoearn.cn', ai: 'https://aitoearn.ai' } as const;
/** The two public sites of the AiToEarn Open Platform. */
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

export const clientDefaults = Object.freeze({ site: 'ai', requestTimeoutMs: 10_000 } as const);

/** A configured client. It holds the key out of sight: inspecting or serialising it shows no secret. */
export interface AitoearnClient {
  /** The origin (and path prefix) every request goes to. */
  readonly baseUrl: string;
  readonly requestTimeoutMs: number;
}

type Api = ReturnType<typeof createClient<paths>>;
/** Out of sight of `inspect` and `JSON.stringify`: the key inside openapi-fetch's headers, and its redactor. */
const internals = new WeakMap<AitoearnClient, { readonly api: Api; readonly redact: answer.Redact }>();

/**
 * Creates a client for the AiToEarn Open Platform. Options are checked at once; nothing is sent.
 *
 * @example
 * const client = createAitoearnClient({ apiKey: process.env.AITOEARN_API_KEY ?? '', site: 'cn' });
 */
export function createAitoearnClient(options: AitoearnClientOptions): AitoearnClient {
  v.checkObject('options', options);
  const apiKey = v.checkApiKey(options.apiKey);
  const { acceptLanguage: lang, fetch: custom } = options;
  const site = options.site ?? clientDefaults.site;
  if (!Object.hasOwn(SITES, site)) v.refuse('site', '"cn" or "ai"', site);
  const baseUrl = v.checkUrl('baseUrl', options.baseUrl ?? SITES[site]);
  const timeoutMs = options.requestTimeoutMs ?? clientDefaults.requestTimeoutMs;
  const requestTimeoutMs = v.checkPositiveMs('requestTimeoutMs', timeoutMs);
  if (lang !== undefined && (typeof lang !== 'string' || !/^[A-Za-z0-9,;=.* -]{1,100}$/.test(lang))) {
    v.refuse('acceptLanguage', 'a language tag such as "en-US" or "zh-CN"', lang);
  }
  if (custom !== undefined) v.checkFunction('fetch', custom);
  const send = custom ?? ((request: Request) => fetch(request.url, (request as unknown as Plain).init));
  const api = createClient<paths>({
    baseUrl,
    headers: {
      'X-Api-Key': apiKey,
      Accept: 'application/json',
      'User-Agent': `aitoearn-auth/${VERSION}`,
      ...(lang !== undefined && { 'Accept-Language': lang }),
    },
    // A redirect would carry X-Api-Key to wherever it points.
    redirect: 'manual',
    // The global fetch would copy a Request into one of its own (with one more AbortController): it gets a
    // plain holder. A custom fetch still gets a real Request, as documented.
    ...(!custom && { Request: Plain as unknown as typeof Request }),
    // openapi-fetch would read a non-2xx body whole, however large: it gets a stand-in (ok, and with no body
    // to read), and `exchange` reads the answer itself.
    fetch: (request: Request) =>
      send(request).then((real) => ({ ok: true, headers: real.headers, real }) as never),
  });
  const client: AitoearnClient = Object.freeze({ baseUrl, requestTimeoutMs });
  internals.set(client, { api, redact: answer.redactorFor(apiKey) });
  return client;
}

type Plain = { readonly url: string; readonly init: RequestInit };
/** openapi-fetch calls it with `new`: a constructor that returns an object makes that object the instance. */
function Plain(url: string, init: RequestInit): Plain {
  return { url, init };
}

export interface GetAuthStatusParams {
  /** The platform the session was started for, e.g. `douyin`. */
  readonly platform: Platform | (string & {});
  /** The session id returned when the authorization was started. */
  readonly sessionId: string;
  /** Aborting rejects with the signal's `reason`, as `fetch` does. */
  readonly signal?: AbortSignal;
}

/** A status answer: the session, and what the waiter reads from the response. */
export interface AuthStatusResult {
  readonly session: AuthSession;
  /** The API's request id, for support tickets. */
  readonly requestId: string | undefined;
  /** The server's clock from the `Date` header, epoch ms (1 s resolution), when sent. */
  readonly serverDateMs: number | undefined;
}

/**
 * Asks once for the state of an authorization session. Throws {@link AitoearnApiError} for a non-zero
 * business code, {@link AitoearnTransportError} when no business answer arrived, and `AitoearnInputError`,
 * sending nothing, for a bad parameter.
 *
 * @example
 * const { session } = await getAuthStatus(client, { platform: 'douyin', sessionId });
 */
export async function getAuthStatus(client: AitoearnClient, params: GetAuthStatusParams) {
  checkClient(client);
  checkStatusParams(params);
  return requestAuthStatus(client, params, client.requestTimeoutMs);
}

export function checkStatusParams(params: GetAuthStatusParams): void {
  v.checkObject('params', params);
  v.checkPathParam('platform', params.platform);
  v.checkPathParam('sessionId', params.sessionId);
  v.checkSignal(params.signal);
}

export interface StartAuthParams {
  /** The platform to connect an account of, e.g. `douyin`. */
  readonly platform: Platform | (string & {});
  /** Where the browser POSTs the result on success: an http(s) URL, loopback allowed. A hint, never the outcome. */
  readonly callbackUrl?: string | URL;
  /** Where the browser goes on success without `callbackUrl`: an http(s) URL with a domain name (no IP). */
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
 * Starts the authorization of an account: resolves with the `url` to open (an http(s) page, or a raster
 * `data:image/` QR code; any other is a final `refused-url`), the `sessionId` to wait for, its `expiresAt`
 * and `authInstructions` as plain text. Errors as for {@link getAuthStatus}, and business codes 15032
 * (platform not supported), 12601 (group not found) and 400 (a refused URL).
 *
 * @example
 * const started = await startAuth(client, { platform: 'douyin' });
 * const session = await waitForAuth(client, { platform: 'douyin', sessionId: started.sessionId });
 */
export async function startAuth(client: AitoearnClient, params: StartAuthParams): Promise<AuthStartResult> {
  checkClient(client);
  v.checkObject('params', params);
  const path = { platform: v.checkPathParam('platform', params.platform) };
  const query: NonNullable<paths[typeof START_PATH]['get']['parameters']['query']> = {};
  if (params.callbackUrl !== undefined) query.callbackUrl = v.checkUrl('callbackUrl', params.callbackUrl);
  if (params.redirectUri !== undefined)
    query.redirectUri = v.checkUrl('redirectUri', params.redirectUri, v.domainName);
  if (params.groupId !== undefined) query.groupId = v.checkQueryText('groupId', params.groupId);
  const signal = v.checkSignal(params.signal);
  const started = await exchange(client, START_PATH, { path, query }, signal, answer.decodeStart);
  return Object.freeze({ ...started.value, requestId: started.requestId });
}

/** Throws unless `client` came from {@link createAitoearnClient}; returns what it holds out of sight. */
export function checkClient(client: AitoearnClient) {
  const expected = 'a client from createAitoearnClient()';
  return internals.get(client) ?? v.refuse('client', expected, client, '', v.unshown(client));
}

// A constant abort reason: aborting without one builds a DOMException (and its stack) on every call.
const TIMED_OUT = Object.freeze(new Error('request timed out'));

/** Calls `onTimeout` after `ms` milliseconds unless the returned function (cancel) is called first. */
export type RequestTimer = (ms: number, onTimeout: () => void) => () => void;

const setTimeoutTimer: RequestTimer = (ms, onTimeout) => clearTimeout.bind(null, setTimeout(onTimeout, ms));

/** The status request for parameters checked once with {@link checkStatusParams} (by the waiter). @internal */
export async function requestAuthStatus(
  client: AitoearnClient,
  { platform, sessionId, signal }: GetAuthStatusParams,
  timeoutMs: number,
  timer = setTimeoutTimer,
): Promise<AuthStatusResult> {
  const decode = (data: unknown, redact: answer.Redact) => answer.decodeSession(data, redact, sessionId);
  const path = { platform, sessionId };
  const got = await exchange(client, STATUS_PATH, { path }, signal, decode, timeoutMs, timer);
  const date = Date.parse(got.headers.get('date') ?? '');
  const serverDateMs = Number.isNaN(date) ? undefined : date;
  return { session: got.value, requestId: got.requestId, serverDateMs };
}

// One signature for both operations: openapi-fetch types `params` per path.
type Get = (path: string, init: object) => Promise<{ response: { readonly real: Response } }>;
type Texts = Readonly<Record<string, string>>;

/**
 * Sends one request with one timeout, settles on abort, and reads the answer, capped. Messages name the
 * operation without its query: a callback URL may carry a token of the caller's.
 */
async function exchange<T>(
  client: AitoearnClient,
  path: typeof START_PATH | typeof STATUS_PATH,
  params: { readonly path: Texts; readonly query?: Texts },
  signal: AbortSignal | undefined,
  decode: (data: unknown, redact: answer.Redact) => T,
  timeoutMs = client.requestTimeoutMs,
  timer = setTimeoutTimer,
): Promise<{ value: T; requestId: string | undefined; headers: Headers }> {
  const { api, redact } = checkClient(client);
  signal?.throwIfAborted();
  const operation = () => `GET ${path.replace(/\{(\w+)\}/g, (_, name: string) => params.path[name] ?? '')}`;
  const controller = new AbortController();
  // Settles on abort even when a custom fetch ignores the signal (undici follows it through a WeakRef only).
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.onabort = () => reject(controller.signal.reason);
  });
  aborted.catch(() => {});
  const abort = (reason: unknown) => controller.abort(reason);
  if (signal) linkAbort(signal, abort);
  const cancelTimer = timer(timeoutMs, () => abort(TIMED_OUT));
  const init = { params, signal: controller.signal, parseAs: 'stream' } as const;
  // Read even when aborted meanwhile: the body of a late answer must be cancelled too.
  const read = async ({ response: { real } }: Awaited<ReturnType<Get>>) =>
    [real, await answer.readBody(real, aborted)] as const;
  let received: Awaited<ReturnType<typeof read>>;
  try {
    received = await Promise.race([(api.GET as unknown as Get)(path, init).then(read), aborted]);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const timedOut = controller.signal.reason === TIMED_OUT;
    const cause = redact(describeCause(error));
    const what = timedOut ? `timed out after ${Math.round(timeoutMs)} ms` : `failed on the network: ${cause}`;
    // A custom fetch's error may carry the request, key included: keep only its redacted text and code.
    const { code } = error instanceof Error ? (error as { code?: unknown }) : {};
    const kept = typeof code === 'string' ? { code: redact(code) } : {};
    const options = { cause: Object.assign(new Error(cause), kept) };
    throw new AitoearnTransportError(timedOut ? 'timeout' : 'network', `${operation()} ${what}`, {}, options);
  } finally {
    cancelTimer();
    if (signal) unlinkAbort(signal, abort);
    // undici holds the signal until a finalizer runs: it must not hold this request's state (the answer) too.
    controller.signal.onabort = null;
  }
  const [{ status, headers }, text] = received;
  // Built only when needed: the success path of the status request stays cheap.
  const serverId = (id: string | null) => (id === null ? undefined : cut(redact(id), 200));
  const headerId = () => serverId(headers.get('x-request-id'));
  const facts = (id?: string) => ({ httpStatus: status, requestId: id, retryAfterMs: retryAfterMs(headers) });
  const fail = (reason: TransportFailure, what: string, id = headerId()): never => {
    throw new AitoearnTransportError(reason, `${operation()} answered ${what}`, facts(id));
  };
  const type = () => redact(headers.get('content-type') ?? 'no content type');
  if (status >= 300 && status < 400) {
    const [at, base] = [headers.get('location') ?? '', client.baseUrl];
    const to = redact(at && URL.canParse(at, base) ? new URL(at, base).origin : 'no usable location');
    fail('redirect', `HTTP ${status}, a redirect to ${to}, not followed (the key stays here)`);
  }
  if (status !== 200) fail('http-status', `HTTP ${status} (${type()}); the API answers all with 200`);
  const mib = answer.MAX_ANSWER_BYTES / 2 ** 20;
  if (text === undefined) return fail('too-large', `a body over ${mib} MiB (real answers are a few KB)`);
  let body: { code?: unknown; message?: unknown; data?: unknown; requestId?: unknown } | undefined;
  try {
    // Not redacted here: a key echoed JSON-escaped would survive. Each string is redacted once decoded.
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // The parser's message quotes the body, which could echo our headers back.
    fail('bad-body', `HTTP 200 with a body that is not JSON (${type()}, ${text.length} characters)`);
  }
  if (!body || typeof body !== 'object' || !Number.isInteger(body.code))
    return fail('bad-body', 'a body without an integer "code"');
  const requestId = typeof body.requestId === 'string' ? serverId(body.requestId) : headerId();
  if (body.code !== 0) {
    const message = typeof body.message === 'string' ? cut(redact(body.message), 1000) : '';
    throw new AitoearnApiError(body.code as number, message, operation(), facts(requestId));
  }
  try {
    return { value: decode(body.data, redact), requestId, headers };
  } catch (error) {
    if (!(error instanceof answer.BadField)) throw error;
    const reason = error.final ? 'refused-url' : 'bad-body';
    return fail(reason, `code 0 with a bad ${error.message}`, requestId);
  }
}

/** Server text kept for a message: a real message or request id is far shorter than `max`. */
function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** undici hides the useful part ("ECONNREFUSED", "other side closed") in `cause`. */
function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const inner = error.cause;
  if (!(inner instanceof Error)) return error.message;
  return `${error.message}: ${inner.message}${'code' in inner ? ` (${String(inner.code)})` : ''}`;
}

/** `Retry-After` (seconds or an HTTP date) or `X-RateLimit-Reset` (epoch ms), as a delay from now. */
function retryAfterMs(headers: Headers): number | undefined {
  const now = Date.parse(headers.get('date') ?? '') || Date.now();
  const after = headers.get('retry-after')?.trim() ?? '';
  const reset = headers.get('x-ratelimit-reset')?.trim() ?? '';
  const delays = [
    /^\d+(\.\d+)?$/.test(after) ? Number(after) * 1000 : Date.parse(after) - now,
    /^\d+$/.test(reset) ? Number(reset) - now : Number.NaN,
  ].filter(Number.isFinite);
  return delays.length > 0 ? Math.max(0, ...delays) : undefined;
}
