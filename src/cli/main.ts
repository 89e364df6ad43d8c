#!/usr/bin/env node
import { type AitoearnClient, createAitoearnClient, getAuthStatus } from '../client.js';
import { watchConnect } from '../connect/connect-account.js';
import type { AuthProgress } from '../poll/options.js';
import { type AuthWatch, watchAuth } from '../poll/watch-auth.js';
import { VERSION } from '../version.js';
import { readApiKey } from './api-key.js';
import {
  type Command,
  type CommandName,
  type ConnectCommand,
  type OutputMode,
  parseCommandLine,
  type SandboxCommand,
  type SessionCommand,
  UsageError,
} from './args.js';
import { presentStart } from './connect.js';
import { personLanguage } from './consent-link.js';
import { classify, EXIT, Interrupted } from './exit-codes.js';
import { commandHelp, mainHelp } from './help.js';
import { messageOf } from './messages.js';
import { ProgressView } from './progress.js';
import {
  accountCount,
  accountLines,
  formatDuration,
  painter,
  pollRecord,
  resultRecord,
  sessionLines,
  useColor,
} from './render.js';
import { jsonLine, sanitize } from './sanitize.js';
import { Interrupts, listenForEnter } from './terminal.js';

const { stdout, stderr, stdin, env } = process;
const paint = painter(useColor(stderr, env));
const out = (line: string) => stdout.write(`${line}\n`);
const err = (line: string) => stderr.write(`${line}\n`);
/** Every NDJSON line goes through the sanitiser: server text in any field, at any depth we print. */
const json = (record: Record<string, unknown>) => out(jsonLine(record));

function usageError(message: string, topic?: CommandName): number {
  err(`aitoearn-auth: ${sanitize(message)}`);
  err(`Run 'aitoearn-auth ${topic ? `help ${topic}` : '--help'}' for usage.`);
  return EXIT.usage;
}

/** The API key, once read, so that a bug report (whose text we do not control) never shows it. */
let keyToHide: string | undefined;
const hideKey = (text: string) => (keyToHide ? text.split(keyToHide).join('[redacted]') : text);

/** Prints how a run ended (one result line with `--json`, one stderr line for humans) and returns its code. */
function fail(error: unknown, command: Command & OutputMode, last?: AuthProgress): number {
  const session =
    command.kind === 'wait' || command.kind === 'status' || command.kind === 'connect' ? command : undefined;
  const c = classify(error);
  const message = messageOf(error, session);
  if (c.usage) return usageError(message, session?.kind);
  if (command.json) {
    const snapshot = (error as { session?: AuthProgress['session'] }).session ?? last?.session;
    json(resultRecord(c.outcome, c.exitCode, snapshot, error, message));
  }
  if (c.outcome !== 'bug') {
    err(`aitoearn-auth: ${paint(error instanceof Interrupted ? 'interrupted' : sanitize(message), 'red')}`);
    return c.exitCode;
  }
  const name = error instanceof Error ? error.name : typeof error;
  err(`aitoearn-auth: ${paint(`bug: ${sanitize(hideKey(`${name}: ${message}`))}`, 'red')}`);
  err(
    `This is a bug in aitoearn-auth ${VERSION}, not a problem with the session or the API; retrying will not help.`,
  );
  if (env.AITOEARN_DEBUG && error instanceof Error && error.stack) {
    for (const line of hideKey(error.stack).split('\n').slice(1)) err(sanitize(line));
  } else err('Please report it with this output; AITOEARN_DEBUG=1 adds the stack trace.');
  return c.exitCode;
}

async function client(
  command: SessionCommand | ConnectCommand,
  signal: AbortSignal,
  acceptLanguage?: string,
): Promise<AitoearnClient> {
  const apiKey = await readApiKey(command.key, env, stdin, signal);
  keyToHide = apiKey;
  return createAitoearnClient({
    apiKey,
    ...(acceptLanguage === undefined ? {} : { acceptLanguage }),
    ...(command.baseUrl === undefined ? {} : { baseUrl: command.baseUrl }),
    ...(command.site === undefined ? {} : { site: command.site }),
  });
}

