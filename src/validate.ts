import { AitoearnInputError } from './errors.js';
import { show } from './text.js';

export { show };

/** The longest platform or session id we send; real ids are far shorter. */
export const MAX_PATH_PARAM_LENGTH = 256;
/** Timers in Node overflow (and fire at once) above this many milliseconds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws the package's standard input error: names the field, what was expected and the value. */
export function refuse(field: string, expected: string, value: unknown, why?: string): never {
  throw new AitoearnInputError(
    field,
    `Expected "${field}" to be ${expected}, got ${show(value)}${why ? `: ${why}` : ''}.`,
  );
}

// Whitespace, C0/C1 controls and invisible format characters (zero-width, bidi overrides).
const INVISIBLE = /[\s\p{Cc}\p{Cf}]/u;

/**
 * Checks one path parameter. openapi-fetch encodes with `encodeURIComponent`, which leaves `.` and `..`
 * alone, and the URL parser then resolves them to another path; the rest would change or hide the path.
 */
export function checkPathParam(field: string, value: unknown): string {
  const expected = 'a non-empty id that is safe in a URL path';
  if (typeof value !== 'string') refuse(field, expected, value);
  if (value.length === 0) refuse(field, expected, value, 'it is empty');
  if (value.length > MAX_PATH_PARAM_LENGTH) {
    refuse(field, expected, value, `it is longer than ${MAX_PATH_PARAM_LENGTH} characters`);
  }
  if (value === '.' || value === '..')
    refuse(field, expected, value, 'a dot segment would address another path');
  const bad = /[/\\?#%]/.exec(value);
  if (bad) refuse(field, expected, value, `it contains ${JSON.stringify(bad[0])}`);
  if (INVISIBLE.test(value)) refuse(field, expected, value, 'it contains whitespace or control characters');
  // A lone surrogate cannot be percent-encoded: encodeURIComponent would throw before any request.
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed())
    refuse(field, expected, value, 'it contains a lone UTF-16 surrogate');
  return value;
}

/** Checks the API key without ever putting it in the message. */
export function checkApiKey(value: unknown, field = 'apiKey'): string {
  const expected = 'a non-empty string without whitespace or control characters';
  if (typeof value !== 'string') {
    // A number or boolean key is still the key: name its type only.
    const got = value == null ? String(value) : `a value of type ${typeof value}`;
    throw new AitoearnInputError(field, `Expected "${field}" to be ${expected}, got ${got}.`);
  }
  if (value.length === 0) refuse(field, expected, value, 'it is empty');
  // Printable ASCII only: a header carries nothing else faithfully. (Quotes and backslashes are fine: the
  // client redacts the key from decoded strings, so JSON escaping cannot hide an echo of it.)
  if (value.length > 4096 || INVISIBLE.test(value) || /[^\x21-\x7e]/.test(value)) {
    throw new AitoearnInputError(
      field,
      `Expected "${field}" to be ${expected}, got a ${value.length}-character string that contains ${
        value.length > 4096 ? 'too many characters' : 'whitespace, control or non-ASCII characters'
      } (the key itself is not shown).`,
    );
  }
  return value;
}

/** A positive, finite number of milliseconds that a timer can hold. */
export function checkPositiveMs(field: string, value: unknown, max = MAX_TIMER_MS): number {
  const expected = `a positive number of milliseconds no larger than ${max}`;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    refuse(field, expected, value);
  }
  return value;
}

/** An integer in [min, max]. */
export function checkInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    refuse(field, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** A finite number in [min, max]. */
export function checkNumber(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    refuse(field, `a number from ${min} to ${max}`, value);
  }
  return value;
}

