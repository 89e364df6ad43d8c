/**
 * Reading what the server answers: the `data` of a successful answer, projected onto the fields the spec
 * names. Everything here treats the server as untrusted: only known fields are read (never a recursive walk
 * over data we do not know), every string is passed through the key's redactor after JSON decoding, and
 * a field of the wrong shape is reported by its name.
 */
import type {
  AuthInstructions,
  AuthSession,
  AuthStart,
  AuthStatus,
  ConnectedAccount,
  Platform,
  SelectableAccount,
} from './types.js';
import { checkPathParam, show } from './validate.js';

/** The most bytes of an answer that are read. Real answers are under 4 KB; a QR code data URL, tens of KB. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** What {@link readCapped} returns for a body over {@link MAX_ANSWER_BYTES}. */
export const TOO_LARGE: unique symbol = Symbol('too large');

const utf8 = new TextDecoder();

/**
 * Reads a body as text, at most {@link MAX_ANSWER_BYTES}: past that (or when `Content-Length` says so up
 * front), it stops reading, cancels the stream (which closes the connection) and returns {@link TOO_LARGE}.
 */
export async function readCapped(
  body: ReadableStream<Uint8Array>,
  contentLength: string | null,
): Promise<string | typeof TOO_LARGE> {
  if (contentLength !== null && Number(contentLength) > MAX_ANSWER_BYTES) {
    body.cancel().catch(() => {});
    return TOO_LARGE;
  }
  const reader = body.getReader();
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
  // One chunk is the common case (answers are small): decode it without copying.
  return utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
}

/** What replaces the API key wherever the server echoes it. */
export const REDACTED = '[redacted]';

/** Removes a secret from a string the server sent. */
export type Redact = (text: string) => string;

/**
 * A redactor for one key: case-insensitive (a host name is lower-cased on the way back), and also applied
 * to the percent-decoded text (a key echoed inside a URL's path or query is percent-encoded).
 */
export function redactorFor(key: string): Redact {
  const source = key.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  const find = new RegExp(source, 'i');
  const every = new RegExp(source, 'gi');
  const length = key.length;
  return (text) => {
    if (text.length < length) return text;
    let out = find.test(text) ? text.replace(every, REDACTED) : text;
    if (out.includes('%')) {
      const decoded = percentDecoded(out);
      if (decoded !== out && find.test(decoded)) out = decoded.replace(every, REDACTED);
    }
    return out;
  };
}

/** Decodes every well-formed run of `%XX` escapes; leaves malformed ones as they are. */
function percentDecoded(text: string): string {
  return text.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** A field of a successful answer that is missing or has the wrong shape. */
export class BadField extends Error {
  constructor(
    /** Where the field is, e.g. `data.expiresAt` or `data.accounts[0].platform`. */
    readonly field: string,
    /** What was wrong, e.g. `expected a date-time, got "NaN"`. */
    readonly problem: string,
  ) {
    super(`"${field}": ${problem}`);
  }
}

type Json = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, field: string, redact: Redact): Json {
  if (!isObject(value)) throw new BadField(field, `expected an object, got ${describe(value, redact)}`);
  return value;
}

/** A short description of a value the server sent, for a message: redacted, then escaped by `show`. */
function describe(value: unknown, redact: Redact): string {
  if (value === undefined) return 'nothing';
  return show(typeof value === 'string' ? redact(value) : value);
}

// The readers take the value, and where it sits (parent path and key), so that a problem names the
// field's full path; the path is only built for the message.

type Key = string | number;

function path(at: string, key: Key): string {
  return typeof key === 'number' ? `${at}[${key}]` : `${at}.${key}`;
}

function string(value: unknown, at: string, key: Key, redact: Redact): string {
  if (typeof value !== 'string')
    throw new BadField(path(at, key), `expected a string, got ${describe(value, redact)}`);
  return redact(value);
}

/** An optional field: absent or `null` is left out. */
function optionalString(value: unknown, at: string, key: Key, redact: Redact): string | undefined {
  return value === undefined || value === null ? undefined : string(value, at, key, redact);
}

function dateTime(value: unknown, at: string, key: Key, redact: Redact): string {
  if (typeof value !== 'string' || !Number.isFinite(Date.parse(value))) {
    throw new BadField(path(at, key), `expected a date-time, got ${describe(value, redact)}`);
  }
  return redact(value);
}

/** An optional array, each item read by `item`; the result is frozen. */
function list<T>(
  value: unknown,
  at: string,
  key: string,
  redact: Redact,
  item: (value: unknown, at: string, index: number, redact: Redact) => T,
): readonly T[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value))
    throw new BadField(path(at, key), `expected an array, got ${describe(value, redact)}`);
  const where = path(at, key);
  return Object.freeze(value.map((v: unknown, i) => item(v, where, i, redact)));
}

/**
 * The session of a status answer, with only the fields the spec names (unknown fields are dropped, so that
 * nothing downstream walks them), every string redacted, and the result frozen.
 */
