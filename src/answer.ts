/**
 * Reading what the untrusted server answers: the body capped; `data` walked only along the fields the spec
 * declares (src/generated/checks.ts), unknown fields dropped unread; every string redacted once decoded.
 */
import { type Shape, START_DATA, STATUS_DATA } from './generated/checks.js';
import { plain, show } from './text.js';
import type { AuthSession, AuthStart } from './types.js';
import { checkPathParam } from './validate.js';

/** The most bytes of an answer that are read. Real answers are under 4 KB; a QR code data URL, tens of KB. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

const utf8 = new TextDecoder();

/** The body as text; `undefined` (cancelled) past the cap, or unread when the status (not 200) says enough. */
export async function readBody(response: Response, aborted: Promise<never>): Promise<string | undefined> {
  const stream = response.body;
  // Duck-typed: a custom fetch may build its streams from another copy of the class.
  if (typeof stream?.getReader !== 'function') return '';
  const ignore = () => {};
  const length = Number(response.headers.get('content-length'));
  if (length > MAX_ANSWER_BYTES || response.status !== 200) return void stream.cancel().catch(ignore);
  const reader = stream.getReader();
  // On abort, so that no locked, pending stream is left behind.
  aborted.catch(() => reader.cancel().then(() => reader.releaseLock())).catch(ignore);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > MAX_ANSWER_BYTES) return void reader.cancel().catch(ignore);
    chunks.push(read.value);
  }
  return utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
}

export type Redact = (text: string) => string;

const unescapeAscii = (_: string, hex: string) => String.fromCharCode(Number.parseInt(hex, 16));

/**
 * A redactor for one key: case-insensitive (a host name comes back lower-cased), and also applied to the
 * percent-decoded text (a key echoed inside a URL is percent-encoded).
 */
export function redactorFor(key: string): Redact {
  const source = key.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  const [find, every] = [new RegExp(source, 'i'), new RegExp(source, 'gi')];
  return (text) => {
    if (text.length < key.length) return text;
    let out = find.test(text) ? text.replace(every, '[redacted]') : text;
    if (out.includes('%')) {
      // Keys are printable ASCII: decoding each ASCII escape alone, a malformed neighbour cannot shield one.
      const decoded = out.replace(/%([0-7][0-9a-f])/gi, unescapeAscii);
      if (decoded !== out && find.test(decoded)) out = decoded.replace(every, '[redacted]');
    }
    return out;
  };
}

/**
 * A missing or wrong field of a successful answer, e.g. `"data.accounts[0].platform": expected a string,
 * got nothing`. `final`: asking again will not change it (a refused URL).
 */
export class BadField extends Error {
  final = false;

  constructor(field: string, problem: string, value: unknown, redact: Redact) {
    const got = value === undefined ? 'nothing' : show(typeof value === 'string' ? redact(value) : value);
    super(`"${field}": ${problem}, got ${got}`);
  }
}

// RFC 3339 `date-time` with an offset (without one, Date.parse reads this machine's zone; it reads "1" as 2001),
// and a real instant: no hour 24, no February 30th (Date.parse would roll them over).
const DATE_TIME =
  /^(\d{4})-(\d\d)-(\d\d)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/i;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isDateTime(text: string): boolean {
  const [, y = 0, m = 0, d = 0] = DATE_TIME.exec(text)?.map(Number) ?? [];
  const leap = m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d >= 1 && d <= (DAYS[m - 1] ?? 0) + (leap ? 1 : 0);
}

const PRIMITIVES: Partial<Record<Shape['type'], (value: unknown) => boolean>> = {
  integer: Number.isInteger,
  number: Number.isFinite,
  boolean: (value) => typeof value === 'boolean',
};

const expected = ({ type }: Shape) =>
  type === 'boolean' ? 'true or false' : `a${/^[aio]/.test(type) ? 'n' : ''} ${type}`;

/**
 * `value` read as `shape` says, into a new frozen value with only the declared fields; an absent or `null`
 * optional field is left out. Enums are not enforced: the server sends new values before the spec names them.
 */