async function wait(command: SessionCommand, signal: AbortSignal): Promise<number> {
  const { platform, sessionId, timeoutMs } = command;
  const watch = watchAuth(await client(command, signal), {
    platform,
    sessionId,
    signal,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  return follow(watch, command);
}

/**
 * `connect`: starts the authorization (with a loopback listener for the browser's callback unless
 * `--no-callback`), shows the person where to go, then follows the wait exactly as `wait` does.
 */
async function connect(command: ConnectCommand, signal: AbortSignal): Promise<number> {
  const { platform, timeoutMs } = command;
  const language = personLanguage(env);
  const cleanups: (() => Promise<void>)[] = [];
  let shown: Promise<void> | undefined;
  const watch = watchConnect(await client(command, signal, language), {
    platform,
    signal,
    callback: command.callback,
    ...(command.groupId === undefined ? {} : { groupId: command.groupId }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    onStart: (start) => {
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
      shown = presentStart(start, {
        platform,
        json: command.json,
        // A browser needs a person at a screen: a terminal, and not a CI job.
        open: command.open && stderr.isTTY === true && !env.CI,
        qr: stderr.isTTY === true,
        language,
        err,
        paint,
        cleanups,
      }).catch((error: unknown) => {
        err(`aitoearn-auth: ${sanitize(error instanceof Error ? error.message : String(error))}`);
      });
    },
  });
  try {
    // The person's instructions come before the first progress line.
    return await follow(watch, command, () => shown);
  } finally {
    await shown;
    await Promise.all(cleanups.map((c) => c().catch(() => {})));
  }
}

/** The live view of a wait (`wait` and `connect`): progress, Enter checks now, the result. */
async function follow(
  watch: AuthWatch,
  command: SessionCommand | ConnectCommand,
  before?: () => Promise<void> | undefined,
): Promise<number> {
  const { platform } = command;
  const enterChecks = stdin.isTTY === true;
  const view =
    command.json || command.quiet
      ? undefined
      : new ProgressView(stderr, stderr.isTTY === true, paint, enterChecks);
  let first = true;
  const stopKeys = listenForEnter(stdin, () => {
    view?.checking();
    watch.poke();
  });
  let last: AuthProgress | undefined;
  try {
    for await (const event of watch) {
      last = event;
      if (command.json && !command.quiet) json(pollRecord(event));
      if (first) await before?.();
      first = false;
      view?.update(event);
    }
  } catch (error) {
    view?.stop();
    return fail(error, command, last);
  } finally {
    stopKeys();
  }
  view?.stop();
  const session = last?.session;
  if (command.json) json(resultRecord('completed', EXIT.ok, session));
  else {
    const accounts = session ? accountLines(session, platform) : [];
    for (const line of accounts) out(line);
    if (!command.quiet) {
      const after = formatDuration(last?.elapsedMs ?? 0);
      const id = command.kind === 'connect' && session ? ` (session ${sanitize(session.sessionId)})` : '';
      err(
        `aitoearn-auth: ${paint('completed', 'green')} after ${after}; ${accountCount(accounts.length)} connected${id}`,
      );
    }
  }
  return EXIT.ok;
}

async function status(command: SessionCommand, signal: AbortSignal): Promise<number> {
  const { platform, sessionId } = command;
  const { session, requestId } = await getAuthStatus(await client(command, signal), {
    platform,
    sessionId,
    signal,
  });
  if (command.json) json({ ...resultRecord('ok', EXIT.ok, session), ...(requestId ? { requestId } : {}) });
  else for (const line of sessionLines(session, platform)) out(line);
  return EXIT.ok;
}

async function sandbox(command: SandboxCommand, signal: AbortSignal): Promise<number> {
  // Loaded only here: `wait` and `status` start faster without the sandbox's modules.
  const { formatSandboxRequest, SandboxListenError, startSandbox } = await import('../sandbox/index.js');
  let running: Awaited<ReturnType<typeof startSandbox>>;
  try {
    running = await startSandbox({
      port: command.port,
      ...(command.host === undefined ? {} : { host: command.host }),
      ...(command.lifetimeMs === undefined ? {} : { sessionLifetimeMs: command.lifetimeMs }),
      ...(command.verbose ? { onRequest: (request) => err(formatSandboxRequest(request)) } : {}),
    });
  } catch (error) {
    // A busy port is not a usage error: the command line was fine, the machine's state was not.
    if (!(error instanceof SandboxListenError)) throw error;
    err(`aitoearn-auth: ${error.message}`);
    return EXIT.unavailable;
  }
  for (const warning of running.warnings) err(`aitoearn-auth: warning: ${warning}`);
  if (command.json) json({ type: 'ready', url: running.url, apiKey: running.apiKey });
  else {
    out(`Sandbox listening on ${running.url}`);
    out(`  export AITOEARN_BASE_URL=${running.url}`);
    out(`  export AITOEARN_API_KEY=${running.apiKey}`);
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
  const reason = await new Promise<unknown>((resolve) => {
    signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
  await running.close();
  if (!command.quiet && !command.json) err('aitoearn-auth: sandbox stopped');
  return classify(reason).exitCode;
}

async function main(argv: readonly string[], interrupts: Interrupts): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message, error.command);
    throw error;
  }
  if (command.kind === 'help') {
    stdout.write(command.topic === undefined ? mainHelp() : commandHelp(command.topic));
    return EXIT.ok;
  }
  if (command.kind === 'version') {
    out(VERSION);
    return EXIT.ok;
  }
  const { signal } = interrupts.install();
  try {
    if (command.kind === 'sandbox') return await sandbox(command, signal);
    if (command.kind === 'connect') return await connect(command, signal);
    return await (command.kind === 'wait' ? wait(command, signal) : status(command, signal));
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message, command.kind);
    return fail(error, command);
  }
}

// A reader that closes the pipe early (`| head -1`) is not an error of ours.
stdout.on('error', () => {});
main(process.argv.slice(2), new Interrupts()).then((code) => {
  process.exitCode = code;
});
