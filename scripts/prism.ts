/**
 * Starts a Prism mock server or validating proxy built from the vendored spec, for the contract tests and for
 * people who want to point their own code at a stand-in of the API.
 *
 *   npm run mock                                   mock on http://127.0.0.1:4010 until Ctrl-C
 *   tsx scripts/prism.ts mock [--port 4010] [--dynamic]
 *   tsx scripts/prism.ts proxy --upstream http://127.0.0.1:4000 [--port 4010] [--errors]
 *
 * Prism runs as a child process: `process.execPath` on `@stoplight/prism-cli/dist/index.js`, never through
 * npx (killing npx leaves the server running as an orphan). The child is killed on every path: after a
 * failed or timed-out start, on `stop()`, and when this process exits or receives SIGINT/SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, stripVTControlCharacters } from 'node:util';

/** Prism's command-line entry point; run with `process.execPath`. */
export const PRISM_ENTRY = fileURLToPath(
  new URL('../node_modules/@stoplight/prism-cli/dist/index.js', import.meta.url),
);
/** The vendored spec, the only source of API facts. */
export const SPEC_PATH = fileURLToPath(new URL('../openapi/aitoearn.openapi.yaml', import.meta.url));

export interface PrismOptions {
  /** `mock` answers from the spec; `proxy` forwards to `upstream` and validates both ways. */
  readonly mode: 'mock' | 'proxy';
  /** Where a proxy forwards to, e.g. the sandbox's URL. Required for `proxy`, refused for `mock`. */
  readonly upstream?: string;
  /** The port to listen on (127.0.0.1 only); `0` picks a free one. @default 0 */
  readonly port?: number;
  /** Mock only: generate random bodies from the schema instead of serving examples (`-d`). @default false */
  readonly dynamic?: boolean;
  /** Turn request/response violations into error responses (`--errors`) instead of `sl-violations` headers. @default false */
  readonly errors?: boolean;
  /** The OpenAPI document, a path or a URL. @default the vendored spec */
  readonly spec?: string;
  /**
   * How long to wait for the "listening" line before killing Prism, in ms. Prism starts in about 1 s on a
   * quiet machine and has taken 30 s on a loaded 2-core one. @default 60000
   */
  readonly startTimeoutMs?: number;
  /** Called with every line Prism prints (ANSI colours removed), after and before it listens. */
  readonly onOutput?: (line: string) => void;
}

export interface PrismServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  /** The Prism process, so that callers can check it is gone after `stop()`. */
  readonly child: ChildProcess;
  /** Stops Prism (SIGTERM, then SIGKILL after 3 s) and resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** Prism did not start: it exited, or printed no "listening" line in time. The child has exited when this is thrown. */
export class PrismStartError extends Error {
  override readonly name = 'PrismStartError';
  /** The process that failed to start; it has exited. */
  readonly child: ChildProcess;
  /** The last lines Prism printed (stdout and stderr), oldest first. */
  readonly output: readonly string[];

  constructor(message: string, child: ChildProcess, output: readonly string[]) {
    super(output.length > 0 ? `${message}\nLast output:\n  ${output.join('\n  ')}` : message);
    this.child = child;
    this.output = output;
  }
}

const HOST = '127.0.0.1';
const LISTENING = /Prism is listening on (https?:\/\/[^\s/]+)/;
const KEEP_LINES = 20;
const KILL_GRACE_MS = 3000;
const DEFAULT_START_TIMEOUT_MS = 60_000;

// One set of process handlers for every running child: a Ctrl-C or a crash of this process must not leave
// a Prism server behind, whichever of them are still running.
const live = new Set<ChildProcess>();

