import { parseArgs } from 'node:util';
import type { Platform, Site } from '../client.js';
import { named } from '../errors.js';
import { isPlatform, PLATFORMS } from '../platforms.js';
import { MAX_TIMER_MS } from '../validate.js';
import type { ExitName } from './exit-codes.js';
import { didYouMean } from './suggest.js';

/** A command line that cannot run; the message is one line and never contains an argument's secret. */
export class UsageError extends Error {
  static {
    named(UsageError, 'UsageError');
  }
  /** The command the line was for, when known: the hint then points to its help. */
  readonly command: CommandName | undefined;
  constructor(message: string, command?: CommandName) {
    super(message);
    this.command = command;
  }
}

/**
 * Every option of the command, once: the parser's table, the help text and "did you mean" read it.
 * `value` names the option's argument in the help (absent for a switch).
 */
export const OPTIONS = {
  site: {
    value: 'cn|ai',
    help: 'https://aitoearn.cn or https://aitoearn.ai (env AITOEARN_SITE; default ai)',
  },
  'base-url': {
    value: 'URL',
    help: 'another API origin: https, or http to 127.0.0.1/localhost (env AITOEARN_BASE_URL)',
  },
  'api-key-file': {
    value: 'PATH',
    help: "read the API key from PATH ('-' = stdin); otherwise from env AITOEARN_API_KEY.\nThe key is never accepted as an argument: other users would see it in 'ps'.",
  },
  timeout: {
    value: 'SECONDS',
    help: "give up after this long (default 600; the session's own 5-minute lifetime\nusually ends the wait first)",
  },
  'group-id': { value: 'ID', help: 'connect into this account group (default: your default group)' },
  'no-open': {
    help: 'do not open the browser (it is not opened anyway when CI is set or stderr is not\na terminal)',
  },
  'no-callback': {
    help: "no loopback listener for the browser's callback: notice the end by polling alone",
  },
  port: { value: 'N', help: 'TCP port (default 0: a free one)' },
  host: {
    value: 'H',
    help: 'interface to bind (default 127.0.0.1; anything else puts the consent pages,\nwhich need no key, on the network)',
  },
  lifetime: {
    value: 'SECONDS',
    help: 'how long started sessions live (default 300, as the real API)',
  },
  verbose: { help: 'log each request on stderr: method, path, status, code, duration' },
  json: { help: 'stdout is NDJSON: {"type":"poll",...} per check, then one {"type":"result",...}' },
  quiet: { short: 'q', help: 'no progress; only the result on stdout (errors still go to stderr)' },
  help: { short: 'h', help: 'show help (of a command: aitoearn-auth help <command>)' },
  version: { short: 'V', help: 'print the version (also -v)' },
} satisfies Record<string, { readonly value?: string; readonly short?: string; readonly help: string }>;

export type OptionName = keyof typeof OPTIONS;

/** Options every command takes. */
const GLOBAL_OPTIONS = ['json', 'quiet', 'help'] as const satisfies readonly OptionName[];
/** How the session commands reach the API. */
const CONNECTION_OPTIONS = ['site', 'base-url', 'api-key-file'] as const satisfies readonly OptionName[];

export interface CommandSpec {
  /** The positional arguments, in order, as the usage line names them. */
  readonly args: readonly string[];
  readonly summary: string;
  /** More lines for `aitoearn-auth help <command>`. */
  readonly details: string;
  /** Options besides {@link GLOBAL_OPTIONS}. */
  readonly options: readonly OptionName[];
  /** The exit codes this command can end with. */
  readonly exits: readonly ExitName[];
  readonly examples: readonly string[];
}

const SESSION_EXITS = [
  'ok',
  'usage',
  'expired',
  'apiError',
  'unavailable',
  'bug',
  'sigint',
  'sigterm',
] as const;

/** A waiting command ends in any of these: the session's own outcomes besides the request's. */
const WAIT_EXITS = [
  'ok',
  'failed',
  'usage',
  'expired',
  'timeout',
  'apiError',
  'unavailable',
  'bug',
  'sigint',
  'sigterm',
] as const;

