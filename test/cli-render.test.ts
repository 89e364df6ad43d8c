import { describe, expect, it, test } from 'vitest';
import { classify, Interrupted } from '../src/cli/exit-codes.js';
import { clean, formatDuration } from '../src/cli/render.js';
import {
  AitoearnApiError,
  AitoearnInputError,
  AitoearnTransportError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  AuthTimeoutError,
} from '../src/errors.js';

const op = 'GET /api/v2/channels/accounts/auth/douyin/status/s1';

describe('classify', () => {
  test.each([
    ['an interrupt by SIGINT', new Interrupted('SIGINT'), 'aborted', 130],
    ['an interrupt by SIGTERM', new Interrupted('SIGTERM'), 'aborted', 143],
    [
      'a failed session',
      new AuthFailedError({ sessionId: 's1', status: 'failed', requiresSelection: false, errorCode: 15045 }),
      'failed',
      1,
    ],
    ['an expired session', new AuthExpiredError('expired', undefined), 'expired', 3],
    ['code 15039 from status', new AitoearnApiError(15039, 'gone', op), 'expired', 3],
    ['a local timeout', new AuthTimeoutError(1000, undefined), 'timeout', 4],
    ['code 401', new AitoearnApiError(401, 'bad key', op), 'api-error', 5],
    ['code 15040', new AitoearnApiError(15040, 'other platform', op), 'api-error', 5],
    ['an unknown code', new AitoearnApiError(99999, '?', op), 'api-error', 5],
    [
      'a redirect (terminal transport error)',
      new AitoearnTransportError('redirect', 'moved'),
      'api-error',
      5,
    ],
    [
      'HTTP 404 from a gateway',
      new AitoearnTransportError('http-status', 'not found', { httpStatus: 404 }),
      'api-error',
      5,
    ],
    [
      'an outage until the deadline',
      new AitoearnUnavailableError(3, undefined, new Error('x')),
      'unavailable',
      6,
    ],
    [
      'HTTP 503 from status',
      new AitoearnTransportError('http-status', 'down', { httpStatus: 503 }),
      'unavailable',
      6,
    ],
    ['a network error from status', new AitoearnTransportError('network', 'reset'), 'unavailable', 6],
    ['code 500 from status', new AitoearnApiError(500, 'oops', op), 'unavailable', 6],
  ])('maps %s to outcome %s and exit code %i', (_name, error, outcome, exitCode) => {
    expect(classify(error)).toEqual({ usage: false, outcome, exitCode });
  });

  it('maps a refused input to a usage error (exit 2, no result line)', () => {
    expect(classify(new AitoearnInputError('sessionId', 'bad'))).toEqual({ usage: true, exitCode: 2 });
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0s'],
    [-500, '0s'],
    [1499, '1s'],
    [59_000, '59s'],
    [60_000, '1m 00s'],
    [299_600, '5m 00s'],
    [3_720_000, '1h 02m'],
  ])('renders %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

it('replaces control and bidi characters in server text shown on a terminal', () => {
  expect(clean('Eve\x1b[2J\u202e\r\n')).toBe('Eve\u{fffd}[2J\u{fffd}\u{fffd}\u{fffd}');
  expect(clean('普通 name (id-1)')).toBe('普通 name (id-1)');
});
