import type { AuthProgress } from '../poll/options.js';
import { changeKey, type EnterHint, fitLine, type Paint, progressLine, progressSegments } from './render.js';

const CLEAR_LINE = '\r\x1b[2K';

/**
 * Human progress on stderr. On a terminal: one line, redrawn in place on each event and every second in
 * between (the clocks keep moving), shortened to the terminal's width. Elsewhere (a log file, CI): one line
 * per change of status, selection or warning, never one per poll.
 */
export class ProgressView {
  readonly #stream: NodeJS.WriteStream;
  readonly #live: boolean;
  readonly #paint: Paint;
  readonly #enterChecks: boolean;
  #last: { event: AuthProgress; at: number } | undefined;
  #checking = false;
  #lastKey: string | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #drawn = false;

  /** `enterChecks`: Enter is wired to `poke()`, so the live line says so. */
  constructor(stream: NodeJS.WriteStream, live: boolean, paint: Paint, enterChecks: boolean) {
    this.#stream = stream;
    this.#live = live;
    this.#paint = paint;
    this.#enterChecks = enterChecks;
  }

  update(event: AuthProgress): void {
    if (!this.#live) {
      const key = changeKey(event);
      if (key !== this.#lastKey) this.#stream.write(`aitoearn-auth: ${progressLine(event, this.#paint)}\n`);
      this.#lastKey = key;
      return;
    }
    this.#last = { event, at: performance.now() };
    this.#checking = false;
    this.#draw();
    this.#ticker ??= setInterval(() => this.#draw(), 1000).unref();
  }

  /** Enter was pressed: say that a check is on its way, until its answer arrives. */
  checking(): void {
    this.#checking = true;
    this.#draw();
  }

  /** Removes the live line so that the next output starts on a clean line. */
  stop(): void {
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = undefined;
    if (this.#drawn) this.#stream.write(CLEAR_LINE);
    this.#drawn = false;
  }

  #draw(): void {
    if (!this.#last || !this.#live) return;
    const { event, at } = this.#last;
    const enter: EnterHint = !this.#enterChecks ? 'none' : this.#checking ? 'checking' : 'hint';
    // One clock reading per drawing, so that elapsed and left move together.
    const segments = progressSegments(event, performance.now() - at, enter);
    // A line that wraps cannot be redrawn with \r: it must fit in the terminal's width, less one column.
    const line = fitLine(segments, this.#paint, (this.#stream.columns || 80) - 1);
    this.#stream.write(`${CLEAR_LINE}${line}`);
    this.#drawn = true;
  }
}
