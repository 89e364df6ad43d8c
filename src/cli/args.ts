import { parseArgs } from 'node:util';
import { clientDefaults, type Site } from '../client.js';
import { API_CODES } from '../codes.js';
import * as errors from '../errors.js';
import { isPlatform, PLATFORMS } from '../platforms.js';
import { MAX_TIMER_MS } from '../validate.js';

/** The abort reason for a signal, told apart from the library's errors. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(readonly signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP') {
    super(`interrupted by ${signal}`);
  }
}

/** A command line that cannot run: exit 2, nothing sent. The message never holds an argument's secret. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The business codes an API error with that code ends as: read from the one table of codes. */
const codes = (expired: boolean) =>
  Object.entries(API_CODES)
    .filter(([, f]) => !('transient' in f) && (f.kind === 'session-invalid') === expired)
    .map(([code]) => code)
    .join(', ');

const exit = (code: number, outcome: string, meaning: string) => ({ code, outcome, meaning });
const UNUSABLE = 'HTTP 401/403/404, a redirect, an answer that cannot be used';

/** Exit codes with their `--json` outcome and meaning (for `--help`). Scripts branch on these: never re-mean one. */
export const EXITS = {
  ok: exit(0, 'completed', 'completed (status: the request succeeded)'),
  failed: exit(1, 'failed', 'authorization failed (the session ended "failed")'),
  usage: exit(2, 'usage', 'usage or bad input; nothing was sent'),
  expired: exit(3, 'expired', `session expired or invalid (code ${codes(true)}, or expiresAt passed)`),
  timeout: exit(4, 'timeout', 'local timeout (--timeout ran out)'),
  apiError: exit(5, 'api-error', `terminal API error: codes ${codes(false)}, unknown codes,\n${UNUSABLE}`),
  unavailable: exit(6, 'unavailable', 'API unreachable until the deadline (worth retrying later)'),
  bug: exit(70, 'bug', 'a bug in aitoearn-auth (EX_SOFTWARE): please report it; retrying will not help'),
  sighup: exit(129, 'aborted', 'the terminal was closed (SIGHUP)'),
  sigint: exit(130, 'aborted', 'interrupted (Ctrl-C, SIGINT)'),
  sigterm: exit(143, 'aborted', 'terminated (SIGTERM)'),
};

export type ExitName = keyof typeof EXITS;

/** How an error ends the command. A transport error that will not change (a redirect, a 404) is 5. */
export function classify(error: unknown): ExitName {
  if (error instanceof Interrupted) return error.signal.toLowerCase() as 'sigint' | 'sigterm' | 'sighup';
  if (error instanceof UsageError || error instanceof errors.AitoearnInputError) return 'usage';
  // A busy port is the machine's state, not a bug (by name: the sandbox loads on demand).
  if (error instanceof Error && error.name === 'SandboxListenError') return 'unavailable';
  if (error instanceof errors.AuthFailedError) return 'failed';
  if (error instanceof errors.AuthExpiredError) return 'expired';
  if (error instanceof errors.AuthTimeoutError) return 'timeout';
  if (error instanceof errors.AitoearnUnavailableError) return 'unavailable';
  if (error instanceof errors.AitoearnApiError && error.kind === 'session-invalid') return 'expired';
  if (error instanceof errors.AitoearnApiError || error instanceof errors.AitoearnTransportError)
    return errors.isTransient(error) ? 'unavailable' : 'apiError';
  // Not "unavailable": a script must not retry a bug forever.
  return 'bug';
}

const text = (value: string, help: string) => ({ type: 'string', value, help }) as const;
const flag = (help: string) => ({ type: 'boolean', help }) as const;