function decode(shape: Shape, value: unknown, at: string, redact: Redact): unknown {
  const type = shape.type;
  if (type === 'object' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const key in shape.properties) {
      const field = (value as Record<string, unknown>)[key];
      if (field != null || shape.required.includes(key)) {
        out[key] = decode(shape.properties[key] as Shape, field, `${at}.${key}`, redact);
      }
    }
    return Object.freeze(out);
  }
  if (type === 'array' && Array.isArray(value)) {
    return Object.freeze(value.map((item, i) => decode(shape.items, item, `${at}[${i}]`, redact)));
  }
  if (type === 'string' && typeof value === 'string') {
    if (shape.format !== 'date-time' || isDateTime(value)) return redact(value);
    throw new BadField(at, 'expected an RFC 3339 date-time with an offset', value, redact);
  }
  if (PRIMITIVES[type]?.(value)) return value;
  throw new BadField(at, `expected ${expected(shape)}`, value, redact);
}

/** A status answer's session, checked to be the one asked for. */
export function decodeSession(data: unknown, redact: Redact, sessionId: string): AuthSession {
  const session = decode(STATUS_DATA, data, 'data', redact) as AuthSession;
  if (session.sessionId === sessionId) return session;
  const problem = `expected the session asked for, ${show(sessionId)}`;
  throw new BadField('data.sessionId', problem, session.sessionId, redact);
}

/**
 * The page a browser opens (or a QR code image), as `new URL(url).href`, which a browser would open (punycode
 * hosts). Only http(s) pages up to 8 KiB and raster base64 `data:image/` URLs up to 256 KiB; not
 * `javascript:`, `file:`, `data:text/html` nor SVG (which runs scripts).
 */
function checkedUrl(text: string, redact: Redact): string {
  const refuse = (why: string, shown = text): never => {
    throw Object.assign(new BadField('data.url', `expected ${why}`, shown, redact), { final: true });
  };
  const image = /^data:image\/(png|jpeg|gif|webp)[;,]/i.test(text);
  const cap = image ? 256 * 1024 : 8 * 1024;
  if (text.length > cap) refuse(`a URL of at most ${cap} characters`);
  if (!image && !/^https?:\/\//i.test(text))
    refuse('an http(s) URL or a data:image/ URL (png, jpeg, gif or webp)');
  if (!URL.canParse(text)) refuse('a URL');
  const url = new URL(text);
  // `https://aitoearn.ai@evil.example/` shows one host and opens another.
  if (url.username || url.password) refuse('a URL without a user name or password');
  if (image && !/^data:image\/[a-z]+;base64,[A-Za-z0-9+/]+=*$/i.test(url.href))
    refuse('a base64 data:image/ URL');
  // Percent-encoding can make the href far longer than the text (each CJK character becomes nine).
  if (url.href.length > cap) refuse(`a URL of at most ${cap} characters`);
  // Parsing can rejoin a key that a tab had split; a redacted URL would open another page: refused instead.
  if (redact(url.href) !== url.href) refuse('a URL without the API key', redact(url.href));
  return url.href;
}

/** A start answer's `data`: a checked `url`, a `sessionId` safe to send back, instructions as plain text. */
export function decodeStart(data: unknown, redact: Redact): AuthStart {
  // Instructions are read more leniently than the spec: the person needs whichever language came. Built here,
  // not at import: a bundle without startAuth leaves the start shape out.
  const lenient = { ...START_DATA.properties.authInstructions, required: [] };
  const shape = { ...START_DATA, properties: { ...START_DATA.properties, authInstructions: lenient } };
  const start = decode(shape, data, 'data', redact) as AuthStart;
  const { sessionId, authInstructions = {} } = start;
  try {
    checkPathParam('sessionId', sessionId);
  } catch {
    // The status operation's path gets this id next: the server's fault, not the caller's.
    throw new BadField('data.sessionId', 'expected an id that is safe in a URL path', sessionId, redact);
  }
  const languages = Object.entries(authInstructions).map(([lang, text]) => [lang, redact(plain(text))]);
  return Object.freeze({
    url: checkedUrl(start.url, redact),
    sessionId,
    expiresAt: start.expiresAt,
    ...(languages.length > 0 && { authInstructions: Object.freeze(Object.fromEntries(languages)) }),
  });
}
