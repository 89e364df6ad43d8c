/** Input checks; a refused value throws {@link AitoearnInputError}, naming field, expectation and value. */
import { AitoearnInputError } from './errors.js';
import { show } from './text.js';

/** Timers in Node overflow (and fire at once) above this many milliseconds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws the standard input error; `got` replaces the shown value where it may hold a secret. */
export function refuse(field: string, expected: string, value: unknown, why = '', got = show(value)): never {
  throw new AitoearnInputError(
    field,
    `Expected "${field}" to be ${expected}, got ${got}${why && `: ${why}`}.`,
  );
}

const PLAIN = 'a non-empty string without whitespace or control characters';

/** Text rules: what is expected, the longest length, what it must not contain (`%s`: what was found). */
const TEXTS = {
  // encodeURIComponent leaves `.` and `..` as they are, which the URL parser resolves to another path.
  path: {
    expected: 'a non-empty id that is safe in a URL path',
    max: 256,
    bad: [
      [/^\.\.?$/, 'a dot segment would address another path'],
      [/[/\\?#%]/, 'it contains %s'],
    ],
  },
  query: { expected: PLAIN, max: 256, bad: [] },
  // `secret`: the message never shows the value. A header carries printable ASCII only.
  apiKey: {
    expected: PLAIN,
    max: 4096,
    bad: [[/[^\x21-\x7e]/, 'it contains non-ASCII characters']],
    secret: 1,
  },
} as const;

function checkText(kind: keyof typeof TEXTS, field: string, value: unknown): string {
  const rule = TEXTS[kind];
  // A number or a long string may still be the key: name its type and length only.
  const hide = 'secret' in rule && value != null && value !== '';
  const got = hide ? `a ${typeof value} of length ${String(value).length} (not shown)` : undefined;
  const fail = (why?: string): never => refuse(field, rule.expected, value, why, got);
  if (typeof value !== 'string') return fail();
  if (value === '') fail('it is empty');
  if (value.length > rule.max) fail(`it is longer than ${rule.max} characters`);
  if (/[\s\p{Cc}\p{Cf}]/u.test(value)) fail('it contains whitespace or control characters');
  // encodeURIComponent throws on a lone surrogate.
  if (/\p{Cs}/u.test(value)) fail('it contains a lone UTF-16 surrogate');
  for (const [pattern, why] of rule.bad) {
    const found = pattern.exec(value);
    if (found) fail(why.replace('%s', JSON.stringify(found[0])));
  }
  return value;
}

/** One path parameter (a platform, a session id). */
export const checkPathParam = (field: string, value: unknown): string => checkText('path', field, value);
export const checkQueryText = (field: string, value: unknown): string => checkText('query', field, value);
/** The API key; the message never shows it. */
export const checkApiKey = (value: unknown, field = 'apiKey'): string => checkText('apiKey', field, value);

/** A finite number in [min, max], an integer if asked. */
export function checkNumber(field: string, value: unknown, min: number, max: number, integer = false) {
  const ok = typeof value === 'number' && (integer ? Number.isInteger(value) : Number.isFinite(value));
  return ok && value >= min && value <= max
    ? value
    : refuse(field, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`, value);
}

export const checkInteger = (field: string, value: unknown, min: number, max: number): number =>
  checkNumber(field, value, min, max, true);

/** A positive number of milliseconds that a timer can hold. */
export const checkPositiveMs = (field: string, value: unknown, max = MAX_TIMER_MS): number =>
  typeof value === 'number' && value > 0 && value <= max
    ? value
    : refuse(field, `a positive number of milliseconds no larger than ${max}`, value);

export const checkFunction = <T>(field: string, value: T): T =>
  typeof value === 'function' ? value : refuse(field, 'a function', value);

export const checkSignal = (value: unknown): AbortSignal | undefined =>
  value === undefined || value instanceof AbortSignal ? value : refuse('signal', 'an AbortSignal', value);

export function checkObject(field: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) refuse(field, 'an object', value);
}

export const isLoopbackHost = (hostname: string): boolean =>
  /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i.test(hostname);

/** What the API's validation (zod `httpUrl()`) accepts as a host: a domain name with a letter-only top label. */
export const DOMAIN_NAME = /^([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$/;

type UrlRule = { expected: string; base?: true; domain?: true };
/**
 * `base`: the base of every request, where a query or fragment would change each one and plain http would
 * send the key unencrypted. `domain`: the API refuses localhost and IP addresses there (code 400).
 */
const URLS = {
  baseUrl: {
    expected: 'an https URL (or http to a loopback host) without credentials, query or fragment',
    base: true,
  },
  callbackUrl: { expected: 'an http or https URL' },
  redirectUri: { expected: 'an http or https URL with a domain name', domain: true },
} as const satisfies Record<string, UrlRule>;

/** A URL of one of the kinds in the table, normalised (`URL.href`; a base URL without a trailing slash). */
export function checkUrl(field: keyof typeof URLS, value: unknown): string {
  const rule: UrlRule = URLS[field];
  if (typeof value !== 'string' && !(value instanceof URL)) refuse(field, rule.expected, value);
  const text = String(value);
  // Credentials are secrets: a URL that may hold them ("@") is never echoed, whichever check refuses it.
  const got = text.includes('@') ? 'a URL that may hold credentials (not shown)' : undefined;
  const fail = (why: string): never => refuse(field, rule.expected, text, why, got);
  // Browsers and servers cut far longer ones anyway.
  if (!rule.base && text.length > 2048) fail('it is longer than 2048 characters');
  if (!URL.canParse(text)) fail('it is not a URL');
  const url = new URL(text);
  if (url.username || url.password) fail(`it holds credentials for ${url.host}`);
  if (!/^https?:$/.test(url.protocol)) fail(`the scheme ${url.protocol} is not supported`);
  if (rule.base && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    fail('plain http would send the API key unencrypted; use https');
  }
  if (rule.domain && !DOMAIN_NAME.test(url.hostname)) {
    const local =
      '(localhost, 127.0.0.1, [::1] and IP addresses are refused); use "callbackUrl" for a local address';
    fail(`the AiToEarn API accepts only a domain name there, not ${url.hostname} ${local}`);
  }
  if (!rule.base) return url.href;
  if (url.search || text.includes('?')) fail('it has a query');
  if (url.hash || text.includes('#')) fail('it has a fragment');
  return url.href.replace(/\/+$/, '');
}
