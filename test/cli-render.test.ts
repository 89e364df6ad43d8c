import { describe, expect, it, test } from 'vitest';
import type { SessionCommand } from '../src/cli/args.js';
import { classify, Interrupted } from '../src/cli/exit-codes.js';
import { messageOf } from '../src/cli/messages.js';
import {
  accountCount,
  clocks,
  fitLine,
  formatDuration,
  painter,
  progressSegments,
  sessionRecord,
} from '../src/cli/render.js';
import { jsonLine, sanitize } from '../src/cli/sanitize.js';
import { didYouMean } from '../src/cli/suggest.js';
import { cutToWidth, displayWidth } from '../src/cli/width.js';
import type { AuthSession } from '../src/client.js';
import {
  AitoearnApiError,
  AitoearnInputError,
  AitoearnTransportError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  AuthTimeoutError,
} from '../src/errors.js';
import type { AuthProgress } from '../src/poll/options.js';

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

  test.each([
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a RangeError', new RangeError('Maximum call stack size exceeded')],
    ['a thrown string', 'boom'],
  ])(
    'maps %s (not one of ours: a bug) to outcome bug and exit code 70, never to "unavailable"',
    (_n, error) => {
      expect(classify(error)).toEqual({ usage: false, outcome: 'bug', exitCode: 70 });
    },
  );

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

