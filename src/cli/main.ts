#!/usr/bin/env node
// Only what `status`, `--help` and `--version` need is imported here; the rest loads on demand.
import { once } from 'node:events';
import { redactorFor } from '../answer.js';
import { createAitoearnClient, getAuthStatus } from '../client.js';
import type { AuthProgress, AuthSession, AuthWatch } from '../index.js';
import { clip, printable } from '../text.js';
import { VERSION } from '../version.js';
import { readApiKey } from './api-key.js';
import type { Command, SessionCommand } from './args.js';
import { classify, commandIn, EXITS, Interrupted, parseCommandLine, wantsJson } from './args.js';
import * as render from './render.js';
import { listenForEnter, progressView } from './terminal.js';

const { stdout, stderr, stdin, env } = process;
const paint = render.painter(stderr, env);
const out = (line: string): void => void stdout.write(`${line}\n`);
const err = (line: string): void => void stderr.write(`${line}\n`);
const json = (record: object) => out(render.jsonLine(record));
/** A message may quote what was typed, a key pasted in the wrong place included: the key is cut out of it. */
let keyToHide: string | undefined;
const hideKey = (text: string, key = keyToHide || env.AITOEARN_API_KEY || '') =>
  key.length >= 8 ? redactorFor(key)(text) : text;
/** The last progress seen, for the result line of a wait that ends in an error. */
let last: AuthProgress | undefined;

type Runnable = Exclude<Command, { kind: 'help' | 'version' }>;

/**
 * SIGINT, SIGTERM and SIGHUP abort the run, which prints its result and undoes what it made. A second signal
 * exits at once, after the cleanups (a temporary file must not outlive a fast double Ctrl-C).
 */
function interrupts() {
  const controller = new AbortController();
  const cleanups: (() => Promise<void>)[] = [];
  let cleaning: Promise<unknown> = Promise.resolve();
  const cleanUp = () => (cleaning = Promise.allSettled([cleaning, ...cleanups.splice(0).map((c) => c())]));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => {
      if (!controller.signal.aborted) controller.abort(new Interrupted(signal));
      else void cleanUp().finally(() => process.exit(EXITS[classify(new Interrupted(signal))].code));
    });
  return { signal: controller.signal, cleanups, cleanUp };
}

/** Prints how a run ended: the result line with `--json`, the reason on stderr; returns the exit code. */
function fail(error: unknown, argv: readonly string[], command?: Runnable) {
  const exit = classify(error);
  const message = hideKey(render.messageOf(error, command?.kind === 'sandbox' ? undefined : command));
  const record = render.errorRecord(error, message);
  const session = (error as { session?: AuthSession }).session ?? last?.session;
  if (command?.json ?? wantsJson(argv)) json(render.resultRecord(exit, session, record));
  const said = clip(message, 2000);
  if (exit === 'usage') {
    const topic = command?.kind ?? commandIn(argv);
    err(`aitoearn-auth: ${said}`);
    err(`Run 'aitoearn-auth ${topic ? `help ${topic}` : '--help'}' for usage.`);
  } else if (exit !== 'bug') {
    err(`aitoearn-auth: ${paint(error instanceof Interrupted ? 'interrupted' : said, 'red')}`);
  } else {
    const name = error instanceof Error ? error.name : typeof error;
    err(`aitoearn-auth: ${paint(`bug: ${printable(`${name}: ${message}`)}`, 'red')}`);
    err(
      `This is a bug in aitoearn-auth ${VERSION}, not a problem with the session or the API; retrying will not help.`,
    );
    const stack = env.AITOEARN_DEBUG && error instanceof Error && error.stack;
    if (stack) for (const line of hideKey(stack).split('\n').slice(1)) err(printable(line));
    else err('Please report it with this output; AITOEARN_DEBUG=1 adds the stack trace.');
  }
  return EXITS[exit].code;
}

/** `wait` and `connect`: the live view, Enter checks now, then the accounts on stdout. */
async function follow(watch: AuthWatch, command: SessionCommand) {
  const view = command.json || command.quiet ? undefined : progressView(stderr, paint, stdin.isTTY === true);
  if (view && stderr.isTTY) await render.loadWidths();
  const stopKeys = listenForEnter(stdin, () => {
    view?.checking();
    watch.poke();
  });
  try {
    for await (const event of watch) {
      if (command.json && !command.quiet) json(render.pollRecord(event));
      last = event;
      view?.update(event);
    }
  } finally {
    view?.stop();
    stopKeys();
  }
  const session = last?.session;
  if (command.json) return json(render.resultRecord('ok', session));
  const accounts = render.accountLines(session, command.platform);
  for (const line of accounts) out(line);
  const id = command.kind === 'connect' && session ? ` (session ${printable(session.sessionId)})` : '';
  const count = `${accounts.length} account${accounts.length === 1 ? '' : 's'}`;
  const after = `${paint('completed', 'green')} after ${render.formatDuration(last?.elapsedMs ?? 0)}`;
  if (!command.quiet) err(`aitoearn-auth: ${after}; ${count} connected${id}`);
}

