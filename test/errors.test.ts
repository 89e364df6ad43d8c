import { describe, expect, it, test } from 'vitest';
import {
  AitoearnApiError,
  type AitoearnApiErrorKind,
  AitoearnError,
  AitoearnInputError,
  AitoearnTransportError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  type AuthSession,
  AuthTimeoutError,
  apiErrorKind,
  describeAuthErrorCode,
  isTransient,
} from '../src/index.js';
import { plain, printable, show } from '../src/text.js';

const FAILED: AuthSession = {
  sessionId: 'sess-9',
  status: 'failed',
  requiresSelection: false,
  errorCode: 15045,
  expiresAt: '2030-01-01T00:00:00.000Z',
};
const PENDING: AuthSession = { sessionId: 'sess-9', status: 'pending', requiresSelection: false };
const rootCause = new Error('socket hang up');

interface ClassRow {
  readonly name: string;
  readonly make: () => AitoearnError;
  readonly fields: Record<string, unknown>;
  /** Text the message must contain. */
  readonly says: readonly string[];
}

const classRows: ClassRow[] = [
  { name: 'AitoearnError', make: () => new AitoearnError('base'), fields: {}, says: ['base'] },
  {
    name: 'AitoearnInputError',
    make: () => new AitoearnInputError('sessionId', 'Expected "sessionId" to be an id, got "".'),
    fields: { field: 'sessionId' },
    says: ['"sessionId"'],
  },
  {
    name: 'AitoearnApiError',
    make: () =>
      new AitoearnApiError(15040, '会话属于其他平台', 'GET /api/v2/x', {
        requestId: 'req-1',
        httpStatus: 200,
        retryAfterMs: 250,
      }),
    fields: {
      code: 15040,
      kind: 'platform-mismatch',
      serverMessage: '会话属于其他平台',
      requestId: 'req-1',
      httpStatus: 200,
      retryAfterMs: 250,
    },
    says: ['code 15040', 'session belongs to another platform', 'GET /api/v2/x', 'req-1', '会话属于其他平台'],
  },
  {
    name: 'AitoearnTransportError',
    make: () =>
      new AitoearnTransportError(
        'http-status',
        'GET /x answered HTTP 503',
        { httpStatus: 503, requestId: 'gw-1', retryAfterMs: 3000 },
        { cause: rootCause },
      ),
    fields: {
      reason: 'http-status',
      httpStatus: 503,
      requestId: 'gw-1',
      retryAfterMs: 3000,
      cause: rootCause,
    },
    says: ['HTTP 503'],
  },
  {
    name: 'AuthFailedError',
    make: () => new AuthFailedError(FAILED),
    fields: {
      errorCode: 15045,
      meaning: 'the user denied consent, or the platform returned no code',
      session: FAILED,
    },
    says: ['sess-9', '15045', 'denied consent'],
  },
  {
    name: 'AuthExpiredError',
    make: () => new AuthExpiredError('Session sess-9 expired', FAILED, { cause: rootCause }),
    fields: { session: FAILED, expiresAt: '2030-01-01T00:00:00.000Z', cause: rootCause },
    says: ['expired'],
  },
  {
    name: 'AuthTimeoutError',
    make: () => new AuthTimeoutError(90_000, PENDING),
    fields: { timeoutMs: 90_000, session: PENDING },
    says: ['timeoutMs=90000', 'pending'],
  },
  {
    name: 'AitoearnUnavailableError',
    make: () => new AitoearnUnavailableError(4, PENDING, rootCause),
    fields: { failures: 4, session: PENDING, cause: rootCause },
    says: ['4 request(s)', 'socket hang up'],
  },
];

describe('error classes', () => {
  test.each(classRows)('$name is an AitoearnError named after its class, with its fields', (row) => {
    const error = row.make();
    expect(error).toBeInstanceOf(AitoearnError);
    expect(error).toBeInstanceOf(Error);
    expect(error.constructor.name).toBe(row.name);
    expect(error.name).toBe(row.name);
    expect(String(error)).toBe(`${row.name}: ${error.message}`);
    expect(error.stack?.split('\n')[0]).toBe(`${row.name}: ${error.message.split('\n')[0]}`);
    expect(error).toMatchObject(row.fields);
    for (const text of row.says) expect(error.message).toContain(text);
    // `name` lives on the prototype: it is not an own, enumerable field that JSON would carry per instance.
    expect(Object.hasOwn(error, 'name')).toBe(false);
  });

  it('keeps a failed session without an error code readable', () => {
    const error = new AuthFailedError({ ...FAILED, errorCode: undefined } as unknown as AuthSession);
    expect(error.errorCode).toBeUndefined();
    expect(error.meaning).toBe('no error code given');
    expect(error.message).toContain('error code none');
  });

  it('shows a non-Error cause of AitoearnUnavailableError as text', () => {
    const error = new AitoearnUnavailableError(1, undefined, 'plain string');
    expect(error.cause).toBe('plain string');
    expect(error.message).toContain('plain string');
    expect(error.session).toBeUndefined();
  });

  it('names an unknown business code as such in the message and kind', () => {
    const error = new AitoearnApiError(99999, '', 'GET /x');
    expect(error.kind).toBe('unknown');
    expect(error.message).toContain('code 99999 (unknown code)');
    expect(error.requestId).toBeUndefined();
    expect(error.message).not.toContain('request id');
  });
});

