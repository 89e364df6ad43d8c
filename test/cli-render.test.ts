/** The command's pure parts, in-process: parsing, help, exit codes, rendering, the start presentation. */
import { existsSync, readFileSync } from 'node:fs';
import stringWidth from 'string-width';
import { afterEach, beforeAll, describe, expect, it, test, vi } from 'vitest';
import type { SessionCommand } from '../src/cli/args.js';
import { classify, didYouMean, EXITS, Interrupted, parseCommandLine } from '../src/cli/args.js';
import { personLanguage, presentStart, qrCode } from '../src/cli/connect.js';
import { commandHelp, mainHelp } from '../src/cli/help.js';
import * as render from '../src/cli/render.js';
import { AitoearnApiError, AitoearnInputError, AuthExpiredError, AuthFailedError } from '../src/errors.js';
import type { AuthProgress, AuthSession, ConnectStart } from '../src/index.js';
import { AitoearnTransportError, AitoearnUnavailableError, AuthTimeoutError } from '../src/index.js';
import { PLATFORMS } from '../src/platforms.js';
import { waitDefaults } from '../src/poll/options.js';
import { fakeBrowser, ROOT, until } from './helpers/run-cli.js';

beforeAll(render.loadWidths);

const op = 'GET /api/v2/channels/accounts/auth/douyin/status/s1';
const facts = { sessionId: 's1', status: 'completed', requiresSelection: false } as const;
const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => parseCommandLine(args, env);
const LIST = PLATFORMS.join(', ');