export function decodeSession(data: unknown, redact: Redact): AuthSession {
  const at = 'data';
  const o = object(data, at, redact);
  const { requiresSelection, errorCode, expiresAt } = o;
  if (typeof requiresSelection !== 'boolean') {
    throw new BadField(
      `${at}.requiresSelection`,
      `expected true or false, got ${describe(requiresSelection, redact)}`,
    );
  }
  const session: Mutable<AuthSession> = {
    sessionId: string(o.sessionId, at, 'sessionId', redact),
    // Any string: the waiter narrows an unknown status at run time.
    status: string(o.status, at, 'status', redact) as AuthStatus,
    requiresSelection,
  };
  if (errorCode !== undefined && errorCode !== null) {
    if (typeof errorCode !== 'number' || !Number.isFinite(errorCode)) {
      throw new BadField(`${at}.errorCode`, `expected a number, got ${describe(errorCode, redact)}`);
    }
    session.errorCode = errorCode;
  }
  if (expiresAt !== undefined && expiresAt !== null) {
    session.expiresAt = dateTime(expiresAt, at, 'expiresAt', redact);
  }
  const accountId = optionalString(o.accountId, at, 'accountId', redact);
  if (accountId !== undefined) session.accountId = accountId;
  const accountIds = list(o.accountIds, at, 'accountIds', redact, string);
  if (accountIds) session.accountIds = accountIds as string[];
  const accounts = list(o.accounts, at, 'accounts', redact, connected);
  if (accounts) session.accounts = accounts as ConnectedAccount[];
  const selectable = list(o.selectableAccounts, at, 'selectableAccounts', redact, selectableAccount);
  if (selectable) session.selectableAccounts = selectable as SelectableAccount[];
  return Object.freeze(session);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What a connected and a selectable account share, in the spec's order; optional fields only when sent. */
function accountFields(o: Json, at: string, redact: Redact) {
  const platform = string(o.platform, at, 'platform', redact) as Platform;
  const platformUid = string(o.platformUid, at, 'platformUid', redact);
  const displayName = string(o.displayName, at, 'displayName', redact);
  const account = optionalString(o.account, at, 'account', redact);
  const avatarUrl = optionalString(o.avatarUrl, at, 'avatarUrl', redact);
  return {
    platform,
    platformUid,
    ...(account === undefined ? {} : { account }),
    displayName,
    ...(avatarUrl === undefined ? {} : { avatarUrl }),
  };
}

function connected(value: unknown, parent: string, index: number, redact: Redact): ConnectedAccount {
  const at = path(parent, index);
  const o = object(value, at, redact);
  const accountId = string(o.accountId, at, 'accountId', redact);
  return Object.freeze({ accountId, ...accountFields(o, at, redact) });
}

function selectableAccount(value: unknown, parent: string, index: number, redact: Redact): SelectableAccount {
  const at = path(parent, index);
  const o = object(value, at, redact);
  const fields = accountFields(o, at, redact);
  const parentUid = optionalString(o.parentPlatformUid, at, 'parentPlatformUid', redact);
  return Object.freeze(parentUid === undefined ? fields : { ...fields, parentPlatformUid: parentUid });
}

/**
 * The `data` of a start answer. `url` must be a page to open (http or https) or the QR code image some
 * platforms send (`data:image/…`): anything else (`javascript:`, `file:`) is refused before anyone opens it.
 */
export function decodeStart(data: unknown, redact: Redact): AuthStart {
  const at = 'data';
  const o = object(data, at, redact);
  const url = string(o.url, at, 'url', redact);
  if (!/^(https?:\/\/|data:image\/)/i.test(url) || !URL.canParse(url)) {
    throw new BadField(
      `${at}.url`,
      `expected an http(s) URL or a data:image/ URL, got ${describe(url, redact)}`,
    );
  }
  // The session id goes into the status operation's path next: an answer that could not be sent back
  // there is the server's fault (a bad body), not a bad input of the caller's later on.
  const sessionId = string(o.sessionId, at, 'sessionId', redact);
  try {
    checkPathParam('sessionId', sessionId);
  } catch {
    throw new BadField(
      `${at}.sessionId`,
      `expected an id that is safe in a URL path, got ${describe(sessionId, redact)}`,
    );
  }
  const start: Mutable<AuthStart> = {
    url,
    sessionId,
    expiresAt: dateTime(o.expiresAt, at, 'expiresAt', redact),
  };
  const instructions = o.authInstructions;
  if (instructions !== undefined && instructions !== null) {
    const field = `${at}.authInstructions`;
    const i = object(instructions, field, redact);
    start.authInstructions = Object.freeze({
      'en-US': string(i['en-US'], field, 'en-US', redact),
      'zh-CN': string(i['zh-CN'], field, 'zh-CN', redact),
    }) satisfies AuthInstructions;
  }
  return start;
}
