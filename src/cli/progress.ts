import type { AuthProgress } from '../poll/options.js';
import { changeKey, type Paint, progressLine } from './render.js';

const CLEAR_LINE = '\r\x1b[2K';
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the colour escapes is the point.
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Human progress on stderr. On a terminal: one line, redrawn in place on each event and every second in
 * between (the clocks keep moving). Elsewhere (a log file, CI): one line per change of status, selection
 * or warning, never one per poll.
 */
export class ProgressView {
  readonly #stream: NodeJS.WriteStream;
  readonly #live: boolean;
  readonly #paint: Paint;
  readonly #hint: string;
  #last: { event: AuthProgress; at: number } | undefined;
  #lastKey: string | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #drawn = false;

  /** `enterChecks`: Enter is wired to `poke()`, so the live line says so. */
  constructor(stream: NodeJS.WriteStream, live: boolean, paint: Paint, enterChecks: boolean) {
    this.#stream = stream;
    this.#live = live;
    this.#paint = paint;
    this.#hint = enterChecks ? `  ${paint('(Enter: check now)', 'dim')}` : '';
  }

  update(event: AuthProgress): void {
    if (!this.#live) {
      const key = changeKey(event);
      if (key !== this.#lastKey) this.#stream.write(`aitoearn-auth: ${progressLine(event, this.#paint)}\n`);
      this.#lastKey = key;
      return;
    }
    this.#last = { event, at: performance.now() };
    this.#draw();
    this.#ticker ??= setInterval(() => this.#draw(), 1000).unref();
  }

  /** Removes the live line so that the next output starts on a clean line. */
  stop(): void {
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = undefined;
    if (this.#drawn) this.#stream.write(CLEAR_LINE);
    this.#drawn = false;
  }

  #draw(): void {
    if (!this.#last) return;
    const { event, at } = this.#last;
    let line = `${progressLine(event, this.#paint, performance.now() - at)}${this.#hint}`;
    // A line that wraps cannot be redrawn with \r: cut it to the terminal's width (colour dropped then).
    const width = (this.#stream.columns || 80) - 1;
    if (line.replace(ANSI, '').length > width) line = `${line.replace(ANSI, '').slice(0, width - 1)}…`;
    this.#stream.write(`${CLEAR_LINE}${line}`);
    this.#drawn = true;
  }
}
