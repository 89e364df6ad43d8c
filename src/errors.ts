/** Every error this package throws extends {@link AitoearnError}; none carries the API key. */
import { type AitoearnApiErrorKind, AUTH_ERROR_CODES, codeFacts } from './codes.js';
import { printable } from './text.js';
import type { AuthSession } from './types.js';

export type { AitoearnApiErrorKind };

/** Gives an error class a constant `name` on its prototype (a minifier renames classes). */
export function named(cls: { prototype: Error }, name: string): void {
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
}

/** The base class of every error thrown by aitoearn-auth. */
export class AitoearnError extends Error {
  /** The last session snapshot seen before the error, when a waiter saw one. */
  declare readonly session?: AuthSession | undefined;
  // Once for every error: the server text a message quotes (a status, a header, a message) is escaped here.
  constructor(message: string, options?: ErrorOptions) {
    super(printable(message), options);
  }
}

/** An argument or option was invalid; nothing was sent. */
export class AitoearnInputError extends AitoearnError {
  /** The option or argument that was refused, such as `"sessionId"` or `"baseUrl"`. */
  declare readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    Object.assign(this, { field });
  }
}

/** The kind of a business `code`; codes this package does not know are `'unknown'`. */
export const apiErrorKind = (code: number): AitoearnApiErrorKind => codeFacts(code)?.kind ?? 'unknown';

export interface ResponseFacts {
  /** The API's request id (`requestId` in the body, or the `x-request-id` header). */
  readonly requestId?: string | undefined;
  readonly httpStatus?: number | undefined;
  /** How long the server asked us to wait (`Retry-After`, `X-RateLimit-Reset`), in ms. */
  readonly retryAfterMs?: number | undefined;
}

/** A request reached the API (or something in front of it) and failed. */
export class AitoearnResponseError extends AitoearnError {
  readonly requestId: string | undefined;
  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, facts: ResponseFacts = {}, options?: ErrorOptions) {
    super(message, options);
    ({ requestId: this.requestId, httpStatus: this.httpStatus, retryAfterMs: this.retryAfterMs } = facts);
  }
}

/**
 * The API answered with a non-zero business `code` (every business answer is HTTP 200). Starting an
 * authorization can also answer 15032 (`platform-unsupported`), 12601 (`group-not-found`) and 400.
 */
export class AitoearnApiError extends AitoearnResponseError {
  declare readonly code: number;
  /** The server's own message, in the language asked for with `acceptLanguage`. Never match on it. */
  declare readonly serverMessage: string;
  declare readonly kind: AitoearnApiErrorKind;

  constructor(code: number, serverMessage: string, operation: string, facts: ResponseFacts = {}) {
    const id = facts.requestId ? ` (request id ${facts.requestId})` : '';
    const meaning = codeFacts(code)?.meaning ?? 'unknown code';
    const said = JSON.stringify(serverMessage);
    super(`AiToEarn API answered code ${code} (${meaning}) for ${operation}${id}: ${said}`, facts);
    Object.assign(this, { code, serverMessage, kind: apiErrorKind(code) });
  }
}

/** Why a request failed below the business layer. */
export type TransportFailure = 'network' | 'timeout' | 'http-status' | 'redirect' | BadAnswer;
/** An HTTP 200 whose body cannot be used. */
type BadAnswer = 'bad-body' | 'too-large' | 'refused-url';

/**
 * No usable business answer came: the network failed, the request timed out, a gateway answered an HTTP
 * status other than 200, the body was not the API's JSON or was over 1 MiB, the server redirected, or a
 * start answer's `url` was not one to open (`refused-url`).
 */
export class AitoearnTransportError extends AitoearnResponseError {
  declare readonly reason: TransportFailure;

  constructor(reason: TransportFailure, message: string, facts: ResponseFacts = {}, options?: ErrorOptions) {
    super(message, facts, options);
    Object.assign(this, { reason });
  }
}