export function checkFunction<T>(field: string, value: T): T {
  if (typeof value !== 'function') refuse(field, 'a function', value);
  return value;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Whether a URL's host is this machine (the sandbox, Prism, tests). */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/**
 * Checks a base URL: https, or http to a loopback host; no credentials, query or fragment (they would be
 * sent with, or silently change, every request). Returns it without a trailing slash.
 */
export function checkBaseUrl(value: unknown): string {
  const expected = 'an https URL (or http to a loopback host) without credentials, query or fragment';
  if (typeof value !== 'string' && !(value instanceof URL)) refuse('baseUrl', expected, value);
  const text = String(value);
  // Credentials are secrets: a URL that may hold them ("@") is never echoed, whichever check refuses it.
  const fail = (why: string): never => {
    if (!text.includes('@')) refuse('baseUrl', expected, text, why);
    throw new AitoearnInputError(
      'baseUrl',
      `Expected "baseUrl" to be ${expected}, got a URL that may hold credentials (not shown): ${why}.`,
    );
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('it is not a URL');
  }
  if (url.username || url.password) {
    throw new AitoearnInputError(
      'baseUrl',
      `Expected "baseUrl" to be ${expected}, got a URL for ${url.host} that holds credentials (not shown).`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    fail(`the scheme ${url.protocol} is not supported`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    fail('plain http would send the API key unencrypted; use https');
  }
  if (url.search || text.includes('?')) fail('it has a query');
  if (url.hash || text.includes('#')) fail('it has a fragment');
  return url.href.replace(/\/+$/, '');
}

/** An optional `AbortSignal`. */
export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) refuse('signal', 'an AbortSignal', value);
  return value;
}

/** The longest URL we pass on as a query parameter; browsers and servers cut far longer ones anyway. */
export const MAX_URL_LENGTH = 2048;

/** A short text sent as a query parameter, such as a group id. */
export function checkQueryText(field: string, value: unknown): string {
  const expected = 'a non-empty string without whitespace or control characters';
  if (typeof value !== 'string') refuse(field, expected, value);
  if (value.length === 0) refuse(field, expected, value, 'it is empty');
  if (value.length > MAX_PATH_PARAM_LENGTH) {
    refuse(field, expected, value, `it is longer than ${MAX_PATH_PARAM_LENGTH} characters`);
  }
  if (INVISIBLE.test(value)) refuse(field, expected, value, 'it contains whitespace or control characters');
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed())
    refuse(field, expected, value, 'it contains a lone UTF-16 surrogate');
  return value;
}

/**
 * An http or https URL that the person's browser is sent to, passed to the API as a query parameter.
 * Returns it normalised (`URL.href`).
 */
function checkBrowserUrl(field: string, value: unknown, expected: string): URL {
  if (typeof value !== 'string' && !(value instanceof URL)) refuse(field, expected, value);
  const text = String(value);
  if (text.length > MAX_URL_LENGTH)
    refuse(field, expected, text, `it is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse(field, expected, text, 'it is not a URL');
  }
  if (url.username || url.password) {
    throw new AitoearnInputError(
      field,
      `Expected "${field}" to be ${expected}, got a URL for ${url.host} that holds credentials (not shown): they would be sent to the AiToEarn API.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    refuse(field, expected, text, `the scheme ${url.protocol} is not supported`);
  }
  return url;
}

/** Where the browser POSTs the result: http or https, loopback accepted (the API does too). */
export function checkCallbackUrl(value: unknown): string {
  return checkBrowserUrl('callbackUrl', value, 'an http or https URL').href;
}

// What the API's validation (zod `httpUrl()`) accepts as a host: a domain name with a letter-only top-level label.
export const DOMAIN_NAME = /^([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$/;

/**
 * Where the browser goes after success: http or https with a domain name. The API refuses `localhost`,
 * `127.0.0.1`, `[::1]` and any IP address here (code 400), so they are refused before anything is sent.
 */
export function checkRedirectUri(value: unknown): string {
  const expected = 'an http or https URL with a domain name';
  const url = checkBrowserUrl('redirectUri', value, expected);
  if (!DOMAIN_NAME.test(url.hostname)) {
    refuse(
      'redirectUri',
      expected,
      String(value),
      `the AiToEarn API accepts only a domain name there, not ${url.hostname} (localhost, 127.0.0.1, [::1] and IP addresses are refused); use "callbackUrl" for a local address`,
    );
  }
  return url.href;
}
