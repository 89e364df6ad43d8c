import { expect, it, test } from 'vitest';
import {
  AitoearnApiError,
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
const cause = new Error('socket hang up');
const facts = { requestId: 'req-1', httpStatus: 200, retryAfterMs: 250 };

const consent = 'the user denied consent, or the platform returned no code';
// [class name, error, fields, text the message contains]
test.each<[string, AitoearnError, Record<string, unknown>, string]>([
  ['AitoearnError', new AitoearnError('base'), {}, 'base'],
  ['AitoearnInputError', new AitoearnInputError('sessionId', 'Expected "x"'), { field: 'sessionId' }, '"x"'],
  [
    'AitoearnApiError',
    new AitoearnApiError(15040, '会话属于其他平台', 'GET /api/v2/x', facts),
    { code: 15040, kind: 'platform-mismatch', serverMessage: '会话属于其他平台', ...facts },
    'code 15040 (session belongs to another platform) for GET /api/v2/x (request id req-1): "会话属于其他平台"',
  ],
  [
    'AitoearnTransportError',
    new AitoearnTransportError('http-status', 'GET /x answered HTTP 503', facts, { cause }),
    { reason: 'http-status', cause, ...facts },
    'HTTP 503',
  ],
  [
    'AuthFailedError',
    new AuthFailedError(FAILED),
    { errorCode: 15045, meaning: consent, session: FAILED },
    `sess-9 failed with error code 15045 (${consent})`,
  ],
  [
    'AuthExpiredError',
    new AuthExpiredError('Session sess-9 expired', FAILED, { cause }),
    { session: FAILED, expiresAt: FAILED.expiresAt, cause },
    'expired',
  ],
  [
    'AuthTimeoutError',
    new AuthTimeoutError(90_000, PENDING),
    { timeoutMs: 90_000, session: PENDING },
    'timeoutMs=90000 (last status: pending)',
  ],
  [
    'AitoearnUnavailableError',
    new AitoearnUnavailableError(4, PENDING, cause, '2030-01-01T00:00:00Z'),
    { failures: 4, session: PENDING, cause },
    '4 request(s) in a row failed; the session expired at 2030-01-01T00:00:00Z meanwhile (outcome unknown); the last one: socket hang up',
  ],
])('%s is an AitoearnError named after its class, with its fields', (name, error, fields, says) => {
  expect(error).toBeInstanceOf(AitoearnError);
  expect(error.name).toBe(name);
  expect(String(error)).toBe(`${name}: ${error.message}`);
  expect(error.stack?.split('\n')[0]).toBe(`${name}: ${error.message.split('\n')[0]}`);
  expect(error).toMatchObject(fields);
  expect(error.message).toContain(says);
  // On the prototype: not an own field that JSON would carry per instance.
  expect(Object.hasOwn(error, 'name')).toBe(false);
});

it('reads the edge cases: no error code, a non-Error cause, an unknown business code', () => {
  const failed = new AuthFailedError({ ...FAILED, errorCode: undefined } as unknown as AuthSession);
  expect(failed).toMatchObject({ errorCode: undefined, meaning: 'no error code given' });
  expect(failed.message).toContain('error code none');
  expect(new AitoearnUnavailableError(1, undefined, 'plain string').message).toContain('plain string');
  const unknown = new AitoearnApiError(99999, '', 'GET /x');
  expect(unknown).toMatchObject({ kind: 'unknown', requestId: undefined });
  expect(unknown.message).toContain('code 99999 (unknown code) for GET /x: ""');
});

const OWN_API = "the platform's own API failed";
test.each<[number | undefined, string]>([
  [undefined, 'no error code given'],
  [15045, consent],
  ...[15070, 15094].map((code): [number, string] => [code, OWN_API]),
  ...[15069, 15095].map((code): [number, string] => [code, 'unknown error code']),
])('describeAuthErrorCode(%s) is %j', (code, meaning) => {
  expect(describeAuthErrorCode(code)).toBe(meaning);
});

test.each([
  [15040, 'platform-mismatch'],
  [403, 'unknown'],
  [15045, 'unknown'],
])('apiErrorKind(%i) is %s', (code, kind) => {
  expect(apiErrorKind(code)).toBe(kind);
});

test.each([
  ['a zero-width space', '\u200b', '\\u200b'],
  ['a soft hyphen', '\u00ad', '\\xad'],
  ['a byte order mark', '\ufeff', '\\ufeff'],
  ['a tag character', '\u{E0041}', '\\u{e0041}'],
  ['a bidi override', '\u202e', '\\u202e'],
  ['a Hangul filler (default-ignorable)', '\u3164', '\\u3164'],
  ['a line separator', '\u2028', '\\u2028'],
])('the one escaper shows %s visibly (printable, show) or drops it (plain)', (_name, char, escaped) => {
  expect(printable(`key${char}end`)).toBe(`key${escaped}end`);
  expect(show(`key${char}end`)).toBe(`"key${escaped}end"`);
  expect(plain(`key${char}end`)).toBe('keyend');
});

it('escapes what the server sent in error messages', () => {
  const error = new AitoearnApiError(15039, 'gone\u202e\u001b[2J', 'GET /x', { requestId: 'r\u200b1' });
  expect(error.message).toContain('(request id r\\u200b1): "gone\\u202e\\u001b[2J"');
  const status = 'pending\u001b' as 'pending';
  expect(new AuthTimeoutError(1, { ...PENDING, status }).message).toContain('pending\\x1b');
});

// The rest of the table is pinned on real answers in client.test.ts.
test.each<[string, unknown, boolean]>([
  ["a custom fetch's status 0", new AitoearnTransportError('http-status', 'x', { httpStatus: 0 }), false],
  ['HTTP 204 (a gateway)', new AitoearnTransportError('http-status', 'x', { httpStatus: 204 }), true],
  ['HTTP 409', new AitoearnTransportError('http-status', 'x', { httpStatus: 409 }), false],
  ['an input error', new AitoearnInputError('x', 'x'), false],
  ['a plain TypeError', new TypeError('fetch failed'), false],
])('isTransient: %s → %s', (_name, error, expected) => {
  expect(isTransient(error)).toBe(expected);
});
