/**
 * Reading what the server answers. The server is untrusted: the body is read with a size cap, `data` is
 * walked only along the fields the spec declares (src/generated/checks.ts, generated from the spec), so
 * unknown fields are dropped unread; every string is redacted after JSON decoding (a key echoed with JSON
 * escapes would survive redacting the raw text); a wrong field is named by its path.
 */
import { type Shape, START_DATA, STATUS_DATA } from './generated/checks.js';
import { plain } from './text.js';
import type { AuthSession, AuthStart } from './types.js';
import { checkPathParam, show } from './validate.js';

/** The most bytes of an answer that are read. Real answers are under 4 KB; a QR code data URL, tens of KB. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** What {@link readCapped} returns for a body over {@link MAX_ANSWER_BYTES}. */
export const TOO_LARGE: unique symbol = Symbol('too large');

const utf8 = new TextDecoder();

/** Reads a body as text, at most {@link MAX_ANSWER_BYTES}; past that it cancels the reader (closing the connection). */
export async function readCapped(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<string | typeof TOO_LARGE> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      reader.cancel().catch(() => {});
      return TOO_LARGE;
    }
    chunks.push(value);
  }
  return utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
}

export const REDACTED = '[redacted]';

export type Redact = (text: string) => string;

/**
 * A redactor for one key: case-insensitive (a host name is lower-cased on the way back), and also applied
 * to the percent-decoded text (a key echoed inside a URL's path or query is percent-encoded).
 */
export function redactorFor(key: string): Redact {
  const source = key.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  const find = new RegExp(source, 'i');
  const every = new RegExp(source, 'gi');
  return (text) => {
    if (text.length < key.length) return text;
    let out = find.test(text) ? text.replace(every, REDACTED) : text;
    if (out.includes('%')) {
      // Keys are printable ASCII: decoding each ASCII escape alone, a malformed neighbour cannot shield one.
      const decoded = out.replace(/%([0-7][0-9a-f])/gi, (_, hex: string) =>
        String.fromCharCode(Number.parseInt(hex, 16)),
      );
      if (decoded !== out && find.test(decoded)) out = decoded.replace(every, REDACTED);
    }
    return out;
  };
}

/**
 * A field of a successful answer that is missing or wrong, e.g. `"data.accounts[0].platform": expected a
 * string, got nothing`. `final` marks an answer that will not change by asking again (a refused URL).
 */
export class BadField extends Error {
  constructor(
    readonly field: string,
    problem: string,
    readonly final = false,
  ) {
    super(`"${field}": ${problem}`);
  }
}

/** A value the server sent, for a message: redacted, then escaped and cut by `show`. */
function got(value: unknown, redact: Redact): string {
  return value === undefined ? 'nothing' : show(typeof value === 'string' ? redact(value) : value);
}

// RFC 3339 `date-time`: a time without an offset would be read in this machine's zone, and Date.parse reads
// "1" as the year 2001.
const DATE_TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/i;

/** RFC 3339, and a real instant: no February 30th, no hour 24 (Date.parse would roll them over). */
function isDateTime(text: string): boolean {
  const match = DATE_TIME.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, ...number[]];
  const utc = new Date(Date.UTC(year, (month as number) - 1, day, hour, minute, second));
  // Date.UTC reads years 0–99 as 1900–1999.
  utc.setUTCFullYear(year);
  return utc.toISOString().slice(0, 19) === text.slice(0, 19).toUpperCase();
}

const EXPECTED = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
} as const;

/**
 * `value` read as `shape` says, into a new frozen value with only the declared fields. An absent or `null`
 * optional field is left out. Enums are not enforced: the server sends new values before the spec names
 * them (the waiter treats an unknown status as pending; a new platform's account is still an account).
 */