/** Every option, once: `parseArgs`, the help and "did you mean" read it. `value` names a string's argument. */
export const OPTIONS = {
  site: text(
    'cn|ai',
    `https://aitoearn.cn or https://aitoearn.ai (env AITOEARN_SITE; default ${clientDefaults.site})`,
  ),
  'base-url': text(
    'URL',
    'another API origin: https, or http to 127.0.0.1/localhost (env AITOEARN_BASE_URL)',
  ),
  'api-key-file': text(
    'PATH',
    "read the API key from PATH ('-' = stdin); otherwise from env AITOEARN_API_KEY.\nThe key is never accepted as an argument: other users would see it in 'ps'.",
  ),
  // The help fills in {timeout}: parsing a command line should not load the waiter.
  timeout: text(
    'SECONDS',
    "give up after this long (default {timeout}; the session's own 5-minute lifetime\nusually ends the wait first)",
  ),
  'group-id': text('ID', 'connect into this account group (default: your default group)'),
  'no-open': flag(
    'do not open the browser (it is not opened anyway when CI is set or stderr is not\na terminal; the same rule with --json)',
  ),
  'no-callback': flag("no loopback listener for the browser's callback: notice the end by polling alone"),
  port: text('N', 'TCP port (default 0: a free one)'),
  host: text(
    'H',
    'interface to bind (default 127.0.0.1; anything else puts the consent pages,\nwhich need no key, on the network)',
  ),
  lifetime: text('SECONDS', 'how long started sessions live (default 300, as the real API)'),
  verbose: flag('log each request on stderr: method, path, status, code, duration'),
  json: flag(
    'stdout is NDJSON, always ending with one {"type":"result","outcome",...} line\n(usage errors included)',
  ),
  quiet: { ...flag('no progress; only the result on stdout (errors still go to stderr)'), short: 'q' },
  help: { ...flag('show help (of a command: aitoearn-auth help <command>)'), short: 'h' },
  version: { ...flag('print the version (also -v)'), short: 'V' },
} as const;

export type OptionName = keyof typeof OPTIONS;
export const GLOBAL = ['json', 'quiet', 'help'] as const satisfies readonly OptionName[];
const ACCESS = ['site', 'base-url', 'api-key-file'] as const;
export const ALL_EXITS = Object.keys(EXITS) as ExitName[];

/** The commands, in help order: `optionsOf` and the help check their options and exits against the tables. */
export const COMMANDS = {
  connect: {
    args: ['<platform>'],
    summary: 'start an authorization, show and open its URL, wait until it ends',
    details:
      'Prints the URL and the platform\'s instructions (in Chinese when LC_ALL/LC_MESSAGES/LANG is zh_*), a QR\ncode on a terminal wide enough, and opens the browser; a data:image URL is written to a temporary file\nand opened. The browser\'s last page posts to a one-time 127.0.0.1 address, so the end is noticed at\nonce; polling runs anyway and has the last word. Then as \'wait\'. --json starts with\n{"type":"started","platform","sessionId","url","expiresAt","callbackUrl"}.',
    options: [...ACCESS, 'timeout', 'group-id', 'no-open', 'no-callback'],
    exits: ALL_EXITS,
    example: 'AITOEARN_API_KEY=... aitoearn-auth connect douyin --site cn',
  },
  wait: {
    args: ['<platform>', '<sessionId>'],
    summary: 'wait until the person finishes authorizing',
    details:
      'On a terminal, one live line on stderr; press Enter to check now. Elsewhere, one line per change.\nOn success, stdout names the connected accounts, one per line: platform displayName (accountId).',
    options: [...ACCESS, 'timeout'],
    exits: ALL_EXITS,
    example: 'AITOEARN_API_KEY=... aitoearn-auth wait douyin 3f1c... --timeout 120',
  },
  status: {
    args: ['<platform>', '<sessionId>'],
    summary: 'ask once and print the session',
    details: 'Prints one "field: value" line per fact; exits 0 whatever the status is.',
    options: [...ACCESS],
    exits: ['ok', 'usage', 'expired', 'apiError', 'unavailable', 'bug', 'sighup', 'sigint', 'sigterm'],
    example: 'aitoearn-auth status youtube 3f1c... --api-key-file ~/.aitoearn-key --json',
  },
  sandbox: {
    args: [],
    summary: 'run a local stand-in for the API until Ctrl-C',
    details:
      'Prints its URL and key as export lines; the sandbox accepts the key "sandbox-key". --json prints\n{"type":"ready","url","apiKey"} instead, and the result line when it stops.',
    options: ['port', 'host', 'lifetime', 'verbose'],
    exits: ['usage', 'unavailable', 'bug', 'sighup', 'sigint', 'sigterm'],
    example: 'aitoearn-auth sandbox --port 8787',
  },
} as const;