function killAllNow(): void {
  for (const child of live) child.kill('SIGKILL');
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  removeProcessHandlers();
  // Listening for a signal replaces Node's default (exit); restore it unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function track(child: ChildProcess): void {
  if (live.size === 0) {
    process.on('exit', killAllNow);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  live.add(child);
}

function untrack(child: ChildProcess): void {
  live.delete(child);
  if (live.size === 0) removeProcessHandlers();
}

function removeProcessHandlers(): void {
  process.off('exit', killAllNow);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Kills `child` (SIGTERM, then SIGKILL) and resolves when it has exited. */
function kill(child: ChildProcess): Promise<void> {
  // No pid: spawning failed, and no 'exit' event will come.
  if (hasExited(child) || child.pid === undefined) {
    untrack(child);
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(force);
      untrack(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function checkOptions(options: PrismOptions): void {
  if (options.mode !== 'mock' && options.mode !== 'proxy') {
    throw new TypeError(`Expected "mode" to be "mock" or "proxy", got ${JSON.stringify(options.mode)}.`);
  }
  if (options.mode === 'proxy' && !options.upstream) {
    throw new TypeError('Expected "upstream" (the URL to forward to) in proxy mode.');
  }
  if (options.mode === 'mock' && options.upstream !== undefined) {
    throw new TypeError('Expected no "upstream" in mock mode; use mode "proxy" to forward requests.');
  }
  if (options.mode === 'proxy' && options.dynamic) {
    throw new TypeError('Expected "dynamic" only in mock mode; a proxy answers what the upstream sends.');
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`Expected "port" to be an integer from 0 to 65535, got ${String(port)}.`);
  }
  const timeout = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new TypeError(`Expected "startTimeoutMs" to be a positive number, got ${String(timeout)}.`);
  }
}

/**
 * Starts Prism on 127.0.0.1 and resolves once it listens. Rejects with {@link PrismStartError} (after the
 * child has exited) when Prism exits first or prints no "listening" line within `startTimeoutMs`.
 *
 * @example
 * const prism = await startPrism({ mode: 'mock' });
 * const client = createAitoearnClient({ apiKey: 'any-key', baseUrl: prism.url });
 * // …
 * await prism.stop();
 */
export function startPrism(options: PrismOptions): Promise<PrismServer> {
  checkOptions(options);
  const args = [PRISM_ENTRY, options.mode, options.spec ?? SPEC_PATH];
  if (options.mode === 'proxy') args.push(options.upstream as string);
  args.push('-h', HOST, '-p', String(options.port ?? 0));
  if (options.dynamic) args.push('-d');
  if (options.errors) args.push('--errors');

  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  track(child);
  const output: string[] = [];

  return new Promise<PrismServer>((resolve, reject) => {
    let started = false;
    let failing = false;
    const fail = (message: string) => {
      if (started || failing) return;
      failing = true;
      clearTimeout(timer);
      kill(child).then(() => reject(new PrismStartError(message, child, output.slice())));
    };
    const timer = setTimeout(
      () =>
        fail(
          `Prism printed no "listening" line within ${options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS} ms.`,
        ),
      options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    );

    const onLine = (raw: string) => {
      const line = stripVTControlCharacters(raw).trimEnd();
      if (line === '') return;
      output.push(line);
      if (output.length > KEEP_LINES) output.shift();
      options.onOutput?.(line);
      const match = started || failing ? null : LISTENING.exec(line);
      if (!match?.[1]) return;
      started = true;
      clearTimeout(timer);
      let stopping: Promise<void> | undefined;
      resolve({ url: match[1], child, stop: () => (stopping ??= kill(child)) });
    };
    // Prism logs every request: both streams are read to the end, or a full pipe would stall the server.
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
      stream?.on('end', () => {
        if (rest) onLine(rest);
        rest = '';
      });
    }
    child.once('error', (error) => fail(`Could not run Prism (${PRISM_ENTRY}): ${error.message}`));
    child.once('exit', (code, signal) => {
      if (!started) fail(`Prism exited (${signal ?? `code ${code}`}) before listening.`);
      else untrack(child);
    });
  });
}

const USAGE = `Usage: tsx scripts/prism.ts mock [--port 4010] [--dynamic]
       tsx scripts/prism.ts proxy --upstream URL [--port 4010] [--errors]

Serves openapi/aitoearn.openapi.yaml on 127.0.0.1 until Ctrl-C. Send any non-empty X-Api-Key;
pick an example with the header "Prefer: example=NAME".`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '4010' },
      upstream: { type: 'string' },
      dynamic: { type: 'boolean', default: false },
      errors: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const [mode, ...extra] = positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if ((mode !== 'mock' && mode !== 'proxy') || extra.length > 0 || !/^\d{1,5}$/.test(values.port)) {
    console.error(USAGE);
    return 2;
  }
  const prism = await startPrism({
    mode,
    port: Number(values.port),
    ...(values.upstream === undefined ? {} : { upstream: values.upstream }),
    dynamic: values.dynamic,
    errors: values.errors,
    onOutput: (line) => console.log(line),
  });
  console.log(`\nPrism ${mode} of ${SPEC_PATH} on ${prism.url} (Ctrl-C stops it)`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = () => {
      stopping = true;
      prism.stop().then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    prism.child.once('exit', (code, signal) => {
      if (stopping) return;
      console.error(`Prism stopped by itself (${signal ?? `code ${code}`}).`);
      resolve(1);
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // Prism's own output was already printed line by line; its last lines need not be repeated.
      const message = error instanceof PrismStartError ? error.message.split('\n')[0] : undefined;
      console.error(message ?? (error instanceof Error ? error.message : error));
      process.exitCode = 1;
    },
  );
}
