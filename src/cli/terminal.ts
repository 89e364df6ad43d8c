import type { AuthProgress } from '../index.js';
import { classify, EXITS, Interrupted } from './exit-codes.js';
import { type EnterHint, fitLine, type Paint, progressSegments } from './render.js';

/**
 * SIGINT, SIGTERM and SIGHUP (the terminal closed) abort what the command is doing, so that it prints its
 * result, undoes what it made and exits by itself. A second signal means "stop now": the cleanups still run
 * first (a temporary file must not outlive a fast double Ctrl-C), then it exits.
 */
export interface Interrupts {
  readonly signal: AbortSignal;
  readonly cleanups: (() => Promise<void>)[];
  cleanUp(): Promise<unknown>;
}

export function interrupts(): Interrupts {
  const controller = new AbortController();
  const cleanups: (() => Promise<void>)[] = [];
  let cleaning: Promise<unknown> = Promise.resolve();
  /** Runs each cleanup once; settles when those already started have settled too. */
  const cleanUp = () => {
    cleaning = Promise.allSettled([cleaning, ...cleanups.splice(0).map((c) => c())]);
    return cleaning;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (!controller.signal.aborted) controller.abort(new Interrupted(signal));
      else void cleanUp().finally(() => process.exit(EXITS[classify(new Interrupted(signal))].code));
    });
  }
  return { signal: controller.signal, cleanups, cleanUp };
}

/**
 * On a terminal, calls `onEnter` when Enter is pressed. In raw mode Ctrl-C arrives as a byte and is re-raised
 * as SIGINT. Returns the function that restores the terminal and lets the process exit.
 */
export function listenForEnter(stdin: NodeJS.ReadStream, onEnter: () => void): () => void {
  if (!stdin.isTTY) return () => {};
  stdin.setRawMode?.(true);
  const onData = (chunk: Buffer | string) => {
    for (const byte of Buffer.from(chunk)) {
      if (byte === 0x03) process.kill(process.pid, 'SIGINT');
      else if (byte === 0x0d || byte === 0x0a) onEnter();
    }
  };
  stdin.on('data', onData).resume();
  return () => {
    stdin.off('data', onData);
    stdin.setRawMode?.(false);
    stdin.pause();
    stdin.unref?.();
  };
}

const CLEAR_LINE = '\r\x1b[2K';

/**
 * Progress on stderr. On a terminal: one line redrawn in place on each event and every second (the clocks
 * move), fitted to the width. Elsewhere: one line per change of status, selection or warning.
 */
export class ProgressView {
  #last: { event: AuthProgress; at: number } | undefined;
  #checking = false;
  #lastKey = '';
  #ticker: NodeJS.Timeout | undefined;

  /** `enterChecks`: Enter is wired to `poke()`, so the live line says so. */
  constructor(
    readonly stream: NodeJS.WriteStream,
    readonly paint: Paint,
    readonly enterChecks: boolean,
  ) {}

  update(event: AuthProgress): void {
    if (this.stream.isTTY) {
      this.#last = { event, at: performance.now() };
      this.#checking = false;
      this.#draw();
      this.#ticker ??= setInterval(() => this.#draw(), 1000).unref();
      return;
    }
    const key = JSON.stringify([event.status, event.selectionRequired, event.warning]);
    if (key !== this.#lastKey)
      this.stream.write(`aitoearn-auth: ${fitLine(progressSegments(event), this.paint)}\n`);
    this.#lastKey = key;
  }

  /** Enter was pressed: a check is on its way, until its answer arrives. */
  checking(): void {
    this.#checking = true;
    this.#draw();
  }

  /** Removes the live line so that the next output starts on a clean line. */
  stop(): void {
    clearInterval(this.#ticker);
    if (this.#last && this.stream.isTTY) this.stream.write(CLEAR_LINE);
    this.#last = undefined;
  }

  #draw(): void {
    if (!this.#last) return;
    const enter: EnterHint = !this.enterChecks ? 'none' : this.#checking ? 'checking' : 'hint';
    const segments = progressSegments(this.#last.event, performance.now() - this.#last.at, enter);
    // A line that wraps cannot be redrawn with \r: it must fit the width, less one column.
    this.stream.write(`${CLEAR_LINE}${fitLine(segments, this.paint, (this.stream.columns || 80) - 1)}`);
  }
}
