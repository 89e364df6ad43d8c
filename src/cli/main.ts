#!/usr/bin/env node
import { watchConnect } from '../connect/connect-account.js';
import {
  type AitoearnClient,
  type AuthProgress,
  type AuthSession,
  type AuthWatch,
  createAitoearnClient,
  getAuthStatus,
  watchAuth,
} from '../index.js';
import { printable } from '../text.js';
import { VERSION } from '../version.js';
import { readApiKey } from './api-key.js';
import {
  type Command,
  commandIn,
  parseCommandLine,
  type SandboxCommand,
  type SessionCommand,
  wantsJson,
} from './args.js';
import { personLanguage, presentStart } from './connect.js';
import { classify, EXITS, Interrupted, UsageError } from './exit-codes.js';
import { commandHelp, mainHelp } from './help.js';
import {
  accountLines,
  errorRecord,
  formatDuration,
  jsonLine,
  loadWidths,
  messageOf,
  painter,
  pollRecord,
  resultRecord,
  sessionLines,
} from './render.js';
import { Interrupts, listenForEnter, ProgressView } from './terminal.js';

const { stdout, stderr, stdin, env } = process;
const paint = painter(stderr, env);
const out = (line: string) => stdout.write(`${line}\n`);
const err = (line: string) => stderr.write(`${line}\n`);
const json = (record: object) => out(jsonLine(record));
/** The API key once read, so that a bug report (whose text we do not control) never shows it. */
let keyToHide: string | undefined;
const hideKey = (text: string) => (keyToHide ? text.split(keyToHide).join('[redacted]') : text);

/** Prints how a run ended: the result line with `--json`, the reason on stderr; returns the exit code. */
function fail(
  error: unknown,
  argv: readonly string[],
  command?: SessionCommand | SandboxCommand,
  last?: AuthSession,
): number {
  const exit = classify(error);
  const message = messageOf(error, command?.kind === 'sandbox' ? undefined : command);
  if (command?.json ?? wantsJson(argv))
    json(
      resultRecord(
        exit,
        (error as { session?: AuthSession }).session ?? last,
        errorRecord(error, exit === 'bug' ? hideKey(message) : message),
      ),
    );
  if (exit === 'usage') {
    const topic = command?.kind ?? commandIn(argv);
    err(`aitoearn-auth: ${printable(message)}`);
    err(`Run 'aitoearn-auth ${topic ? `help ${topic}` : '--help'}' for usage.`);
  } else if (exit !== 'bug') {
    err(`aitoearn-auth: ${paint(error instanceof Interrupted ? 'interrupted' : printable(message), 'red')}`);
  } else {
    const name = error instanceof Error ? error.name : typeof error;
    err(`aitoearn-auth: ${paint(`bug: ${printable(hideKey(`${name}: ${message}`))}`, 'red')}`);
    err(
      `This is a bug in aitoearn-auth ${VERSION}, not a problem with the session or the API; retrying will not help.`,
    );
    if (env.AITOEARN_DEBUG && error instanceof Error && error.stack) {
      for (const line of hideKey(error.stack).split('\n').slice(1)) err(printable(line));
    } else err('Please report it with this output; AITOEARN_DEBUG=1 adds the stack trace.');
  }
  return EXITS[exit].code;
}

async function client(
  command: SessionCommand,
  signal: AbortSignal,
  acceptLanguage?: string,
): Promise<AitoearnClient> {
  const apiKey = await readApiKey(command.key, env, stdin, signal);
  keyToHide = apiKey;
  return createAitoearnClient({
    apiKey,
    ...(acceptLanguage && { acceptLanguage }),
    ...(command.baseUrl && { baseUrl: command.baseUrl }),
    ...(command.site && { site: command.site }),
  });
}

/** `wait` and `connect`: the live view, Enter checks now, the accounts on stdout; returns the last session. */
async function follow(
  watch: AuthWatch,
  command: SessionCommand,
  before?: () => Promise<void>,
): Promise<AuthSession | undefined> {
  const view =
    command.json || command.quiet ? undefined : new ProgressView(stderr, paint, stdin.isTTY === true);
  if (view && stderr.isTTY) await loadWidths();
  const stopKeys = listenForEnter(stdin, () => {
    view?.checking();
    watch.poke();
  });
  let last: AuthProgress | undefined;
  try {
    for await (const event of watch) {
      if (command.json && !command.quiet) json(pollRecord(event));
      if (!last) await before?.();
      last = event;
      view?.update(event);
    }
  } catch (error) {
    throw Object.assign(new Ended(error), { session: last?.session });
  } finally {
    view?.stop();
    stopKeys();
  }
  const session = last?.session;
  if (command.json) json(resultRecord('ok', session));
  else {
    const accounts = accountLines(session, command.platform);
    for (const line of accounts) out(line);
    const id = command.kind === 'connect' && session ? ` (session ${printable(session.sessionId)})` : '';
    const count = `${accounts.length} account${accounts.length === 1 ? '' : 's'}`;
    if (!command.quiet)
      err(
        `aitoearn-auth: ${paint('completed', 'green')} after ${formatDuration(last?.elapsedMs ?? 0)}; ${count} connected${id}`,
      );
  }
  return session;
}