/** The commands, in the order the help lists them. A new command is one entry here and one handler. */
export const COMMANDS = {
  connect: {
    args: ['<platform>'],
    summary: 'start an authorization, show and open its URL, wait until it ends',
    details:
      'Prints the URL and the platform\'s instructions (in Chinese when LC_ALL/LC_MESSAGES/LANG is zh_*), a QR\ncode on a terminal, and opens the browser; a data:image URL is written to a temporary file and opened.\nThe browser\'s last page posts to a one-time 127.0.0.1 address, so the end is noticed at once; polling\nruns anyway and always has the last word. Then as \'wait\': live line, Enter checks now, the accounts on\nstdout. --json starts with {"type":"started","sessionId","url","expiresAt","callbackUrl",...}.',
    options: [...CONNECTION_OPTIONS, 'timeout', 'group-id', 'no-open', 'no-callback'],
    exits: WAIT_EXITS,
    examples: ['AITOEARN_API_KEY=... aitoearn-auth connect douyin --site cn'],
  },
  wait: {
    args: ['<platform>', '<sessionId>'],
    summary: 'wait until the person finishes authorizing',
    details:
      'On a terminal, one live line on stderr; press Enter to check now. Elsewhere, one line per change.\nOn success, stdout names the connected accounts, one per line: platform displayName (accountId).',
    options: [...CONNECTION_OPTIONS, 'timeout'],
    exits: WAIT_EXITS,
    examples: ['AITOEARN_API_KEY=... aitoearn-auth wait douyin 3f1c... --timeout 120'],
  },
  status: {
    args: ['<platform>', '<sessionId>'],
    summary: 'ask once and print the session',
    details: 'Prints one "field: value" line per fact (accounts last); exits 0 whatever the status is.',
    options: [...CONNECTION_OPTIONS],
    exits: SESSION_EXITS,
    examples: ['aitoearn-auth status youtube 3f1c... --api-key-file ~/.aitoearn-key --json'],
  },
  sandbox: {
    args: [],
    summary: 'run a local stand-in for the API until Ctrl-C',
    details: 'Prints its URL and key as export lines; the sandbox accepts the key "sandbox-key".',
    options: ['port', 'host', 'lifetime', 'verbose'],
    exits: ['usage', 'unavailable', 'bug', 'sigint', 'sigterm'],
    examples: ['aitoearn-auth sandbox --port 8787'],
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;
const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** The options `command` accepts, global ones included. */
export function optionsOf(command: CommandName): readonly OptionName[] {
  return [...COMMANDS[command].options, ...GLOBAL_OPTIONS];
}

/** Where the API key comes from: env `AITOEARN_API_KEY`, or a file (`-` = stdin). */
export type KeySource = { readonly from: 'env' } | { readonly from: 'file'; readonly path: string };

export interface OutputMode {
  readonly json: boolean;
  readonly quiet: boolean;
}

/** Which of the command's words set the base URL, so that a library error can name it. */
export type BaseUrlSource = '--base-url' | 'AITOEARN_BASE_URL';

export interface SessionCommand extends OutputMode {
  readonly kind: 'wait' | 'status';
  readonly platform: Platform;
  readonly sessionId: string;
  readonly site: Site | undefined;
  readonly baseUrl: string | undefined;
  readonly baseUrlFrom: BaseUrlSource | undefined;
  readonly key: KeySource;
  /** `--timeout` converted to milliseconds; undefined lets the session's `expiresAt` end the wait. */
  readonly timeoutMs: number | undefined;
  /** `--timeout` as typed, for messages. */
  readonly timeoutText: string | undefined;
}

export interface ConnectCommand extends Omit<SessionCommand, 'kind' | 'sessionId'> {
  readonly kind: 'connect';
  readonly groupId: string | undefined;
  /** Open the URL in the default browser (when on a terminal and not in CI). */
  readonly open: boolean;
  /** Listen on loopback for the browser's callback. */
  readonly callback: boolean;
}

export interface SandboxCommand extends OutputMode {
  readonly kind: 'sandbox';
  readonly port: number;
  readonly host: string | undefined;
  /** `--lifetime` converted to milliseconds; undefined keeps the real API's 5 minutes. */
  readonly lifetimeMs: number | undefined;
  /** `--verbose`: one stderr line per request answered. */
  readonly verbose: boolean;
}

export type Command =
  | { readonly kind: 'help'; readonly topic: CommandName | undefined }
  | { readonly kind: 'version' }
  | SessionCommand
  | ConnectCommand
  | SandboxCommand;

// parseArgs' table, derived from OPTIONS; `v` makes `-v` a second spelling of `-V`.
type ParseOption<O> = O extends { value: string }
  ? { type: 'string'; short?: string }
  : { type: 'boolean'; short?: string };
type ParseTable = { [K in OptionName]: ParseOption<(typeof OPTIONS)[K]> } & { v: { type: 'boolean' } };
const PARSE_OPTIONS = {
  ...Object.fromEntries(
    Object.entries(OPTIONS).map(([name, option]) => [
      name,
      {
        type: 'value' in option ? 'string' : 'boolean',
        ...('short' in option ? { short: option.short } : {}),
      },
    ]),
  ),
  v: { type: 'boolean' },
} as ParseTable;

const KEY_FLAGS = ['--api-key', '--apikey', '--key'];
const SITES: readonly string[] = ['cn', 'ai'];

/** Shows a word the user typed only when it cannot be a secret pasted in the wrong place. */
function shown(text: string, pattern = /^[\w.+-]{1,20}$/): string {
  return pattern.test(text) ? `"${text}"` : 'a value (not shown)';
}

const suggestion = (guess: string | undefined) => (guess === undefined ? '' : `; did you mean ${guess}?`);

/** Parses `argv` (without `node` and the script). Throws {@link UsageError}; reads nothing, sends nothing. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  // Refuse a key given as an argument before anything else, and never echo it.
  const end = argv.indexOf('--');
  for (const arg of end === -1 ? argv : argv.slice(0, end)) {
    const flag = arg.split('=', 1)[0] ?? '';
    if (KEY_FLAGS.includes(flag)) {
      throw new UsageError(
        `${flag} is refused: a key given as an argument is visible to other users in 'ps' and shell history; set AITOEARN_API_KEY or use --api-key-file PATH ('-' = stdin)`,
      );
    }
  }

  let parsed: ReturnType<typeof parseArgs<{ options: typeof PARSE_OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(describeParseError(error, argv), commandIn(argv));
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;

  if (name === 'help' || (values.help && name === undefined)) {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic === undefined) return { kind: 'help', topic: undefined };
    return { kind: 'help', topic: commandName(topic) };
  }
  if (name === 'version' || values.version || values.v) return { kind: 'version' };
  if (name === undefined) throw new UsageError(`missing a command: ${COMMAND_NAMES.join(', ')}`);
  const command = commandName(name);
  if (values.help) return { kind: 'help', topic: command };

  const given = (Object.keys(values) as (OptionName | 'v')[]).filter((n) => values[n] !== undefined);
  const allowed: readonly string[] = optionsOf(command);
  const stray = given.find((n) => !allowed.includes(n));
  if (stray !== undefined) {
    const flag = stray === 'v' ? '-v' : `--${stray}`;
    throw new UsageError(`${flag} does not apply to ${command}`, command);
  }
  const mode: OutputMode = { json: values.json === true, quiet: values.quiet === true };

  if (command === 'sandbox') {
    if (rest.length > 0) throw new UsageError(`sandbox takes no arguments, got ${rest.length}`, command);
    return {
      kind: 'sandbox',
      port: parsePort(values.port),
      host: values.host,
      lifetimeMs:
        values.lifetime === undefined ? undefined : parseSeconds('--lifetime', values.lifetime, command),
      verbose: values.verbose === true,
      ...mode,
    };
  }

  const withCommand = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (error) {
      throw error instanceof UsageError && error.command === undefined
        ? new UsageError(error.message, command)
        : error;
    }
  };
  const access = () => ({
    ...withCommand(() => connection(values.site, values['base-url'], env)),
    key: (values['api-key-file'] === undefined
      ? { from: 'env' }
      : { from: 'file', path: values['api-key-file'] }) satisfies KeySource as KeySource,
    timeoutMs:
      values.timeout === undefined ? undefined : withCommand(() => parseTimeout(values.timeout ?? '')),
    timeoutText: values.timeout,
  });

  if (command === 'connect') {
    const [platform] = rest;
    if (platform === undefined) throw new UsageError('connect needs <platform>, such as douyin', command);
    // Extra arguments are not echoed: a pasted key is the usual extra one.
    if (rest.length > 1)
      throw new UsageError(`connect takes exactly <platform>, got ${rest.length} arguments`, command);
    return {
      kind: command,
      platform: withCommand(() => parsePlatform(platform)),
      groupId: values['group-id'],
      open: values['no-open'] !== true,
      callback: values['no-callback'] !== true,
      ...access(),
      ...mode,
    };
  }

  const [platform, sessionId] = rest;
  if (platform === undefined)
    throw new UsageError(`${command} needs <platform> <sessionId>; both are missing`, command);
  if (sessionId === undefined)
    throw new UsageError(`${command} needs <platform> <sessionId>; <sessionId> is missing`, command);
  if (rest.length > 2) {
    // Extra arguments are not echoed: a pasted key is the usual extra one.
    throw new UsageError(
      `${command} takes exactly <platform> <sessionId>, got ${rest.length} arguments`,
      command,
    );
  }
  return {
    kind: command,
    platform: withCommand(() => parsePlatform(platform)),
    sessionId,
    ...access(),
    ...mode,
  };
}

/** The first word of `argv` that names a command, for messages about a line that did not parse. */
function commandIn(argv: readonly string[]): CommandName | undefined {
  return argv.find((a): a is CommandName => isCommandName(a));
}

function commandName(name: string): CommandName {
  if (isCommandName(name)) return name;
  // Show the word only when it cannot be a secret pasted in the wrong place.
  const word = /^[a-z]{1,20}$/.test(name) ? ` "${name}"` : ' (not shown)';
  throw new UsageError(
    `unknown command${word}: expected ${COMMAND_NAMES.join(', ')}${suggestion(didYouMean(name, COMMAND_NAMES))}`,
  );
}

/** A platform the spec names, spelled exactly as the API expects; nothing is sent for any other. */
export function parsePlatform(text: string): Platform {
  if (isPlatform(text)) return text;
  const guess = didYouMean(text, PLATFORMS);
  // Platform names have no digits: a word with digits may be a key pasted in the wrong place.
  throw new UsageError(
    `unknown platform ${shown(text, /^[A-Za-z_-]{1,24}$/)}${suggestion(guess)} (platforms: ${PLATFORMS.join(', ')})`,
  );
}

function describeParseError(error: unknown, argv: readonly string[]): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']*)'/.exec(message)?.[1] ?? 'option';
    const command = commandIn(argv);
    const names = command === undefined ? (Object.keys(OPTIONS) as OptionName[]) : optionsOf(command);
    const flags = names.map((n) => `--${n}`);
    const guess = option.startsWith('--') ? didYouMean(option, flags) : undefined;
    const shownOption = /^--?[\w-]{1,30}$/.test(option) ? `'${option}'` : '(not shown)';
    return `unknown option ${shownOption}${suggestion(guess)}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && message.includes('ambiguous')) {
    const option = /'(--?[\w-]+)/.exec(message)?.[1] ?? 'the option';
    return `${option} needs a value (write ${option}=VALUE when the value starts with '-')`;
  }
  const first = message.split('\n', 1)[0] ?? message;
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** Flags beat the environment: when either flag is given, the environment's site and URL are ignored. */
function connection(
  siteFlag: string | undefined,
  urlFlag: string | undefined,
  env: NodeJS.ProcessEnv,
): { site: Site | undefined; baseUrl: string | undefined; baseUrlFrom: BaseUrlSource | undefined } {
  if (siteFlag !== undefined && urlFlag !== undefined) {
    throw new UsageError('give --site or --base-url, not both');
  }
  const fromFlags = siteFlag !== undefined || urlFlag !== undefined;
  const site = fromFlags ? siteFlag : env.AITOEARN_SITE || undefined;
  const baseUrl = fromFlags ? urlFlag : env.AITOEARN_BASE_URL || undefined;
  const source = fromFlags ? '--site' : 'AITOEARN_SITE';
  if (site !== undefined && !SITES.includes(site) && baseUrl === undefined) {
    throw new UsageError(
      `${source} must be cn or ai, got ${shown(site, /^[\w.-]{1,20}$/)}${suggestion(didYouMean(site, SITES))}`,
    );
  }
  // The base URL itself is checked by createAitoearnClient (https, or http to loopback only).
  return {
    site: baseUrl === undefined ? (site as Site | undefined) : undefined,
    baseUrl,
    baseUrlFrom: baseUrl === undefined ? undefined : fromFlags ? '--base-url' : 'AITOEARN_BASE_URL',
  };
}

/** The longest `--timeout` a timer can hold, in whole seconds. */
const MAX_TIMEOUT_S = Math.floor(MAX_TIMER_MS / 1000);

function parseTimeout(text: string): number {
  return parseSeconds('--timeout', text);
}

/** A flag in seconds (a person types them) as milliseconds, below Node's timer limit. */
function parseSeconds(flag: string, text: string, command?: CommandName): number {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds > 0) || seconds > MAX_TIMEOUT_S) {
    throw new UsageError(
      `${flag} must be a positive number of seconds up to ${MAX_TIMEOUT_S}, got ${shown(text)}`,
      command,
    );
  }
  return Math.ceil(seconds * 1000);
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) {
    throw new UsageError(`--port must be an integer from 0 to 65535, got ${shown(text)}`);
  }
  return port;
}
