/** Input checks; a refused value throws {@link AitoearnInputError}, naming field, expectation and value. */
import { AitoearnInputError } from './errors.js';
import { show } from './text.js';

/** Timers in Node overflow (and fire at once) above this many milliseconds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws the standard input error; `got` replaces the shown value where it may hold a secret. */
export function refuse(field: string, expected: string, value: unknown, why = '', got = show(value)): never {
  const message = `Expected "${field}" to be ${expected}, got ${got}${why && `: ${why}`}.`;
  throw new AitoearnInputError(field, message);
}

const PLAIN = 'a non-empty string without whitespace or control characters';

/** Text rules: what is expected, the longest length, what it must not contain (`%s`: what was found). */
const TEXTS = {
  // encodeURIComponent leaves `.` and `..` as they are, which the URL parser resolves to another path.
  path: [
    'a non-empty id that is safe in a URL path',
    256,
    [/^\.\.?$/, 'a dot segment would address another path'],
    [/[/\\?#%]/, 'it contains %s'],
  ],
  query: [PLAIN, 256],
  // The message never shows the key (see checkText). A header carries printable ASCII only.
  apiKey: [PLAIN, 4096, [/[^\x21-\x7e]/, 'it contains non-ASCII characters']],
} as const;

/** What no text may be or contain, checked after the length and before each kind's own rules. */
const ALWAYS = [
  [/^$/, 'it is empty'],
  [/[\s\p{Cc}\p{Cf}]/u, 'it contains whitespace or control characters'],
  // encodeURIComponent throws on a lone surrogate.
  [/\p{Cs}/u, 'it contains a lone UTF-16 surrogate'],
] as const;

function checkText(kind: keyof typeof TEXTS, field: string, value: unknown): string {
  const [expected, max, ...bad] = TEXTS[kind];
  // A number or a long string may still be the key: name its type and length only.
  const hide = kind === 'apiKey' && value != null && value !== '';
  const got = hide ? `a ${typeof value} of length ${String(value).length} (not shown)` : undefined;
  const fail = (why?: string): never => refuse(field, expected, value, why, got);
  if (typeof value !== 'string') return fail();
  if (value.length > max) fail(`it is longer than ${max} characters`);
  for (const [pattern, why] of [...ALWAYS, ...bad]) {
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
  if (ok && value >= min && value <= max) return value;
  return refuse(field, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`, value);
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

/** A string in place of options or a client may be the key itself: it is named by its length only. */
export const unshown = (value: unknown) =>
  typeof value === 'string' ? `a string of length ${value.length} (not shown)` : undefined;

export function checkObject(field: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) refuse(field, 'an object', value, '', unshown(value));
}

export const isLoopbackHost = (hostname: string): boolean =>
  /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i.test(hostname);

/** What the API's validation (zod `httpUrl()`) accepts as a host: a domain name with a letter-only top label. */
export const DOMAIN_NAME = /^([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$/;

const LOCAL =
  '(localhost, 127.0.0.1, [::1] and IP addresses are refused); use "callbackUrl" for a local address';
/** `redirectUri`'s own check, which only startAuth passes: the API refuses localhost and IPs there (code 400). */
export const domainName: UrlCheck = ({ hostname: host }, fail) =>
  DOMAIN_NAME.test(host) || fail(`the AiToEarn API accepts only a domain name there, not ${host} ${LOCAL}`);
type UrlCheck = (url: URL, fail: (why: string) => never) => void;

const HTTP = 'an http or https URL';
// `baseUrl`: the base of every request, where a query or fragment would change each one, and plain http would
// send the key unencrypted.
const URLS = {
  baseUrl: 'an https URL (or http to a loopback host) without credentials, query or fragment',
  callbackUrl: HTTP,
  redirectUri: `${HTTP} with a domain name`,
};

/** A URL of one of the kinds in the table, normalised (`URL.href`; a base URL without a trailing slash). */
export function checkUrl(field: keyof typeof URLS, value: unknown, check?: UrlCheck): string {
  const base = field === 'baseUrl';
  if (typeof value !== 'string' && !(value instanceof URL)) refuse(field, URLS[field], value);
  const text = String(value);
  // Credentials are secrets: a URL that may hold them ("@") is never echoed, whichever check refuses it.
  const got = text.includes('@') ? 'a URL that may hold credentials (not shown)' : undefined;
  const fail = (why: string): never => refuse(field, URLS[field], text, why, got);
  // Browsers and servers cut far longer ones anyway.
  if (!base && text.length > 2048) fail('it is longer than 2048 characters');
  if (!URL.canParse(text)) fail('it is not a URL');
  const url = new URL(text);
  if (url.username || url.password) fail(`it holds credentials for ${url.host}`);
  if (!/^https?:$/.test(url.protocol)) fail(`the scheme ${url.protocol} is not supported`);
  if (base && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    fail('plain http would send the API key unencrypted; use https');
  }
  check?.(url, fail);
  if (!base) return url.href;
  if (url.search || text.includes('?')) fail('it has a query');
  if (url.hash || text.includes('#')) fail('it has a fragment');
  return url.href.replace(/\/+$/, '');
}
