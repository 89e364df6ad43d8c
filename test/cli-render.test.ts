/** The command's pure parts, in-process: parsing, help, exit codes, rendering, the start presentation. */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import jsqr from 'jsqr';
import stringWidth from 'string-width';
import { beforeAll, describe, expect, it, test } from 'vitest';
import { parseCommandLine, type SessionCommand } from '../src/cli/args.js';
import {
  classifyConsentLink,
  personLanguage,
  presentStart,
  qrCode,
  writeConsentImage,
} from '../src/cli/connect.js';
import { classify, EXITS, Interrupted } from '../src/cli/exit-codes.js';
import { commandHelp, mainHelp } from '../src/cli/help.js';
import * as render from '../src/cli/render.js';
import { didYouMean } from '../src/cli/suggest.js';
import {
  AitoearnApiError,
  AitoearnInputError,
  AitoearnTransportError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  AuthTimeoutError,
} from '../src/errors.js';
import type { AuthProgress, AuthSession } from '../src/index.js';
import { PLATFORMS } from '../src/platforms.js';
import { waitDefaults } from '../src/poll/options.js';
import { fakeBrowser, ROOT, until } from './helpers/run-cli.js';

beforeAll(render.loadWidths);

const op = 'GET /api/v2/channels/accounts/auth/douyin/status/s1';
const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => parseCommandLine(args, env);