/** A wait that ended with `error`, carrying the last session seen for the result line. */
class Ended {
  session: AuthSession | undefined;
  constructor(readonly error: unknown) {}
}

async function session(command: SessionCommand, interrupts: Interrupts): Promise<number> {
  const { platform, sessionId } = command;
  const { signal } = interrupts;
  const timeout = command.timeoutMs === undefined ? {} : { timeoutMs: command.timeoutMs };
  if (command.kind === 'status') {
    const { session, requestId } = await getAuthStatus(await client(command, signal), {
      platform,
      sessionId,
      signal,
    });
    if (command.json) json({ ...resultRecord('ok', session, undefined, 'ok'), requestId });
    else for (const line of sessionLines({ platform, ...session })) out(line);
    return EXITS.ok.code;
  }
  if (command.kind === 'wait') {
    await follow(
      watchAuth(await client(command, signal), { platform, sessionId, signal, ...timeout }),
      command,
    );
    return EXITS.ok.code;
  }
  const language = personLanguage(env);
  let shown: Promise<void> | undefined;
  const watch = watchConnect(await client(command, signal, language), {
    platform,
    signal,
    callback: command.callback,
    ...(command.groupId === undefined ? {} : { groupId: command.groupId }),
    ...timeout,
    onStart: (start) => {
      if (command.json) {
        const { sessionId, url, expiresAt, callbackUrl } = start;
        json({ type: 'started', platform, sessionId, url, expiresAt, callbackUrl });
      }
      shown = presentStart(start, {
        platform,
        json: command.json,
        // A browser needs a person at a screen: a terminal, and not a CI job. The same rule with --json.
        open: command.open && stderr.isTTY === true && !env.CI,
        qrColumns: stderr.isTTY ? stderr.columns || 80 : undefined,
        language,
        err,
        paint,
        cleanups: interrupts.cleanups,
      }).catch((error: unknown) => {
        err(`aitoearn-auth: ${printable(error instanceof Error ? error.message : String(error))}`);
      });
    },
  });
  try {
    // The person's instructions come before the first progress line.
    await follow(watch, command, () => shown ?? Promise.resolve());
  } finally {
    await shown;
  }
  return EXITS.ok.code;
}

async function sandbox(command: SandboxCommand, signal: AbortSignal): Promise<never> {
  // Loaded only here: the other commands start faster without the sandbox's modules.
  const { formatSandboxRequest, startSandbox } = await import('../sandbox/index.js');
  const running = await startSandbox({
    port: command.port,
    ...(command.host === undefined ? {} : { host: command.host }),
    ...(command.lifetimeMs === undefined ? {} : { sessionLifetimeMs: command.lifetimeMs }),
    ...(command.verbose ? { onRequest: (request) => err(formatSandboxRequest(request)) } : {}),
    // A Ctrl-C during start-up rejects the start (and closes what it opened); after it, closes the sandbox.
    signal,
  });
  for (const warning of running.warnings) err(`aitoearn-auth: warning: ${printable(warning)}`);
  if (command.json) json({ type: 'ready', url: running.url, apiKey: running.apiKey });
  else {
    out(
      `Sandbox listening on ${running.url}\n  export AITOEARN_BASE_URL=${running.url}\n  export AITOEARN_API_KEY=${running.apiKey}`,
    );
    if (!command.quiet) {
      err(
        `Create a session:  curl -s -X POST ${running.url}/sandbox/sessions -H 'X-Api-Key: ${running.apiKey}' \\`,
      );
      err(`  -H 'Content-Type: application/json' -d '{"platform":"douyin","outcome":{"type":"manual"}}'`);
      err(
        'Then open its consentUrl, and run: aitoearn-auth wait douyin <sessionId>. Ctrl-C stops the sandbox.',
      );
    }
  }
  if (!signal.aborted)
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  await running.close();
  throw signal.reason;
}

async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return fail(error, argv);
    throw error;
  }
  if (command.kind === 'help' || command.kind === 'version') {
    stdout.write(
      command.kind === 'version' ? `${VERSION}\n` : command.topic ? commandHelp(command.topic) : mainHelp(),
    );
    return EXITS.ok.code;
  }
  const interrupts = new Interrupts().install();
  try {
    return await (command.kind === 'sandbox'
      ? sandbox(command, interrupts.signal)
      : session(command, interrupts));
  } catch (error) {
    const ended = error instanceof Ended ? error : undefined;
    return fail(ended ? ended.error : error, argv, command, ended?.session);
  } finally {
    await interrupts.cleanUp();
  }
}

// A reader that closes the pipe early (`| head -1`), or a terminal that closed, is not an error of ours.
stdout.on('error', () => {});
stderr.on('error', () => {});
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