export type CommandName = keyof typeof COMMANDS;
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];
export const optionsOf = (command: CommandName): OptionName[] => [...COMMANDS[command].options, ...GLOBAL];

export type Command = ReturnType<typeof parseCommandLine>;
export type SessionCommand = Extract<Command, { kind: 'wait' | 'status' | 'connect' }>;

/** Optimal string alignment distance: an adjacent transposition is one edit, so `wiat` is one from `wait`. */
function distance(a: string, b: string): number {
  const d = [...Array(a.length + 1)].map((_, i) => [...Array(b.length + 1)].map((_, j) => i + j));
  const at = (i: number, j: number) => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const swap = a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? at(i - 2, j - 2) + 1 : Infinity;
      const change = at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1);
      (d[i] ?? [])[j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, change, swap);
    }
  return at(a.length, b.length);
}

/** The candidate `word` most likely meant: the closest ignoring case, within a third of its length (1 to 3). */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 40) return undefined;
  return candidates
    .map((c) => ({ c, d: distance(word.toLowerCase(), c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.min(3, Math.max(1, Math.floor(c.length / 3))))
    .sort((x, y) => x.d - y.d)[0]?.c;
}

const suggest = (word: string, candidates: readonly string[], guess = didYouMean(word, candidates)) =>
  guess === undefined ? '' : `; did you mean ${guess}?`;

/** A word the user typed, shown only when it cannot be a secret pasted in the wrong place. */
const shown = (text: string, pattern = /^[\w.+-]{1,20}$/) =>
  pattern.test(text) ? `"${text}"` : 'a value (not shown)';

const flagsOf = (argv: readonly string[]) => (argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv);

/** The first word that names a command, for the usage hint of a line that did not parse. */
export const commandIn = (argv: readonly string[]) =>
  flagsOf(argv).find((a): a is CommandName => Object.hasOwn(COMMANDS, a));

/** Whether the line asks for `--json` even when it does not parse: its result line is then JSON too. */
export const wantsJson = (argv: readonly string[]) => flagsOf(argv).includes('--json');

/** Parses `argv` (without `node` and the script). Throws {@link UsageError}; reads nothing, sends nothing. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv) {
  // Refused before anything else, and never echoed.
  const keyFlag = /(?:^|\0)(--(?:api-?key|key))(?=[=\0]|$)/.exec(flagsOf(argv).join('\0'))?.[1];
  if (keyFlag)
    throw new UsageError(
      `${keyFlag} is refused: a key given as an argument is visible to other users in 'ps' and shell history; set AITOEARN_API_KEY or use --api-key-file PATH ('-' = stdin)`,
    );
  const { values, positionals } = parseWords(argv);
  const [name, ...rest] = positionals;
  if (name === 'help' || (values.help && name === undefined))
    return { kind: 'help' as const, topic: rest[0] === undefined ? undefined : commandName(rest[0]) };
  if (name === 'version' || values.version || values.v) return { kind: 'version' as const };
  if (name === undefined) throw new UsageError(`missing a command: ${COMMAND_NAMES.join(', ')}`);
  const command = commandName(name);
  if (values.help) return { kind: 'help' as const, topic: command };
  const stray = Object.keys(values).find((n) => !optionsOf(command).includes(n as OptionName));
  if (stray !== undefined)
    throw new UsageError(`${stray === 'v' ? '-v' : `--${stray}`} does not apply to ${command}`);
  const common = { json: values.json === true, quiet: values.quiet === true };

  if (command === 'sandbox') {
    if (rest.length > 0) throw new UsageError(`sandbox takes no arguments, got ${rest.length}`);
    const port = /^\d{1,5}$/.test(values.port ?? '0') ? Number(values.port ?? '0') : Number.NaN;
    if (!(port <= 65_535))
      throw new UsageError(`--port must be an integer from 0 to 65535, got ${shown(values.port ?? '')}`);
    const lifetimeMs = values.lifetime === undefined ? undefined : seconds('--lifetime', values.lifetime);
    return { kind: command, port, host: values.host, lifetimeMs, verbose: !!values.verbose, ...common };
  }
  // Extra arguments are counted, never echoed: a pasted key is the usual extra one.
  const wanted = COMMANDS[command].args;
  if (rest.length < wanted.length)
    throw new UsageError(
      `${command} needs ${wanted.join(' ')}; ${wanted.length - rest.length > 1 ? 'both are' : `${wanted[rest.length]} is`} missing`,
    );
  if (rest.length > wanted.length)
    throw new UsageError(`${command} takes exactly ${wanted.join(' ')}, got ${rest.length} arguments`);
  const [platform = '', sessionId = ''] = rest;
  const keyFile = values['api-key-file'];
  if (!isPlatform(platform))
    throw new UsageError(
      `unknown platform ${shown(platform, /^[A-Za-z_-]{1,24}$/)}${suggest(platform, PLATFORMS)} (platforms: ${PLATFORMS.join(', ')})`,
    );
  return {
    kind: command,
    platform,
    sessionId,
    ...connection(values.site, values['base-url'], env),
    key: keyFile === undefined ? { from: 'env' as const } : { from: 'file' as const, path: keyFile },
    timeoutMs: values.timeout === undefined ? undefined : seconds('--timeout', values.timeout),
    timeoutText: values.timeout,
    groupId: values['group-id'],
    open: values['no-open'] !== true,
    callback: values['no-callback'] !== true,
    ...common,
  };
}

function commandName(name: string): CommandName {
  if (Object.hasOwn(COMMANDS, name)) return name as CommandName;
  const word = /^[a-z]{1,20}$/.test(name) ? ` "${name}"` : ' (not shown)';
  throw new UsageError(
    `unknown command${word}: expected ${COMMAND_NAMES.join(', ')}${suggest(name, COMMAND_NAMES)}`,
  );
}

const PARSING = { options: { ...OPTIONS, v: { type: 'boolean' } }, allowPositionals: true } as const;

/** `parseArgs` on the one table, its errors in the command's words. */
function parseWords(argv: readonly string[]) {
  try {
    return parseArgs({ ...PARSING, args: [...argv] });
  } catch (error) {
    const { code, message } = error as { code?: unknown; message: string };
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']*)'/.exec(message)?.[1] ?? 'option';
      const command = commandIn(argv);
      const flags = (command ? optionsOf(command) : Object.keys(OPTIONS)).map((n) => `--${n}`);
      const text = /^--?[\w-]{1,30}$/.test(option) ? `'${option}'` : '(not shown)';
      throw new UsageError(`unknown option ${text}${option.startsWith('--') ? suggest(option, flags) : ''}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && message.includes('ambiguous')) {
      const option = /'(--?[\w-]+)/.exec(message)?.[1] ?? 'the option';
      throw new UsageError(`${option} needs a value (write ${option}=VALUE when the value starts with '-')`);
    }
    const first = message.split('\n', 1)[0] ?? message;
    throw new UsageError(first.charAt(0).toLowerCase() + first.slice(1));
  }
}

/** The client's `site` or `baseUrl` (checked by the client): either flag sets aside both variables. */
function connection(siteFlag: string | undefined, urlFlag: string | undefined, env: NodeJS.ProcessEnv) {
  if (siteFlag !== undefined && urlFlag !== undefined)
    throw new UsageError('give --site or --base-url, not both');
  const fromFlags = siteFlag !== undefined || urlFlag !== undefined;
  const site = fromFlags ? siteFlag : env.AITOEARN_SITE || undefined;
  const baseUrl = fromFlags ? urlFlag : env.AITOEARN_BASE_URL || undefined;
  if (baseUrl !== undefined)
    return { api: { baseUrl }, baseUrlFrom: fromFlags ? '--base-url' : 'AITOEARN_BASE_URL' };
  if (site === undefined || site === 'cn' || site === 'ai')
    return { api: site ? { site: site as Site } : {}, baseUrlFrom: undefined };
  throw new UsageError(
    `${fromFlags ? '--site' : 'AITOEARN_SITE'} must be cn or ai, got ${shown(site, /^[\w.-]{1,20}$/)}${suggest(site, ['cn', 'ai'])}`,
  );
}

const MAX_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** Seconds (a person types them) as milliseconds, below Node's timer limit. */
function seconds(option: string, text: string): number {
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(value > 0) || value > MAX_SECONDS)
    throw new UsageError(
      `${option} must be a positive number of seconds up to ${MAX_SECONDS}, got ${shown(text)}`,
    );
  return Math.ceil(value * 1000);
}