describe('parsing: one table drives the parser, the help and "did you mean"', () => {
  // A command line as words (split at spaces), the environment, and the reason it is refused.
  test.each([
    ['wait douyin s1 --timout 5', {}, /^unknown option '--timout'; did you mean --timeout\?$/],
    ['wait douyin s1 --JSON', {}, /unknown option '--JSON'; did you mean --json\?$/],
    ['wait douyin s1 -x', {}, /unknown option '-x'/],
    ['stauts douyin s1', {}, /^unknown command "stauts".*did you mean status\?$/],
    ['frobnicate', {}, /unknown command "frobnicate"/],
    [
      'wait DouYin s1',
      {},
      new RegExp(
        `^unknown platform "DouYin"; did you mean douyin\\? \\(platforms: ${PLATFORMS.join(', ')}\\)$`,
      ),
    ],
    ['connect douyn', {}, /unknown platform "douyn"; did you mean douyin\?/],
    ['wait mastodon s1', {}, /^unknown platform "mastodon" \(platforms: douyin, /],
    ['wait a/b s1', {}, /unknown platform a value \(not shown\)/],
    ['', {}, /missing a command/],
    ['wait', {}, /both are missing/],
    ['status douyin', {}, /<sessionId> is missing/],
    ['connect', {}, /connect needs <platform>/],
    ['wait douyin s1 canary-key', {}, /^wait takes exactly <platform> <sessionId>, got 3 arguments$/],
    ['wait douyin s1 --site xx', {}, /--site must be cn or ai/],
    ['wait douyin s1', { AITOEARN_SITE: 'eu' }, /AITOEARN_SITE must be cn or ai/],
    ['wait douyin s1 --site cn --base-url https://x.test', {}, /not both/],
    [
      'wait douyin s1 --timeout 9999999',
      {},
      /^--timeout must be a positive number of seconds up to 2147483, got "9999999"$/,
    ],
    ['wait douyin s1 --timeout -5', {}, /--timeout needs a value/],
    ['wait douyin s1 --timeout=-5', {}, /--timeout must be a positive number/],
    ['wait douyin s1 --timeout 0', {}, /--timeout must be a positive number/],
    ['status douyin s1 --timeout 5', {}, /^--timeout does not apply to status$/],
    ['wait douyin s1 --lifetime 5', {}, /^--lifetime does not apply to wait$/],
    ['sandbox --port 99999', {}, /--port must be an integer/],
    ['sandbox --lifetime -5', {}, /--lifetime/],
    ['wait douyin s1 --json=yes', {}, /--json' does not take an argument/],
    ['wait douyin s1 --api-key k', {}, /^--api-key is refused.*'ps'.*AITOEARN_API_KEY/],
    ['wait douyin s1 --api-key=k', {}, /--api-key is refused/],
    ['wait douyin s1 --key k', {}, /--key is refused/],
  ])('refuses "%s" with a one-line reason', (line, env, message) => {
    const args = line === '' ? [] : line.split(' ');
    expect(() => parse(args, env)).toThrow(
      expect.objectContaining({ name: 'UsageError', message: expect.stringMatching(message) }),
    );
  });

  it('lets flags beat the environment, and reads help and version in every spelling', () => {
    expect(
      parse(['wait', 'douyin', 's1', '--base-url', 'http://127.0.0.1:1'], {
        AITOEARN_BASE_URL: 'x',
        AITOEARN_SITE: 'cn',
      }),
    ).toMatchObject({
      baseUrl: 'http://127.0.0.1:1',
      baseUrlFrom: '--base-url',
      site: undefined,
    });
    expect(parse(['connect', 'douyin', '--timeout', '1.5', '--no-open'])).toMatchObject({
      timeoutMs: 1500,
      timeoutText: '1.5',
      open: false,
      callback: true,
    });
    for (const args of [
      ['help', 'wait'],
      ['wait', '--help'],
      ['wait', '-h'],
    ])
      expect(parse(args)).toEqual({ kind: 'help', topic: 'wait' });
    for (const args of [['version'], ['-v'], ['-V'], ['--version']])
      expect(parse(args)).toEqual({ kind: 'version' });
  });
});

describe('help and README state the facts the code uses', () => {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
  it('lists every exit code with its meaning, the platforms, and the defaults', () => {
    for (const { code, meaning } of Object.values(EXITS))
      expect(mainHelp()).toContain(`  ${String(code).padEnd(5)}${meaning.split('\n')[0]}`);
    expect(mainHelp()).toContain(`default ${waitDefaults.timeoutMs / 1000};`);
    for (const name of ['connect', 'wait', 'status'] as const)
      expect(commandHelp(name)).toContain(PLATFORMS.slice(0, 5).join(', '));
    expect(commandHelp('sandbox')).not.toContain('Platforms');
  });

  it('README: the same exit codes and default timeout; the example is ESM and shows the sandbox baseUrl', () => {
    const table = [...readme.matchAll(/^\| ([\d /]+) \|/gm)].flatMap((m) =>
      (m[1] ?? '').split(' / ').map(Number),
    );
    expect(table.sort((a, b) => a - b)).toEqual(
      Object.values(EXITS)
        .map((e) => e.code)
        .sort((a, b) => a - b),
    );
    expect(readme).toContain(`--timeout SECONDS\` (default ${waitDefaults.timeoutMs / 1000}`);
    expect(readme).not.toMatch(/--timeout SECONDS` \(wait only\)/);
    const example = readme.slice(
      readme.indexOf('## Connecting an account'),
      readme.indexOf('## Waiting on an existing session'),
    );
    expect(example).toMatch(/\.mts.*"type": "module"|"type": "module".*\.mts/s);
    expect(example).toMatch(/baseUrl: sandbox\.url/);
    expect(readme).toMatch(/`select` \(.*`accounts`/);
  });
});

describe('exit codes', () => {
  test.each([
    [new Interrupted('SIGINT'), 'sigint'],
    [new Interrupted('SIGHUP'), 'sighup'],
    [
      new AuthFailedError({ sessionId: 's1', status: 'failed', requiresSelection: false, errorCode: 15045 }),
      'failed',
    ],
    [new AuthExpiredError('expired', undefined), 'expired'],
    [new AitoearnApiError(15039, 'gone', op), 'expired'],
    [new AuthTimeoutError(1000, undefined), 'timeout'],
    [new AitoearnApiError(401, 'bad key', op), 'apiError'],
    [new AitoearnApiError(99999, '?', op), 'apiError'],
    [new AitoearnTransportError('redirect', 'moved'), 'apiError'],
    [new AitoearnTransportError('http-status', 'not found', { httpStatus: 404 }), 'apiError'],
    [new AitoearnUnavailableError(3, undefined, new Error('x')), 'unavailable'],
    [new AitoearnTransportError('http-status', 'down', { httpStatus: 503 }), 'unavailable'],
    [new AitoearnApiError(500, 'oops', op), 'unavailable'],
    [new AitoearnInputError('sessionId', 'bad'), 'usage'],
    [new TypeError('x'), 'bug'],
    ['a thrown string', 'bug'],
  ])('%s ends as %s', (error, exit) => {
    expect(classify(error)).toBe(exit);
  });
});

it('formats durations for the live line, and suggests what a word was meant to be', () => {
  const durations = [0, -500, 1499, 60_000, 3_720_000].map(render.formatDuration);
  expect(durations).toEqual(['0s', '0s', '1s', '1m 00s', '1h 02m']);
  expect(['kwai', 'google-business', 'linkdin', 'mastodon'].map((w) => didYouMean(w, PLATFORMS))).toEqual([
    'KWAI',
    'google_business',
    'linkedin',
    undefined,
  ]);
  expect(didYouMean('--base_url', ['--base-url', '--site'])).toBe('--base-url');
  expect(didYouMean('x', ['xhs'])).toBeUndefined();
});

const progress = (o: Partial<AuthProgress> = {}): AuthProgress => ({
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
  ...o,
});
const noColor = render.painter({}, {});
const line = (event: AuthProgress, width: number, enter: render.EnterHint = 'hint', paint = noColor) =>
  render.fitLine(render.progressSegments(event, 0, enter), paint, width);

describe('the live line on a narrow terminal', () => {
  const selecting = progress({ selectionRequired: true });
  test.each([
    [
      200,
      'pending · 12s elapsed · 4m 48s left · next check in 4s · choose your accounts in the browser · Enter: check now',
    ],
    [78, 'pending · 4m 48s left · choose your accounts in the browser · Enter: check now'],
    [64, 'pending · choose your accounts in the browser · Enter: check now'],
  ])('drops the least useful parts first (%i columns)', (width, text) => {
    expect(line(selecting, width)).toBe(text);
  });

  it("keeps the retry's cause when the full message does not fit; says checking now… after Enter", () => {
    const error = new AitoearnTransportError('http-status', 'GET /api/v2/… answered HTTP 503 with …', {
      httpStatus: 503,
    });
    const retry = progress({ type: 'retry', error, warning: error.message, status: undefined });
    expect(line(retry, 67)).toBe('no answer yet · 4m 48s left · retrying: HTTP 503 · Enter: check now');
    expect(line(progress(), 200, 'checking')).toMatch(/checking now…$/);
  });

  it('never exceeds the width, wide server text included, and keeps its colours', () => {
    const warning = '服务器暂时不可用，请稍后再试 '.repeat(4);
    for (const event of [
      selecting,
      progress({ type: 'retry', warning, error: new AitoearnApiError(500, warning, 'GET /x') }),
    ]) {
      for (let width = 10; width <= 140; width += 3) {
        for (const enter of ['none', 'hint', 'checking'] as const)
          expect(stringWidth(line(event, width, enter))).toBeLessThanOrEqual(width);
      }
    }
    expect(render.cutToWidth('抖音账号抖音', 7)).toBe('抖音账…');
    const colored = line(selecting, 64, 'hint', render.painter({ isTTY: true }, {}));
    expect(colored).toContain('\x1b[33mpending\x1b[0m');
    expect(colored).toContain('\x1b[1mchoose your accounts in the browser\x1b[0m');
    expect(render.painter({ isTTY: true }, { NO_COLOR: '1' })('x', 'red')).toBe('x');
  });

  it('keeps elapsed + left equal to the whole wait, never below zero', () => {
    for (let since = 0; since <= 10_000; since += 250) {
      const { elapsedS, leftS } = render.clocks(progress({ elapsedMs: 1499, remainingMs: 298_501 }), since);
      expect(elapsedS + leftS).toBe(300);
    }
    expect(render.clocks(progress({ elapsedMs: 299_000, remainingMs: 1000 }), 5000).leftS).toBe(0);
  });
});

describe('the session and the error, rendered generically', () => {
  const session = {
    sessionId: 's1',
    status: 'completed',
    requiresSelection: false,
    accounts: [{ accountId: 'a1', platform: 'douyin', platformUid: 'u1', displayName: 'Ann\x1b[2J' }],
    futureField: 7,
  } as unknown as AuthSession;

  it('prints every field the decoder kept, one path per line, escaped', () => {
    expect(render.sessionLines(session)).toEqual([
      'sessionId: s1',
      'status: completed',
      'requiresSelection: false',
      'accounts[0].accountId: a1',
      'accounts[0].platform: douyin',
      'accounts[0].platformUid: u1',
      'accounts[0].displayName: Ann\\x1b[2J',
      'futureField: 7',
    ]);
    expect(JSON.parse(render.jsonLine(render.resultRecord('ok', session)))).toMatchObject({
      outcome: 'completed',
      session: { futureField: 7 },
    });
    expect(render.jsonLine({ s: 'a\u2028\u200bb' })).toBe('{"s":"a\\\\u2028\\\\u200bb"}');
  });

  it("carries the error's structured fields and its cause's, in the command's words", () => {
    const cause = new AitoearnApiError(15039, 'gone', op, { requestId: 'r1' });
    const record = render.errorRecord(new AuthExpiredError('expired', undefined, { cause }), 'expired');
    expect(record).toMatchObject({
      name: 'AuthExpiredError',
      message: 'expired',
      code: 15039,
      kind: 'session-invalid',
      requestId: 'r1',
    });
    const command = {
      kind: 'wait',
      baseUrlFrom: 'AITOEARN_BASE_URL',
      key: { from: 'file', path: '/k' },
      timeoutText: undefined,
    } as SessionCommand;
    expect(render.messageOf(new AuthTimeoutError(600_000, undefined), command)).toBe(
      'gave up after the default --timeout of 600 seconds (last status: none seen)',
    );
    expect(
      render.messageOf(
        new AitoearnInputError('baseUrl', 'Expected "baseUrl" to be an https URL, got "x".'),
        command,
      ),
    ).toBe('AITOEARN_BASE_URL must be an https URL, got "x"');
    expect(
      render.messageOf(new AitoearnInputError('apiKey', 'Expected "apiKey" to be a key.'), command),
    ).toBe('the API key in "/k" must be a key');
  });
});

describe('the URL the start operation sent', () => {
  const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  test.each([
    ['https://open.douyin.com/oauth?client_key=k', 'web'],
    [`data:image/jpeg;base64,${PNG.toString('base64')}`, 'image'],
    ['file:///etc/passwd', 'other'],
    ['javascript:alert(1)', 'other'],
    ['vscode://command/x', 'other'],
    [`data:image/svg+xml;base64,${Buffer.from('<svg onload="x()"/>').toString('base64')}`, 'other'],
    ['data:text/html;base64,PGgxPmhpPC9oMT4=', 'other'],
    ['data:image/png;base64,', 'other'],
    ['https://user:pass@evil.example/', 'other'],
  ])('%s is %s', (url, kind) => {
    expect(classifyConsentLink(url).kind).toBe(kind);
  });

  it('writes an image to a private file that remove() deletes; reads the language from the locale', async () => {
    const image = await writeConsentImage(PNG, 'png');
    expect(await readFile(image.file)).toEqual(PNG);
    expect((await stat(image.file)).mode & 0o777).toBe(0o600);
    await image.remove();
    expect(existsSync(image.file)).toBe(false);
    expect(personLanguage({ LANG: 'zh_CN.UTF-8' })).toBe('zh-CN');
    expect(personLanguage({ LANG: 'zh_CN.UTF-8', LC_ALL: 'en_GB.UTF-8' })).toBe('en-US');
    expect(personLanguage({ LANG: 'en_US.UTF-8', LC_MESSAGES: 'zh_CN' })).toBe('zh-CN');
    expect(personLanguage({ LANG: 'zu_ZA.UTF-8' })).toBe('en-US');
  });
});

/** The modules of a printed QR code (dark = true), read back from its half-block characters. */
function modules(lines: readonly string[]): boolean[][] {
  return lines.flatMap((l) => {
    const chars = [...(l.split('m').at(-2)?.split('\x1b')[0] ?? '')];
    return [chars.map((c) => c === '█' || c === '▀'), chars.map((c) => c === '█' || c === '▄')];
  });
}

/** Decodes modules with jsQR, at 4 pixels a module. */
function decode(rows: boolean[][]): string | undefined {
  const scale = 4;
  const size = rows.length * scale;
  const width = (rows[0]?.length ?? 0) * scale;
  const pixels = new Uint8ClampedArray(width * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < width; x++)
      pixels.fill(
        rows[Math.floor(y / scale)]?.[Math.floor(x / scale)] ? 0 : 255,
        (y * width + x) * 4,
        (y * width + x) * 4 + 3,
      );
  }
  for (let i = 3; i < pixels.length; i += 4) pixels[i] = 255;
  return jsqr.default(pixels, width, size)?.data;
}

describe('showing the person where to go (issue 16: items 10, 11, 13, 14)', () => {
  const start = (url: string) => ({
    url,
    sessionId: 'abcdefghijklmnop',
    expiresAt: '',
    authInstructions: { 'en-US': 'Scan it\x1b[2J', 'zh-CN': '扫码' },
    callbackUrl: undefined,
    requestId: undefined,
  });
  async function present(url: string, o: { qrColumns?: number; open?: boolean; works?: boolean } = {}) {
    const lines: string[] = [];
    const browser = fakeBrowser(o.works ?? true);
    const saved = { ...process.env };
    Object.assign(process.env, { BROWSER: browser.env.BROWSER });
    delete process.env.DISPLAY;
    try {
      await presentStart(start(url), {
        platform: 'douyin',
        json: false,
        open: o.open ?? true,
        qrColumns: o.qrColumns,
        language: 'en-US',
        err: (l) => lines.push(l),
        paint: noColor,
        cleanups: [],
      });
    } finally {
      process.env = saved;
    }
    const opened = () => (existsSync(browser.opened) ? readFileSync(browser.opened, 'utf8') : undefined);
    return { lines, opened };
  }

  test.each([
    [
      'a tab inside the host',
      'https://good.example\t.evil.test/consent',
      'https://good.example.evil.test/consent',
    ],
    ['a Cyrillic homoglyph host', 'https://\u0430itoearn.ai/x', 'https://xn--itoearn-1fg.ai/x'],
  ])('prints exactly the href it encodes and opens: %s', async (_name, url, href) => {
    const { lines, opened } = await present(url, { qrColumns: 200 });
    expect(lines[1]).toBe(`  ${href}`);
    expect(decode(modules(lines.filter((l) => l.startsWith('\x1b[30;107m'))))).toBe(href);
    await until(() => opened() !== undefined);
    expect(opened()).toBe(href);
  });

  it('draws the QR code dark on bright white with a 4-module quiet zone, or skips it with a note when it does not fit', async () => {
    const url = 'https://aitoearn.ai/consent?session=abcdefghijklmnop';
    const qr = await qrCode(url, 80);
    expect(Array.isArray(qr)).toBe(true);
    const rows = modules(qr as string[]);
    for (const row of [...rows.slice(0, 4), ...rows.slice(-5, -1)])
      expect(row.every((dark) => !dark)).toBe(true);
    for (const row of rows) expect(row.slice(0, 4).concat(row.slice(-4)).some(Boolean)).toBe(false);
    for (const l of qr as string[]) {
      expect(l.startsWith('\x1b[30;107m') && l.endsWith('\x1b[0m')).toBe(true);
    }
    const narrow = await present(url, { qrColumns: (rows[0]?.length ?? 0) - 1 });
    expect(narrow.lines).toContain(
      `aitoearn-auth: no QR code: the terminal is narrower than the QR code (${rows[0]?.length} columns).`,
    );
  });

  it('skips a QR code that cannot be made, and still prints the URL, instructions and session, and opens the browser', async () => {
    const url = `https://aitoearn.ai/consent?${'x'.repeat(3000)}`;
    const { lines, opened } = await present(url, { qrColumns: 500 });
    expect(lines).toEqual([
      'Open this page to authorize douyin:',
      `  ${url}`,
      'aitoearn-auth: no QR code: the URL is too long for a QR code.',
      '  Scan it\\x1b[2J',
      'Session abcdefghijklmnop (to wait on it later: aitoearn-auth wait douyin abcdefghijklmnop)',
    ]);
    await until(() => opened() !== undefined);
    expect(opened()).toBe(url);
  });

  it('says that no browser could be opened when the opener fails, and that the URL above is the way in', async () => {
    const { lines } = await present('https://aitoearn.ai/x', { works: false });
    await until(() => lines.length > 4);
    expect(lines.at(-1)).toBe('aitoearn-auth: no browser could be opened; the URL above is the way in.');
  });
});