// The meanings themselves are src/codes.ts's table: only the lookup and the platform range are tested here.
describe('describeAuthErrorCode and apiErrorKind', () => {
  test.each<[number | undefined, string]>([
    [undefined, 'no error code given'],
    [15045, 'the user denied consent, or the platform returned no code'],
    [15070, "the platform's own API failed"],
    [15094, "the platform's own API failed"],
    [15069, 'unknown error code'],
    [15095, 'unknown error code'],
  ])('describes %s as %j', (code, meaning) => {
    expect(describeAuthErrorCode(code)).toBe(meaning);
  });

  test.each<[number, AitoearnApiErrorKind]>([
    [15040, 'platform-mismatch'],
    [403, 'unknown'],
    [15045, 'unknown'],
  ])('maps code %i to %s', (code, kind) => {
    expect(apiErrorKind(code)).toBe(kind);
  });
});

// Item 12 of issue 16: the one escaper, and show() built on it.
describe('printable and show', () => {
  test.each([
    ['a zero-width space', '\u200b', '\\u200b'],
    ['a zero-width joiner', '\u200d', '\\u200d'],
    ['a soft hyphen', '\u00ad', '\\xad'],
    ['a byte order mark', '\ufeff', '\\ufeff'],
    ['a word joiner', '\u2060', '\\u2060'],
    ['a tag character', '\u{E0041}', '\\u{e0041}'],
    ['a bidi override', '\u202e', '\\u202e'],
    ['a Hangul filler (default-ignorable)', '\u3164', '\\u3164'],
    ['a variation selector (default-ignorable)', '\u{E0100}', '\\u{e0100}'],
  ])('escapes %s visibly, in printable and in show', (_name, char, escaped) => {
    expect(printable(`key${char}end`)).toBe(`key${escaped}end`);
    expect(show(`key${char}end`)).toBe(`"key${escaped}end"`);
    expect(plain(`key${char}end`)).toBe('keyend');
  });

  it('escapes what the server sent in error messages', () => {
    const error = new AitoearnApiError(15039, 'gone\u202e\u001b[2J', 'GET /x', { requestId: 'r\u200b1' });
    expect(error.message).toContain('(request id r\\u200b1): "gone\\u202e\\u001b[2J"');
    expect(new AuthTimeoutError(1, { ...PENDING, status: 'pending\u001b' as 'pending' }).message).toContain(
      'pending\\x1b',
    );
  });
});

describe('isTransient', () => {
  const transport = (reason: ConstructorParameters<typeof AitoearnTransportError>[0], httpStatus?: number) =>
    new AitoearnTransportError(reason, 'x', { httpStatus });
  test.each<[string, unknown, boolean]>([
    ['a network error', transport('network'), true],
    ['a timeout', transport('timeout'), true],
    ['a bad body', transport('bad-body', 200), true],
    ['a redirect', transport('redirect', 302), false],
    ['a refused start URL', transport('refused-url', 200), false],
    ["a custom fetch's status 0", transport('http-status', 0), false],
    ['HTTP 408', transport('http-status', 408), true],
    ['HTTP 429', transport('http-status', 429), true],
    ['HTTP 500', transport('http-status', 500), true],
    ['HTTP 504', transport('http-status', 504), true],
    ['HTTP 401', transport('http-status', 401), false],
    ['HTTP 403', transport('http-status', 403), false],
    ['HTTP 404', transport('http-status', 404), false],
    ['HTTP 409', transport('http-status', 409), false],
    ['business 429', new AitoearnApiError(429, '', 'GET /x'), true],
    ['business 500', new AitoearnApiError(500, '', 'GET /x'), true],
    ['business 401', new AitoearnApiError(401, '', 'GET /x'), false],
    ['business 15039', new AitoearnApiError(15039, '', 'GET /x'), false],
    ['business 99999', new AitoearnApiError(99999, '', 'GET /x'), false],
    ['an input error', new AitoearnInputError('x', 'x'), false],
    ['a plain TypeError', new TypeError('fetch failed'), false],
    ['a string', 'boom', false],
  ])('%s → %s', (_name, error, expected) => {
    expect(isTransient(error)).toBe(expected);
  });
});
