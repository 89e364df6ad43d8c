#!/usr/bin/env node
import { type AitoearnClient, createAitoearnClient, getAuthStatus } from '../client.js';
import type { AuthProgress } from '../poll/options.js';
import { watchAuth } from '../poll/watch-auth.js';
import { VERSION } from '../version.js';
import { readApiKey } from './api-key.js';
import {
  type Command,
  parseCommandLine,
  type SandboxCommand,
  type SessionCommand,
  UsageError,
} from './args.js';
import { isConnectCommandLine, runConnect } from './connect.js';
import { classify, EXIT, Interrupted } from './exit-codes.js';
import { HELP } from './help.js';
import { ProgressView } from './progress.js';
import {
  accountLines,
  errorRecord,
  formatDuration,
  painter,
  pollRecord,
  resultRecord,
  sessionLines,
  useColor,
} from './render.js';
import { Interrupts, listenForEnter } from './terminal.js';

const { stdout, stderr, stdin, env } = process;
const paint = painter(useColor(stderr, env));
const out = (line: string) => stdout.write(`${line}\n`);
const err = (line: string) => stderr.write(`${line}\n`);
const json = (record: Record<string, unknown>) => out(JSON.stringify(record));

function usageError(message: string): number {
  err(`aitoearn-auth: ${message}`);
  err("Run 'aitoearn-auth --help' for usage.");
  return EXIT.usage;
}

/** Prints how a run ended (one result line with `--json`, one stderr line for humans) and returns its code. */
function fail(error: unknown, mode: { json: boolean }, last?: AuthProgress): number {
  const c = classify(error);
  if (c.usage) return usageError(error instanceof Error ? error.message : String(error));
  if (mode.json) {
    const session = (error as { session?: AuthProgress['session'] }).session ?? last?.session;
    json(resultRecord(c.outcome, c.exitCode, session, error));
  }
  const message = error instanceof Interrupted ? 'interrupted' : (errorRecord(error).message as string);
  err(`aitoearn-auth: ${paint(message, 'red')}`);
  return c.exitCode;
}

async function client(command: SessionCommand, signal: AbortSignal): Promise<AitoearnClient> {
  const apiKey = await readApiKey(command.key, env, stdin, signal);
  return createAitoearnClient({
    apiKey,
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
  const enterChecks = stdin.isTTY === true;
  const view =
    command.json || command.quiet
      ? undefined
      : new ProgressView(stderr, stderr.isTTY === true, paint, enterChecks);
  const stopKeys = listenForEnter(stdin, () => watch.poke());
  let last: AuthProgress | undefined;
  try {
    for await (const event of watch) {
      last = event;
      if (command.json && !command.quiet) json(pollRecord(event));
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
      err(
        `aitoearn-auth: ${paint('completed', 'green')} after ${after}; ${accounts.length} account(s) connected`,
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
  const { startSandbox } = await import('../sandbox/index.js');
  const running = await startSandbox({
    port: command.port,
    ...(command.host === undefined ? {} : { host: command.host }),
  }).catch((error: unknown) => {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string')
      throw new UsageError(`cannot listen on ${command.host ?? '127.0.0.1'}:${command.port} (${code})`);
    throw error;
  });
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

async function main(argv: readonly string[]): Promise<number> {
  if (isConnectCommandLine(argv)) return runConnect(argv);
  let command: Command;
  try {
    command = parseCommandLine(argv, env);
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (command.kind === 'help') {
    stdout.write(HELP);
    return EXIT.ok;
  }
  if (command.kind === 'version') {
    out(VERSION);
    return EXIT.ok;
  }
  const { signal } = new Interrupts().install();
  try {
    if (command.kind === 'sandbox') return await sandbox(command, signal);
    return await (command.kind === 'wait' ? wait(command, signal) : status(command, signal));
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    return fail(error, command);
  }
}

// A reader that closes the pipe early (`| head -1`) is not an error of ours.
stdout.on('error', () => {});
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