async function session(command: SessionCommand, { signal, cleanups }: ReturnType<typeof interrupts>) {
  const { platform, sessionId } = command;
  const ui = command.kind === 'connect' ? await import('./connect.js') : undefined;
  const language = ui?.personLanguage(env);
  keyToHide = await readApiKey(command.key, env, stdin, signal);
  const client = createAitoearnClient({
    apiKey: keyToHide,
    ...command.api,
    ...(language && { acceptLanguage: language }),
  });
  if (command.kind === 'status') {
    const { session: decoded, requestId } = await getAuthStatus(client, { platform, sessionId, signal });
    if (command.json) json({ ...render.resultRecord('ok', decoded), outcome: 'ok', requestId });
    else for (const line of render.sessionLines({ platform, ...decoded })) out(line);
    return;
  }
  const { timeoutMs, groupId } = command;
  const options = { platform, signal, ...(timeoutMs !== undefined && { timeoutMs }) };
  if (!ui || !language)
    return follow((await import('../index.js')).watchAuth(client, { ...options, sessionId }), command);
  const { watchConnect } = await import('../connect/connect-account.js');
  const watch = watchConnect(client, {
    ...options,
    callback: command.callback,
    ...(groupId !== undefined && { groupId }),
    onStart: (start) => {
      const { sessionId, url, expiresAt, callbackUrl } = start;
      if (command.json) json({ type: 'started', platform, sessionId, url, expiresAt, callbackUrl });
      const qrColumns = stderr.isTTY ? stderr.columns || 80 : undefined;
      // A browser needs a person at a screen: a terminal, and not a CI job. The same rule with --json.
      const open = command.open && stderr.isTTY === true && !env.CI;
      // Awaited: the person's instructions come before the first progress line; a failure to show is noted.
      const shown = ui.presentStart(start, { ...command, open, qrColumns, language, err, paint, cleanups });
      return shown.catch((error) => err(`aitoearn-auth: ${printable(render.messageOf(error, undefined))}`));
    },
  });
  await follow(watch, command);
}

async function sandbox(command: Extract<Runnable, { kind: 'sandbox' }>, signal: AbortSignal): Promise<never> {
  const { formatSandboxRequest, startSandbox } = await import('../sandbox/index.js');
  const running = await startSandbox({
    port: command.port,
    ...(command.host !== undefined && { host: command.host }),
    ...(command.lifetimeMs !== undefined && { sessionLifetimeMs: command.lifetimeMs }),
    ...(command.verbose && { onRequest: (request) => err(formatSandboxRequest(request)) }),
    // A Ctrl-C during start-up rejects the start (closing what it opened); after it, closes the sandbox.
    signal,
  });
  const { url, apiKey } = running;
  for (const warning of running.warnings) err(`aitoearn-auth: warning: ${printable(warning)}`);
  if (command.json) json({ type: 'ready', url, apiKey });
  else
    out(`Sandbox listening on ${url}
  export AITOEARN_BASE_URL=${url}
  export AITOEARN_API_KEY=${apiKey}`);
  if (!command.json && !command.quiet)
    err(`Create a session:  curl -s -X POST ${url}/sandbox/sessions -H 'X-Api-Key: ${apiKey}' \\
  -H 'Content-Type: application/json' -d '{"platform":"douyin","outcome":{"type":"manual"}}'
Then open its consentUrl, and run: aitoearn-auth wait douyin <sessionId>. Ctrl-C stops the sandbox.`);
  if (!signal.aborted) await once(signal, 'abort');
  await running.close();
  throw signal.reason;
}

async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv, env);
  } catch (error) {
    return fail(error, argv);
  }
  if (command.kind === 'version') out(VERSION);
  if (command.kind === 'help') stdout.write((await import('./help.js')).commandHelp(command.topic));
  if (command.kind === 'help' || command.kind === 'version') return EXITS.ok.code;
  const running = interrupts();
  try {
    await (command.kind === 'sandbox' ? sandbox(command, running.signal) : session(command, running));
    return EXITS.ok.code;
  } catch (error) {
    return fail(error, argv, command);
  } finally {
    await running.cleanUp();
  }
}

// A reader that closes the pipe early (`| head -1`), or a terminal that closed, is not an error of ours.
stdout.on('error', () => {});
stderr.on('error', () => {});
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