/**
 * Whether retrying the same request may succeed: network errors, timeouts, HTTP 408/429/5xx, broken or
 * oversized bodies, business codes 429 and 500. Everything else is terminal.
 *
 * @example
 * try { await getAuthStatus(client, params) } catch (error) { if (!isTransient(error)) throw error }
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof AitoearnApiError) return codeFacts(error.code)?.transient === true;
  if (!(error instanceof AitoearnTransportError)) return false;
  if (error.reason !== 'http-status') return error.reason !== 'redirect' && error.reason !== 'refused-url';
  // A 2xx other than 200 is a gateway's doing (the API answers everything with 200): a broken answer.
  const status = error.httpStatus ?? 0;
  return status === 408 || status === 429 || status >= 500 || (status >= 200 && status < 300);
}

/** What a `failed` session's `errorCode` means (the platform callback failed). */
export function describeAuthErrorCode(errorCode: number | undefined): string {
  if (errorCode === undefined) return 'no error code given';
  const ownApi = errorCode >= 15070 && errorCode <= 15094 && "the platform's own API failed";
  return AUTH_ERROR_CODES[errorCode] ?? (ownApi || 'unknown error code');
}

/** The session ended with `status: failed`: the platform callback failed (`errorCode` says why). */
export class AuthFailedError extends AitoearnError {
  declare readonly session: AuthSession;
  declare readonly errorCode: number | undefined;
  /** A readable meaning of `errorCode`. */
  declare readonly meaning: string;

  constructor(session: AuthSession) {
    const { sessionId, errorCode } = session;
    const meaning = describeAuthErrorCode(errorCode);
    const code = errorCode ?? 'none';
    super(`Authorization of session ${sessionId} failed with error code ${code} (${meaning})`);
    Object.assign(this, { session, errorCode, meaning });
  }
}

/** The session is invalid or expired: its `expiresAt` passed, or the API answered 15039. */
export class AuthExpiredError extends AitoearnError {
  declare readonly expiresAt: string | undefined;

  constructor(message: string, session: AuthSession | undefined, options?: ErrorOptions) {
    super(message, options);
    Object.assign(this, { session, expiresAt: session?.expiresAt });
  }
}

/** The caller's `timeoutMs` ran out before the session ended. */
export class AuthTimeoutError extends AitoearnError {
  declare readonly timeoutMs: number;

  constructor(timeoutMs: number, session: AuthSession | undefined, options?: ErrorOptions) {
    const last = `last status: ${session?.status ?? 'none seen'}`;
    super(`Gave up waiting for the authorization after timeoutMs=${timeoutMs} (${last})`, options);
    Object.assign(this, { timeoutMs, session });
  }
}

/** Transient failures never stopped until the deadline; `cause` is the last one. */
export class AitoearnUnavailableError extends AitoearnError {
  /** How many requests failed in a row before giving up. */
  declare readonly failures: number;
  /** Set when the failures lasted until the session's `expiresAt`: the outcome is unknown, not expired. */
  declare readonly expiresAt?: string;

  constructor(failures: number, session: AuthSession | undefined, cause: unknown, expiresAt?: string) {
    const expiry = expiresAt ? `; the session expired at ${expiresAt} meanwhile (outcome unknown)` : '';
    const last = `the last one: ${cause instanceof Error ? cause.message : String(cause)}`;
    super(`AiToEarn API unavailable: ${failures} request(s) in a row failed${expiry}; ${last}`, { cause });
    Object.assign(this, { failures, session, expiresAt });
  }
}

const CLASSES = { AitoearnError, AitoearnInputError, AitoearnResponseError, AitoearnApiError };
const MORE_CLASSES = { AuthFailedError, AitoearnTransportError, AuthExpiredError, AuthTimeoutError };
for (const [name, cls] of Object.entries({ ...CLASSES, ...MORE_CLASSES, AitoearnUnavailableError })) {
  named(cls, name);
}
