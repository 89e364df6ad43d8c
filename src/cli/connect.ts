import { parseArgs } from 'node:util';
import { type AitoearnClient, createAitoearnClient, type Site } from '../client.js';
import { type ConnectStart, watchConnect } from '../connect/connect-account.js';
import type { AuthProgress } from '../poll/options.js';
import { readApiKey } from './api-key.js';
import {
  connection,
  describeParseError,
  type KeySource,
  parseTimeout,
  refuseKeyArguments,
  UsageError,
} from './args.js';
import { classifyConsentLink, personLanguage, writeConsentImage } from './consent-link.js';
import { classify, EXIT, Interrupted } from './exit-codes.js';
import { ProgressView } from './progress.js';
// LEAD, when merging the cli branch: `clean` becomes `import { sanitize } from './sanitize.js'` (the one
// sanitiser), and `json()` below uses its `jsonLine`. Every server string printed here goes through `sanitize`.
import {
  accountLines,
  errorRecord,
  formatDuration,
  painter,
  pollRecord,
  resultRecord,
  clean as sanitize,
  useColor,
} from './render.js';
import { Interrupts, listenForEnter } from './terminal.js';

/** `aitoearn-auth connect --help`. */
export const CONNECT_USAGE = `Usage:
  aitoearn-auth connect <platform> [options]

Starts an authorization for <platform> (douyin, bilibili, KWAI, youtube, ...), shows its URL (and a QR
code on a terminal), opens it in your browser, and waits until you finish; then prints the connected
accounts. The browser tells the command when you are done (a POST to a one-time 127.0.0.1 address), so
the end is noticed at once; polling runs anyway and always has the last word.

Options:
  --group-id ID         connect into this account group (default: your default group)
  --no-open             do not open the browser (also off when CI is set or stderr is not a terminal)
  --no-callback         no local listener: notice the end by polling alone
  --timeout SECONDS     give up after this long (the session's own 5-minute lifetime usually ends first)
  --site cn|ai          https://aitoearn.cn or https://aitoearn.ai (env AITOEARN_SITE; default ai)
  --base-url URL        another API origin: https, or http to 127.0.0.1/localhost (env AITOEARN_BASE_URL)
  --api-key-file PATH   read the API key from PATH ('-' = stdin); otherwise from env AITOEARN_API_KEY
  --json                stdout is NDJSON: one {"type":"started",...}, {"type":"poll",...} per check, then
                        one {"type":"result",...}
  -q, --quiet           no progress line (the URL is still shown: someone has to open it)
  -h, --help            show this help

Texts from the platform follow LC_ALL / LC_MESSAGES / LANG (zh_* gives Chinese, anything else English).
On a terminal, press Enter to check now. Exit codes are those of 'aitoearn-auth wait' (see --help).

Examples:
  AITOEARN_API_KEY=... aitoearn-auth connect douyin
  aitoearn-auth connect youtube --site cn --no-open --json --api-key-file ~/.aitoearn-key
`;

export interface ConnectCommand {
  readonly kind: 'connect';
  readonly platform: string;
  readonly groupId: string | undefined;
  readonly open: boolean;
  readonly callback: boolean;
  readonly timeoutMs: number | undefined;
  readonly site: Site | undefined;
  readonly baseUrl: string | undefined;
  readonly key: KeySource;
  readonly json: boolean;
  readonly quiet: boolean;
}

const OPTIONS = {
  'group-id': { type: 'string' },
  'no-open': { type: 'boolean' },
  'no-callback': { type: 'boolean' },
  timeout: { type: 'string' },
  site: { type: 'string' },
  'base-url': { type: 'string' },
  'api-key-file': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** True when the command line names `connect` (its first word that is not an option). */
export function isConnectCommandLine(argv: readonly string[]): boolean {
  try {
    const { positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: false,
      allowPositionals: true,
    });
    return positionals[0] === 'connect';
  } catch {
    return false;
  }
}

