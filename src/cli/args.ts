import { parseArgs } from 'node:util';
import type { Site } from '../client.js';
import { named } from '../errors.js';

/** A command line that cannot run; the message is one line and never contains an argument's secret. */
export class UsageError extends Error {
  static {
    named(UsageError, 'UsageError');
  }
}

/** Where the API key comes from: env `AITOEARN_API_KEY`, or a file (`-` = stdin). */
export type KeySource = { readonly from: 'env' } | { readonly from: 'file'; readonly path: string };

export interface OutputMode {
  readonly json: boolean;
  readonly quiet: boolean;
}

export interface SessionCommand extends OutputMode {
  readonly kind: 'wait' | 'status';
  readonly platform: string;
  readonly sessionId: string;
  readonly site: Site | undefined;
  readonly baseUrl: string | undefined;
  readonly key: KeySource;
  /** `--timeout` converted to milliseconds; undefined lets the session's `expiresAt` end the wait. */
  readonly timeoutMs: number | undefined;
}

export interface SandboxCommand extends OutputMode {
  readonly kind: 'sandbox';
  readonly port: number;
  readonly host: string | undefined;
}

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | SessionCommand
  | SandboxCommand;

const OPTIONS = {
  site: { type: 'string' },
  'base-url': { type: 'string' },
  'api-key-file': { type: 'string' },
  timeout: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

const KEY_FLAGS = ['--api-key', '--apikey', '--key'];
const SITES: readonly string[] = ['cn', 'ai'];

/** Parses `argv` (without `node` and the script). Throws {@link UsageError}; reads nothing, sends nothing. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  refuseKeyArguments(argv);

  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const [name, ...rest] = positionals;
  const mode: OutputMode = { json: values.json === true, quiet: values.quiet === true };
  if (name === undefined) throw new UsageError('missing a command: wait, status or sandbox');
  if (name === 'help') return { kind: 'help' };

  if (name === 'sandbox') {
    refuseFlags(values, ['site', 'base-url', 'api-key-file', 'timeout'], 'sandbox');
    if (rest.length > 0) throw new UsageError(`sandbox takes no arguments, got ${rest.length}`);
    return { kind: 'sandbox', port: parsePort(values.port), host: values.host, ...mode };
  }

  if (name !== 'wait' && name !== 'status') {
    // Show the word only when it cannot be a secret pasted in the wrong place.
    const shown = /^[a-z]{1,20}$/.test(name) ? ` "${name}"` : ' (not shown)';
    throw new UsageError(`unknown command${shown}: expected wait, status or sandbox`);
  }
  refuseFlags(values, ['port', 'host'], name);
  if (name === 'status') refuseFlags(values, ['timeout'], name);
  const [platform, sessionId] = rest;
  if (platform === undefined) throw new UsageError(`${name} needs <platform> <sessionId>; both are missing`);
  if (sessionId === undefined)
    throw new UsageError(`${name} needs <platform> <sessionId>; <sessionId> is missing`);
  if (rest.length > 2) {
    // Extra arguments are not echoed: a pasted key is the usual extra one.
    throw new UsageError(`${name} takes exactly <platform> <sessionId>, got ${rest.length} arguments`);
  }

  return {
    kind: name,
    platform,
    sessionId,
    ...connection(values.site, values['base-url'], env),
    key:
      values['api-key-file'] === undefined ? { from: 'env' } : { from: 'file', path: values['api-key-file'] },
    timeoutMs: values.timeout === undefined ? undefined : parseTimeout(values.timeout),
    ...mode,
  };
}

/** Refuses a key given as an argument before anything else, and never echoes it. */
export function refuseKeyArguments(argv: readonly string[]): void {
  const end = argv.indexOf('--');
  for (const arg of end === -1 ? argv : argv.slice(0, end)) {
    const flag = arg.split('=', 1)[0] ?? '';
    if (KEY_FLAGS.includes(flag)) {
      throw new UsageError(
        `${flag} is refused: a key given as an argument is visible to other users in 'ps' and shell history; set AITOEARN_API_KEY or use --api-key-file PATH ('-' = stdin)`,
      );
    }
  }
}

export function describeParseError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']*)'/.exec(message)?.[1] ?? 'option';
    return `unknown option '${option}'`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && message.includes('ambiguous')) {
    const option = /'(--?[\w-]+)/.exec(message)?.[1] ?? 'the option';
    return `${option} needs a value (write ${option}=VALUE when the value starts with '-')`;
  }
  const first = message.split('\n', 1)[0] ?? message;
  return first.charAt(0).toLowerCase() + first.slice(1);
}

function refuseFlags(values: Record<string, unknown>, names: readonly string[], command: string): void {
  const given = names.find((n) => values[n] !== undefined);
  if (given) throw new UsageError(`--${given} does not apply to ${command}`);
}

/** Flags beat the environment: when either flag is given, the environment's site and URL are ignored. */
export function connection(
  siteFlag: string | undefined,
  urlFlag: string | undefined,
  env: NodeJS.ProcessEnv,
): { site: Site | undefined; baseUrl: string | undefined } {
  if (siteFlag !== undefined && urlFlag !== undefined) {
    throw new UsageError('give --site or --base-url, not both');
  }
  const fromFlags = siteFlag !== undefined || urlFlag !== undefined;
  const site = fromFlags ? siteFlag : env.AITOEARN_SITE || undefined;
  const baseUrl = fromFlags ? urlFlag : env.AITOEARN_BASE_URL || undefined;
  const source = fromFlags ? '--site' : 'AITOEARN_SITE';
  if (site !== undefined && !SITES.includes(site) && baseUrl === undefined) {
    const shown = /^[\w.-]{1,20}$/.test(site) ? `"${site}"` : 'a value (not shown)';
    throw new UsageError(`${source} must be cn or ai, got ${shown}`);
  }
  // The base URL itself is checked by createAitoearnClient (https, or http to loopback only).
  return { site: baseUrl === undefined ? (site as Site | undefined) : undefined, baseUrl };
}

export function parseTimeout(text: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds > 0) || seconds * 1000 > Number.MAX_SAFE_INTEGER) {
    const shown = /^[\w.+-]{1,20}$/.test(text) ? `"${text}"` : 'a value (not shown)';
    throw new UsageError(`--timeout must be a positive number of seconds, got ${shown}`);
  }
  return Math.ceil(seconds * 1000);
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) {
    const shown = /^[\w.+-]{1,20}$/.test(text) ? `"${text}"` : 'a value (not shown)';
    throw new UsageError(`--port must be an integer from 0 to 65535, got ${shown}`);
  }
  return port;
}