describe('parsing: one table drives the parser, the help and "did you mean"', () => {
  test.each<[string, RegExp, NodeJS.ProcessEnv?]>([
    ['wait douyin s1 --timout 5', /^unknown option '--timout'; did you mean --timeout\?$/],
    ['wait douyin s1 --JSON', /unknown option '--JSON'; did you mean --json\?$/],
    ['wait douyin s1 -x', /unknown option '-x'/],
    ['stauts douyin s1', /^unknown command "stauts".*did you mean status\?$/],
    ['frobnicate', /unknown command "frobnicate"/],
    [
      'wait DouYin s1',
      new RegExp(`^unknown platform "DouYin"; did you mean douyin\\? \\(platforms: ${LIST}\\)$`),
    ],
    ['wait mastodon s1', /^unknown platform "mastodon" \(platforms: douyin, /],
    ['wait a/b s1', /unknown platform a value \(not shown\)/],
    ['', /missing a command/],
    ['wait', /both are missing/],
    ['status douyin', /<sessionId> is missing/],
    ['connect', /^connect needs <platform>; <platform> is missing$/],
    ['wait douyin s1 canary-key', /^wait takes exactly <platform> <sessionId>, got 3 arguments$/],
    ['wait douyin s1 --site xx', /--site must be cn or ai/],
    ['wait douyin s1', /AITOEARN_SITE must be cn or ai/, { AITOEARN_SITE: 'eu' }],
    ['wait douyin s1 --site cn --base-url https://x.test', /not both/],
    [
      'wait douyin s1 --timeout 9999999',
      /^--timeout must be a positive number of seconds up to 2147483, got "9999999"$/,
    ],
    ['wait douyin s1 --timeout -5', /--timeout needs a value/],
    ['wait douyin s1 --timeout=-5', /--timeout must be a positive number/],
    ['wait douyin s1 --timeout 0', /--timeout must be a positive number/],
    ['status douyin s1 --timeout 5', /^--timeout does not apply to status$/],
    ['wait douyin s1 --lifetime 5', /^--lifetime does not apply to wait$/],
    ['sandbox --port 99999', /--port must be an integer/],
    ['sandbox x', /^sandbox takes no arguments, got 1$/],
    ['sandbox --lifetime -5', /--lifetime/],
    ['wait douyin s1 --json=yes', /--json' does not take an argument/],
    ['wait douyin s1 --api-key k', /^--api-key is refused.*'ps'.*AITOEARN_API_KEY/],
    ['wait douyin s1 --api-key=k', /--api-key is refused/],
    ['wait douyin s1 --key k', /--key is refused/],
  ])('refuses "%s" with a one-line reason', (line, message, env) => {
    expect(() => parse(line === '' ? [] : line.split(' '), env)).toThrow(
      expect.objectContaining({ name: 'UsageError', message: expect.stringMatching(message) }),
    );
  });

  it('lets flags beat the environment, and reads help and version in every spelling', () => {
    const env = { AITOEARN_BASE_URL: 'x', AITOEARN_SITE: 'cn' };
    const flagged = parse(['wait', 'douyin', 's1', '--base-url', 'http://127.0.0.1:1'], env);
    expect(flagged).toHaveProperty('baseUrlFrom', '--base-url');
    expect(flagged).toHaveProperty('api', { baseUrl: 'http://127.0.0.1:1' });
    expect(parse(['status', 'douyin', 's1', '--site', 'ai'], env)).toHaveProperty('api', { site: 'ai' });
    const connect = parse(['connect', 'douyin', '--timeout', '1.5', '--no-open']);
    expect(connect).toMatchObject({ timeoutMs: 1500, timeoutText: '1.5', open: false, callback: true });
    const sandbox = parse(['sandbox', '--port', '8787', '--lifetime', '2']);
    expect(sandbox).toMatchObject({ port: 8787, lifetimeMs: 2000 });
    for (const line of ['help wait', 'wait --help', 'wait -h'])
      expect(parse(line.split(' '))).toEqual({ kind: 'help', topic: 'wait' });
    for (const arg of ['version', '-v', '-V', '--version']) expect(parse([arg])).toEqual({ kind: 'version' });
  });

  it('suggests what a word was meant to be, transpositions and case included', () => {
    const words = ['kwai', 'google-business', 'linkdin', 'mastodon', 'duoyin'];
    const guesses = words.map((w) => didYouMean(w, PLATFORMS));
    expect(guesses).toEqual(['KWAI', 'google_business', 'linkedin', undefined, 'douyin']);
    expect(didYouMean('x', ['xhs'])).toBeUndefined();
  });
});

it('lists every exit code with its meaning, the platforms, and the defaults', () => {
  for (const { code, meaning } of Object.values(EXITS))
    expect(mainHelp()).toContain(`  ${String(code).padEnd(5)}${meaning.split('\n')[0]}`);
  expect(mainHelp()).toContain(`default ${waitDefaults.timeoutMs / 1000};`);
  for (const name of ['connect', 'wait', 'status'] as const)
    expect(commandHelp(name)).toContain(PLATFORMS.slice(0, 5).join(', '));
  expect(commandHelp('sandbox')).not.toContain('Platforms');
});

it('README: the same exit codes and default timeout; the example is ESM and shows the sandbox baseUrl', () => {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
  const rows = [...readme.matchAll(/^\| ([\d /]+) \|/gm)];
  const table = rows.flatMap((m) => (m[1] ?? '').split(' / ').map(Number));
  const [byCode, codes] = [(a: number, b: number) => a - b, Object.values(EXITS).map((e) => e.code)];
  expect(table.sort(byCode)).toEqual(codes.sort(byCode));
  expect(readme).toContain(`--timeout SECONDS\` (default ${waitDefaults.timeoutMs / 1000}`);
  const at = (heading: string) => readme.indexOf(`## ${heading}`);
  const example = readme.slice(at('Connecting an account'), at('Waiting on an existing session'));
  expect(example).toMatch(/\.mts.*"type": "module"|"type": "module".*\.mts/s);
  expect(example).toMatch(/baseUrl: sandbox\.url/);
  expect(readme).toMatch(/`select` \(.*`accounts`/);
});

test.each([
  [new Interrupted('SIGINT'), 'sigint'],
  [new Interrupted('SIGHUP'), 'sighup'],
  [new AuthFailedError({ ...facts, status: 'failed', errorCode: 15045 }), 'failed'],
  [new AuthExpiredError('expired', undefined), 'expired'],
  [new AitoearnApiError(15039, 'gone', op), 'expired'],
  [new AuthTimeoutError(1000, undefined), 'timeout'],
  [new AitoearnApiError(401, 'bad key', op), 'apiError'],
  [new AitoearnApiError(99999, '?', op), 'apiError'],
  [new AitoearnTransportError('redirect', 'moved'), 'apiError'],
  [new AitoearnTransportError('refused-url', 'an SVG start URL'), 'apiError'],
  [new AitoearnTransportError('http-status', 'not found', { httpStatus: 404 }), 'apiError'],
  [new AitoearnUnavailableError(3, undefined, new Error('x')), 'unavailable'],
  [new AitoearnTransportError('http-status', 'down', { httpStatus: 503 }), 'unavailable'],
  [new AitoearnApiError(500, 'oops', op), 'unavailable'],
  [Object.assign(new Error('busy'), { name: 'SandboxListenError' }), 'unavailable'],
  [new AitoearnInputError('sessionId', 'bad'), 'usage'],
  [new TypeError('x'), 'bug'],
  ['a thrown string', 'bug'],
])('exit code: %s ends as %s', (error, exit) => {
  expect(classify(error)).toBe(exit);
});

const base = { type: 'status', attempt: 3, elapsedMs: 12_000, remainingMs: 288_000, nextDelayMs: 4000 };
const progress = (o: Partial<AuthProgress> = {}) =>
  ({ ...base, status: 'pending', selectionRequired: false, ...o }) as AuthProgress;
const noColor = render.painter({}, {});
const line = (event: AuthProgress, width: number, enter: render.EnterHint = 'hint', paint = noColor) =>
  render.fitLine(render.progressSegments(event, 0, enter), paint, width);

describe('the live line', () => {
  const selecting = progress({ selectionRequired: true });
  test.each([
    [
      200,
      'pending · 12s elapsed · 4m 48s left · next check in 4s · choose your accounts in the browser · Enter: check now',
    ],
    [78, 'pending · 4m 48s left · choose your accounts in the browser · Enter: check now'],
    [64, 'pending · choose your accounts in the browser · Enter: check now'],
    [40, 'pending · choose accounts'],
  ])('drops the least useful parts first, or shortens them (%i columns)', (width, text) => {
    expect(line(selecting, width)).toBe(text);
  });

  it("keeps the retry's cause when the full message does not fit; says checking now… after Enter", () => {
    const message = 'GET /api/v2/… answered HTTP 503 with …';
    const error = new AitoearnTransportError('http-status', message, { httpStatus: 503 });
    const retry = progress({ type: 'retry', error, warning: error.message, status: undefined });
    expect(line(retry, 67)).toBe('no answer yet · 4m 48s left · retrying: HTTP 503 · Enter: check now');
    expect(line(progress(), 200, 'checking')).toMatch(/checking now…$/);
  });

  it('never exceeds the width, wide server text included, and keeps its colours', () => {
    const warning = '服务器暂时不可用，请稍后再试 '.repeat(4);
    const retry = progress({ type: 'retry', warning, error: new AitoearnApiError(500, warning, 'GET /x') });
    for (const event of [selecting, retry])
      for (let width = 10; width <= 140; width += 3)
        for (const enter of ['none', 'hint', 'checking'] as const)
          expect(stringWidth(line(event, width, enter))).toBeLessThanOrEqual(width);
    expect(render.cutToWidth('抖音账号抖音', 7)).toBe('抖音账…');
    const colored = line(selecting, 64, 'hint', render.painter({ isTTY: true }, {}));
    expect(colored).toContain('\x1b[33mpending\x1b[0m');
    expect(colored).toContain('\x1b[1mchoose your accounts in the browser\x1b[0m');
    expect(render.painter({ isTTY: true }, { NO_COLOR: '1' })('x', 'red')).toBe('x');
  });

  it('keeps elapsed + left equal to the whole wait, never below zero; formats durations', () => {
    const clocks = (elapsedMs: number, remainingMs: number, since: number) => {
      const [, elapsed, left] = render.progressSegments(progress({ elapsedMs, remainingMs }), since);
      return [elapsed?.text, left?.text];
    };
    // Rounded apart, 1.999 s elapsed and 298.001 s left would add up to 299.
    expect(clocks(1499, 298_501, 500)).toEqual(['1s elapsed', '4m 59s left']);
    expect(clocks(1499, 298_501, 9750)).toEqual(['11s elapsed', '4m 49s left']);
    expect(clocks(299_000, 1000, 5000)).toEqual(['5m 04s elapsed', '0s left']);
    const durations = [0, -500, 1499, 65_000, 3_720_000].map(render.formatDuration);
    expect(durations.join(', ')).toBe('0s, 0s, 1s, 1m 05s, 1h 02m');
  });
});

const account = { accountId: 'a1', platform: 'douyin', platformUid: 'u1', displayName: 'Ann\x1b[2J' };
const session = { ...facts, accounts: [account], futureField: 7 } as unknown as AuthSession;

it('prints every field the decoder kept, one path per line, escaped', () => {
  expect(render.sessionLines(session).join('\n')).toBe(
    'sessionId: s1\nstatus: completed\nrequiresSelection: false\naccounts[0].accountId: a1\naccounts[0].platform: douyin\naccounts[0].platformUid: u1\naccounts[0].displayName: Ann\\x1b[2J\nfutureField: 7',
  );
  expect(render.accountLines(session, 'douyin')).toEqual(['douyin Ann\\x1b[2J (a1)']);
  expect(render.accountLines({ ...facts, accountIds: ['x'] }, 'kwai')).toEqual(['kwai (x)']);
  const result = JSON.parse(render.jsonLine(render.resultRecord('ok', session)));
  expect(result).toMatchObject({ outcome: 'completed', session: { futureField: 7 } });
  expect(render.jsonLine({ s: 'a\u2028\u200bb' })).toBe('{"s":"a\\\\u2028\\\\u200bb"}');
});

it("carries the error's structured fields and its cause's, in the command's words", () => {
  const cause = new AitoearnApiError(15039, 'gone', op, { requestId: 'r1' });
  const record = render.errorRecord(new AuthExpiredError('expired', undefined, { cause }), 'expired');
  expect(record).toMatchObject({ name: 'AuthExpiredError', message: 'expired', requestId: 'r1' });
  expect(record).toMatchObject({ code: 15039, kind: 'session-invalid' });
  const key = { from: 'file', path: '/k' } as const;
  const command = { kind: 'wait', baseUrlFrom: 'AITOEARN_BASE_URL', key } as SessionCommand;
  expect(render.messageOf(new AuthTimeoutError(600_000, undefined), command)).toBe(
    'gave up after the default --timeout of 600 seconds (last status: none seen)',
  );
  const baseUrl = new AitoearnInputError('baseUrl', 'Expected "baseUrl" to be an https URL, got "x".');
  expect(render.messageOf(baseUrl, command)).toBe('AITOEARN_BASE_URL must be an https URL, got "x"');
  const apiKey = new AitoearnInputError('apiKey', 'Expected "apiKey" to be a key.');
  expect(render.messageOf(apiKey, command)).toBe('the API key file "/k" must be a key');
  const groupId = new AitoearnInputError('groupId', 'Expected "groupId" to be short.');
  expect(render.messageOf(groupId, command)).toBe('--group-id must be short');
});

describe('showing the person where to go (issue 16: items 10, 11, 13, 14)', () => {
  const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  const shown = { platform: 'douyin', json: false, open: true, language: 'en-US', paint: noColor } as const;
  const authInstructions = { 'en-US': 'Scan it\x1b[2J', 'zh-CN': '扫码' };
  afterEach(() => vi.unstubAllEnvs());
  async function present(url: string, o: { qrColumns?: number; works?: boolean } = {}) {
    const [lines, cleanups]: [string[], (() => Promise<void>)[]] = [[], []];
    const browser = fakeBrowser(o.works ?? true);
    vi.stubEnv('BROWSER', browser.env.BROWSER);
    vi.stubEnv('DISPLAY', undefined);
    const start = { url, sessionId: 'abcdefghijklmnop', authInstructions } as unknown as ConnectStart;
    await presentStart(start, { ...shown, qrColumns: o.qrColumns, cleanups, err: (l) => lines.push(l) });
    const opened = () => (existsSync(browser.opened) ? readFileSync(browser.opened, 'utf8') : '');
    await until(() => opened() !== '' || lines.some((l) => l.includes('no browser')));
    return { lines, cleanups, opened: opened() };
  }

  it('draws the QR code dark on bright white with a 4-module quiet zone, or says why there is none', async () => {
    const url = 'https://aitoearn.ai/consent?session=abcdefghijklmnop';
    const qr = (await qrCode(url, 80)) as string[];
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the colours are the point.
    const rows = qr.map((l) => /^\x1b\[30;107m(.*)\x1b\[0m$/.exec(l)?.[1] ?? '');
    for (const row of [...rows.slice(0, 2), ...rows.slice(-2)]) expect(row.trim()).toBe('');
    for (const row of rows) expect(row.startsWith('    ') && row.endsWith('    ')).toBe(true);
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
    expect(opened).toBe(url);
  });

  it('writes a data:image URL to a private file, opens that, and a cleanup deletes it', async () => {
    const { lines, opened, cleanups } = await present(`data:image/jpeg;base64,${PNG.toString('base64')}`);
    const file = /in (\S+) with the douyin app/.exec(lines[0] ?? '')?.[1] ?? '';
    expect(file).toMatch(/\.jpg$/);
    expect(readFileSync(file)).toEqual(PNG);
    expect(opened).toBe(file);
    await Promise.all(cleanups.map((c) => c()));
    expect(existsSync(file)).toBe(false);
  });

  it('says that no browser could be opened when the opener fails, and that the URL above is the way in', async () => {
    const { lines } = await present('https://aitoearn.ai/x', { works: false });
    expect(lines.at(-1)).toBe('aitoearn-auth: no browser could be opened; the URL above is the way in.');
  });

  it('reads the language from the locale: LC_ALL, then LC_MESSAGES, then LANG', () => {
    expect(personLanguage({ LANG: 'zh_CN.UTF-8' })).toBe('zh-CN');
    expect(personLanguage({ LANG: 'zh_CN.UTF-8', LC_ALL: 'en_GB.UTF-8' })).toBe('en-US');
    expect(personLanguage({ LANG: 'en_US.UTF-8', LC_MESSAGES: 'zh_CN' })).toBe('zh-CN');
    expect(personLanguage({ LANG: 'zu_ZA.UTF-8' })).toBe('en-US');
  });
});