/** Parses a `connect` command line (the whole argv). Throws {@link UsageError}; sends nothing. */
export function parseConnectCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ConnectCommand | { readonly kind: 'help' } {
  refuseKeyArguments(argv);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(`connect: ${describeParseError(error)}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const [, platform, ...rest] = positionals;
  if (platform === undefined) throw new UsageError('connect needs <platform>, such as douyin');
  // Extra arguments are not echoed: a pasted key is the usual extra one.
  if (rest.length > 0)
    throw new UsageError(`connect takes exactly <platform>, got ${rest.length + 1} arguments`);
  return {
    kind: 'connect',
    platform,
    groupId: values['group-id'],
    open: values['no-open'] !== true,
    callback: values['no-callback'] !== true,
    timeoutMs: values.timeout === undefined ? undefined : parseTimeout(values.timeout),
    ...connection(values.site, values['base-url'], env),
    key:
      values['api-key-file'] === undefined ? { from: 'env' } : { from: 'file', path: values['api-key-file'] },
    json: values.json === true,
    quiet: values.quiet === true,
  };
}

const { stdout, stderr, stdin, env } = process;
const paint = painter(useColor(stderr, env));
const out = (line: string) => stdout.write(`${line}\n`);
const err = (line: string) => stderr.write(`${line}\n`);
const json = (record: Record<string, unknown>) => out(JSON.stringify(record));

/** Longest text of the platform's instructions shown; the rest is cut. */
const MAX_INSTRUCTIONS_CHARS = 2000;

/** Runs `aitoearn-auth connect …` and returns the exit code. `argv` is the whole command line. */
export async function runConnect(argv: readonly string[]): Promise<number> {
  let command: ConnectCommand | { readonly kind: 'help' };
  try {
    command = parseConnectCommandLine(argv, env);
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (command.kind === 'help') {
    stdout.write(CONNECT_USAGE);
    return EXIT.ok;
  }
  const { signal } = new Interrupts().install();
  const cleanups: (() => Promise<void>)[] = [];
  try {
    return await connect(command, signal, cleanups);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    return fail(error, command);
  } finally {
    await Promise.all(cleanups.map((c) => c().catch(() => {})));
  }
}

async function connect(
  command: ConnectCommand,
  signal: AbortSignal,
  cleanups: (() => Promise<void>)[],
): Promise<number> {
  const language = personLanguage(env);
  const client = await makeClient(command, language, signal);
  const { platform, timeoutMs } = command;
  // Opening a browser needs a person at a screen: a terminal, and not a CI job.
  const mayOpen = command.open && stderr.isTTY === true && !env.CI;
  let pending: Promise<void> | undefined;
  const watch = watchConnect(client, {
    platform,
    signal,
    callback: command.callback,
    ...(command.groupId === undefined ? {} : { groupId: command.groupId }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    onStart: (start) => {
      // Printed, opened and written while the wait goes on; `started` stays first on stdout either way.
      if (command.json) {
        json({
          type: 'started',
          platform,
          sessionId: start.sessionId,
          url: start.url,
          expiresAt: start.expiresAt,
          ...(start.callbackUrl === undefined ? {} : { callbackUrl: start.callbackUrl }),
        });
      }
      pending = present(start, command, language, mayOpen, cleanups).catch((error: unknown) => {
        err(`aitoearn-auth: ${sanitize(error instanceof Error ? error.message : String(error))}`);
      });
    },
  });
  const enterChecks = stdin.isTTY === true;
  let view: ProgressView | undefined;
  const stopKeys = listenForEnter(stdin, () => watch.poke());
  let last: AuthProgress | undefined;
  try {
    for await (const event of watch) {
      last = event;
      if (command.json && !command.quiet) json(pollRecord(event));
      if (!command.json && !command.quiet) {
        await pending;
        view ??= new ProgressView(stderr, stderr.isTTY === true, paint, enterChecks);
      }
      view?.update(event);
    }
  } catch (error) {
    view?.stop();
    return fail(error, command, last);
  } finally {
    stopKeys();
    await pending;
  }
  view?.stop();
  const session = last?.session;
  if (command.json) json(resultRecord('completed', EXIT.ok, session));
  else {
    const accounts = session ? accountLines(session, platform) : [];
    for (const line of accounts) out(line);
    if (!command.quiet) {
      const after = formatDuration(last?.elapsedMs ?? 0);
      err(
        `aitoearn-auth: ${paint('completed', 'green')} after ${after}; ${accounts.length} account(s) connected (session ${sanitize(session?.sessionId ?? '')})`,
      );
    }
  }
  return EXIT.ok;
}

/** Shows the person where to go: URL, instructions, QR code or image file; opens it when allowed. */
async function present(
  start: ConnectStart,
  command: ConnectCommand,
  language: 'zh-CN' | 'en-US',
  mayOpen: boolean,
  cleanups: (() => Promise<void>)[],
): Promise<void> {
  const human = !command.json;
  const link = classifyConsentLink(start.url);
  let target: string | undefined;
  if (link.kind === 'image') {
    const image = await writeConsentImage(link.bytes, link.extension);
    cleanups.push(image.remove);
    target = image.file;
    err(`Scan the QR code in ${image.file} with the ${sanitize(command.platform)} app to authorize.`);
  } else if (human) {
    err(`Open this page to authorize ${sanitize(command.platform)}:`);
    err(`  ${paint(sanitize(start.url), 'bold')}`);
    if (link.kind === 'web') {
      target = link.url;
      if (stderr.isTTY) err(await qrCode(link.url));
    }
  }
  if (link.kind === 'other') {
    err(
      'aitoearn-auth: not opening that URL: only http(s) pages and PNG, JPEG, GIF or WebP images are opened.',
    );
  }
  const instructions = start.authInstructions?.[language];
  if (human && typeof instructions === 'string' && instructions.trim() !== '') {
    const text = instructions.slice(0, MAX_INSTRUCTIONS_CHARS);
    for (const line of text.split(/\r?\n/)) err(`  ${sanitize(line)}`);
  }
  if (human) {
    err(
      `Session ${sanitize(start.sessionId)} (to wait on it later: aitoearn-auth wait ${sanitize(command.platform)} ${sanitize(start.sessionId)})`,
    );
  }
  if (mayOpen && target !== undefined) {
    const { default: open } = await import('open');
    await open(target).catch(() => {
      err('aitoearn-auth: could not open a browser; open the address above yourself.');
    });
  }
}

async function qrCode(url: string): Promise<string> {
  const { renderUnicodeCompact } = await import('uqr');
  return renderUnicodeCompact(url, { border: 1 });
}

async function makeClient(
  command: ConnectCommand,
  language: 'zh-CN' | 'en-US',
  signal: AbortSignal,
): Promise<AitoearnClient> {
  const apiKey = await readApiKey(command.key, env, stdin, signal);
  return createAitoearnClient({
    apiKey,
    acceptLanguage: language,
    ...(command.baseUrl === undefined ? {} : { baseUrl: command.baseUrl }),
    ...(command.site === undefined ? {} : { site: command.site }),
  });
}

// `usageError` and `fail` mirror src/cli/main.ts (which runs on import, so cannot be imported from).
function usageError(message: string): number {
  err(`aitoearn-auth: ${message}`);
  err("Run 'aitoearn-auth connect --help' for usage.");
  return EXIT.usage;
}

function fail(error: unknown, mode: { json: boolean }, last?: AuthProgress): number {
  const c = classify(error);
  if (c.usage) return usageError(error instanceof Error ? error.message : String(error));
  if (mode.json) {
    const session = (error as { session?: AuthProgress['session'] }).session ?? last?.session;
    json(resultRecord(c.outcome, c.exitCode, session, error));
  }
  const message = error instanceof Interrupted ? 'interrupted' : (errorRecord(error).message as string);
  err(`aitoearn-auth: ${paint(sanitize(message), 'red')}`);
  return c.exitCode;
}