/** A character that acts on a terminal or reorders text: none may survive the sanitiser. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

describe('sanitize', () => {
  test.each([
    ['a screen clear (ESC [2J)', 'a\x1b[2Jb', 'a\\x1b[2Jb'],
    ['a window title (OSC 0 ... BEL)', '\x1b]0;pwned\x07', '\\x1b]0;pwned\\x07'],
    ['a C1 CSI (U+009B), which JSON.stringify leaves raw', 'x\u009b31my', 'x\\x9b31my'],
    ['DEL', 'a\x7fb', 'a\\x7fb'],
    ['CR, LF and TAB', 'a\r\n\tb', 'a\\x0d\\x0a\\x09b'],
    ['a right-to-left override', 'evil\u202etxt.exe', 'evil\\u202etxt.exe'],
    ['an isolate and a right-to-left mark', '\u2066a\u2069\u200f', '\\u2066a\\u2069\\u200f'],
    ['a line separator (raw in JSON.stringify)', 'a\u2028b', 'a\\u2028b'],
  ])('replaces %s visibly', (_name, text, expected) => {
    expect(sanitize(text)).toBe(expected);
  });

  it('leaves ordinary text alone, wide characters and emoji included', () => {
    expect(sanitize('普通 name (id-1) ✅ café')).toBe('普通 name (id-1) ✅ café');
  });

  it('makes every string of an NDJSON line safe, and the line valid JSON that parses to the same safe text', () => {
    const hostile = '\x1b[2J\x1b]0;t\x07\u009b1m\u202e\u2028';
    const line = jsonLine({ message: hostile, nested: { list: [hostile] }, n: 1 });
    expect(line).not.toMatch(UNSAFE);
    const parsed = JSON.parse(line) as { message: string; nested: { list: string[] }; n: number };
    expect(parsed.message).toBe(sanitize(hostile));
    expect(parsed.nested.list[0]).toBe(sanitize(hostile));
    expect(parsed.message).not.toMatch(UNSAFE);
    expect(parsed.n).toBe(1);
  });
});

describe('didYouMean', () => {
  test.each([
    ['DouYin', 'douyin'],
    ['YOUTUBE', 'youtube'],
    ['kwai', 'KWAI'],
    ['youtub', 'youtube'],
    ['tiktk', 'tiktok'],
    ['google-business', 'google_business'],
    ['linkdin', 'linkedin'],
  ])('suggests a platform for %s: %s', (word, expected) => {
    expect(didYouMean(word, ['douyin', 'KWAI', 'youtube', 'tiktok', 'google_business', 'linkedin'])).toBe(
      expected,
    );
  });

  test.each([
    ['wiat', ['wait', 'status', 'sandbox'], 'wait'],
    ['--timout', ['--timeout', '--site', '--json'], '--timeout'],
    ['--jsno', ['--timeout', '--site', '--json'], '--json'],
    ['--base_url', ['--base-url', '--site'], '--base-url'],
  ])('suggests %s -> %s', (word, candidates, expected) => {
    expect(didYouMean(word, candidates)).toBe(expected);
  });

  it('suggests nothing for a word far from every candidate', () => {
    expect(didYouMean('mastodon', ['douyin', 'youtube', 'tiktok'])).toBeUndefined();
    expect(didYouMean('x', ['xhs'])).toBeUndefined();
  });
});

describe('display width', () => {
  test.each([
    ['ascii', 'abc', 3],
    ['CJK (two columns each)', '抖音账号', 8],
    ['Hangul and fullwidth', '한글ＡＢ', 8],
    ['an emoji', '✅ ok', 5],
    ['a combining mark (no column)', 'e\u0301', 1],
  ])('measures %s', (_name, text, width) => {
    expect(displayWidth(text)).toBe(width);
  });

  it('cuts to a width without splitting a wide character, marking the cut', () => {
    expect(cutToWidth('抖音账号抖音', 7)).toBe('抖音账…');
    expect(displayWidth(cutToWidth('抖音账号抖音', 7))).toBeLessThanOrEqual(7);
    expect(cutToWidth('short', 10)).toBe('short');
  });
});

function progress(overrides: Partial<AuthProgress> = {}): AuthProgress {
  return {
    type: 'status',
    attempt: 3,
    elapsedMs: 12_000,
    remainingMs: 288_000,
    nextDelayMs: 4000,
    session: undefined,
    status: 'pending',
    selectionRequired: false,
    requestId: undefined,
    error: undefined,
    warning: undefined,
    ...overrides,
  };
}

const plain = painter(false);

describe('the live line on a narrow terminal', () => {
  const selecting = progress({ selectionRequired: true });

  it('shows everything when it fits', () => {
    expect(fitLine(progressSegments(selecting, 0, 'hint'), plain, 200)).toBe(
      'pending · 12s elapsed · 4m 48s left · next check in 4s · choose your accounts in the browser · Enter: check now',
    );
  });

  it('drops the clocks before "choose your accounts in the browser" and "Enter: check now"', () => {
    const line = fitLine(progressSegments(selecting, 0, 'hint'), plain, 78);
    expect(line).toBe('pending · 4m 48s left · choose your accounts in the browser · Enter: check now');
    expect(fitLine(progressSegments(selecting, 0, 'hint'), plain, 64)).toBe(
      'pending · choose your accounts in the browser · Enter: check now',
    );
  });

  it("keeps the retry's cause, in short, when the full message does not fit", () => {
    const error = new AitoearnTransportError('http-status', 'GET /api/v2/… answered HTTP 503 with …', {
      httpStatus: 503,
    });
    const retry = progress({ type: 'retry', error, warning: error.message, status: undefined });
    expect(fitLine(progressSegments(retry, 0, 'hint'), plain, 200)).toContain('answered HTTP 503 with');
    expect(fitLine(progressSegments(retry, 0, 'hint'), plain, 67)).toBe(
      'no answer yet · 4m 48s left · retrying: HTTP 503 · Enter: check now',
    );
  });

  it('shortens a long warning (an unknown status) before it gives up "Enter: check now"', () => {
    const warning = `Unknown session status "${'x'.repeat(80)}"; treating it as pending`;
    const line = fitLine(progressSegments(progress({ warning }), 0, 'hint'), plain, 79);
    expect(line).toContain('Enter: check now');
    expect(line).toContain('Unknown session status');
    expect(displayWidth(line)).toBeLessThanOrEqual(79);
  });

  it('never exceeds the width, wide server text included, down to 10 columns', () => {
    const warning = '服务器暂时不可用，请稍后再试 '.repeat(4);
    const events = [
      selecting,
      progress({ type: 'retry', warning, error: new AitoearnApiError(500, warning, 'GET /x') }),
      progress({ status: '等待中' as AuthProgress['status'], warning }),
    ];
    for (const event of events) {
      for (let width = 10; width <= 140; width++) {
        for (const enter of ['none', 'hint', 'checking'] as const) {
          const line = fitLine(progressSegments(event, 0, enter), plain, width);
          expect(displayWidth(line), `${width} columns: ${line}`).toBeLessThanOrEqual(width);
        }
      }
    }
  });

  it('says "checking now…" after Enter, in place of the hint', () => {
    const line = fitLine(progressSegments(progress(), 0, 'checking'), plain, 200);
    expect(line).toContain('checking now…');
    expect(line).not.toContain('Enter: check now');
  });

  it('colours only the parts, so that a shortened line keeps its colours', () => {
    const line = fitLine(progressSegments(selecting, 0, 'hint'), painter(true), 64);
    expect(line).toContain('\x1b[33mpending\x1b[0m');
    expect(line).toContain('\x1b[1mchoose your accounts in the browser\x1b[0m');
  });
});

describe('clocks', () => {
  it('keeps elapsed + left equal to the whole wait, however the time between events is rounded', () => {
    const event = progress({ elapsedMs: 1499, remainingMs: 298_501 });
    for (let since = 0; since <= 10_000; since += 50) {
      const { elapsedS, leftS } = clocks(event, since);
      expect(elapsedS + leftS, `${since} ms after the event`).toBe(300);
    }
  });

  it('never shows a negative time left', () => {
    expect(clocks(progress({ elapsedMs: 299_000, remainingMs: 1000 }), 5000).leftS).toBe(0);
  });
});

test.each([
  [0, '0 accounts'],
  [1, '1 account'],
  [2, '2 accounts'],
])('counts %i as "%s"', (n, text) => {
  expect(accountCount(n)).toBe(text);
});

describe('sessionRecord', () => {
  it('prints only the fields the spec names, never walking what the server added', () => {
    let deep: unknown = {};
    for (let i = 0; i < 200_000; i++) deep = { deep };
    const session = {
      sessionId: 's1',
      status: 'completed',
      requiresSelection: false,
      accounts: [
        { accountId: 'a1', platform: 'douyin', platformUid: 'u1', displayName: 'Alice', extra: deep },
      ],
      extra: deep,
    } as unknown as AuthSession;
    const line = jsonLine({ session: sessionRecord(session) });
    expect(JSON.parse(line)).toEqual({
      session: {
        sessionId: 's1',
        status: 'completed',
        requiresSelection: false,
        accounts: [{ accountId: 'a1', platform: 'douyin', platformUid: 'u1', displayName: 'Alice' }],
      },
    });
  });
});

describe("messages in the command's words", () => {
  const command: SessionCommand = {
    kind: 'wait',
    platform: 'douyin',
    sessionId: 's1',
    site: undefined,
    baseUrl: 'x',
    baseUrlFrom: 'AITOEARN_BASE_URL',
    key: { from: 'file', path: '/keys/k' },
    timeoutMs: undefined,
    timeoutText: undefined,
    json: false,
    quiet: false,
  };

  test.each([
    [
      'the default timeout',
      new AuthTimeoutError(600_000, undefined),
      command,
      'gave up after the default --timeout of 600 seconds (last status: none seen)',
    ],
    [
      'a --timeout as typed',
      new AuthTimeoutError(2500, { sessionId: 's1', status: 'pending', requiresSelection: false }),
      { ...command, timeoutMs: 2500, timeoutText: '2.5' },
      'gave up after --timeout 2.5 (last status: pending)',
    ],
    [
      'a base URL from the environment',
      new AitoearnInputError('baseUrl', 'Expected "baseUrl" to be an https URL, got "x": it is not a URL.'),
      command,
      'AITOEARN_BASE_URL must be an https URL, got "x": it is not a URL',
    ],
    [
      'a key from a file',
      new AitoearnInputError(
        'apiKey',
        'Expected "apiKey" to be a non-empty string, got a 3-character string.',
      ),
      command,
      'the API key in "/keys/k" must be a non-empty string, got a 3-character string',
    ],
  ])('words %s', (_name, error, cmd, message) => {
    expect(messageOf(error, cmd)).toBe(message);
  });
});