function decode(shape: Shape, value: unknown, at: string, redact: Redact): unknown {
  switch (shape.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) break;
      const from = value as Readonly<Record<string, unknown>>;
      const out: Record<string, unknown> = {};
      for (const key in shape.properties) {
        const field = from[key];
        if ((field === undefined || field === null) && !shape.required.includes(key)) continue;
        out[key] = decode(shape.properties[key] as Shape, field, `${at}.${key}`, redact);
      }
      return Object.freeze(out);
    }
    case 'array':
      if (!Array.isArray(value)) break;
      return Object.freeze(value.map((item, i) => decode(shape.items, item, `${at}[${i}]`, redact)));
    case 'string':
      if (typeof value !== 'string') break;
      if (shape.format === 'date-time' && !isDateTime(value)) {
        throw new BadField(at, `expected an RFC 3339 date-time with an offset, got ${got(value, redact)}`);
      }
      return redact(value);
    case 'integer':
      if (Number.isInteger(value)) return value;
      break;
    case 'number':
      if (Number.isFinite(value)) return value;
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
  }
  throw new BadField(at, `expected ${EXPECTED[shape.type]}, got ${got(value, redact)}`);
}

/** A status answer's session: the spec's fields only, redacted, frozen. */
export function decodeSession(data: unknown, redact: Redact): AuthSession {
  return decode(STATUS_DATA, data, 'data', redact) as AuthSession;
}

// Read more leniently than the spec: the person needs whichever language came.
const START_SHAPE: Shape = {
  ...START_DATA,
  properties: {
    ...START_DATA.properties,
    authInstructions: { ...START_DATA.properties.authInstructions, required: [] },
  },
};

/** The longest consent page URL accepted; browsers and servers cut longer ones anyway. */
export const MAX_PAGE_URL_LENGTH = 8 * 1024;
/** The longest QR code image URL accepted: a QR code PNG is a few KB; printing 1 MB costs hundreds of MB. */
export const MAX_IMAGE_URL_LENGTH = 256 * 1024;

const IMAGE_URL = /^data:image\/(png|jpeg|gif|webp)[;,]/i;

/**
 * The page a browser opens (or the QR code image some platforms send), as `new URL(url).href`: exactly what
 * a browser would open and what is printed, punycode for non-ASCII hosts. Only http(s) pages and raster
 * `data:image/` URLs are accepted; `javascript:`, `file:`, `data:text/html` and SVG (which runs scripts) are not.
 */
function checkedUrl(text: string, redact: Redact): string {
  const refuse = (why: string): never => {
    throw new BadField('data.url', `${why}, got ${got(text, redact)}`, true);
  };
  const image = IMAGE_URL.test(text);
  const cap = image ? MAX_IMAGE_URL_LENGTH : MAX_PAGE_URL_LENGTH;
  if (text.length > cap) refuse(`expected a URL of at most ${cap} characters`);
  if (!image && !/^https?:\/\//i.test(text)) {
    refuse('expected an http(s) URL or a data:image/ URL (png, jpeg, gif or webp)');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse('expected a URL');
  }
  // `https://aitoearn.ai@evil.example/` shows one host and opens another.
  if (url.username || url.password) refuse('expected a URL without a user name or password');
  if (image && !/^data:image\/[a-z]+;base64,[A-Za-z0-9+/]+=*$/i.test(url.href)) {
    refuse('expected a base64 data:image/ URL');
  }
  // Percent-encoding can make the href far longer than the text (each CJK character becomes nine).
  if (url.href.length > cap) refuse(`expected a URL of at most ${cap} characters`);
  return url.href;
}

/** A start answer's `data`: a checked `url`, a `sessionId` safe to send back, instructions as plain text. */
export function decodeStart(data: unknown, redact: Redact): AuthStart {
  const { url, sessionId, expiresAt, authInstructions } = decode(
    START_SHAPE,
    data,
    'data',
    redact,
  ) as AuthStart;
  try {
    checkPathParam('sessionId', sessionId);
  } catch {
    // The status operation's path gets this id next: the server's fault, not a bad input of the caller's.
    throw new BadField(
      'data.sessionId',
      `expected an id that is safe in a URL path, got ${got(sessionId, redact)}`,
    );
  }
  const start: { -readonly [K in keyof AuthStart]: AuthStart[K] } = {
    url: checkedUrl(url, redact),
    sessionId,
    expiresAt,
  };
  const languages = Object.entries(authInstructions ?? {}).map(([language, text]) => [language, plain(text)]);
  if (languages.length > 0) start.authInstructions = Object.freeze(Object.fromEntries(languages));
  return Object.freeze(start);
}
