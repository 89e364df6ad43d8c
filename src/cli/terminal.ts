import type { AuthProgress } from '../index.js';
import { type EnterHint, fitLine, type Paint, progressSegments } from './render.js';

/** On a terminal, calls `onEnter` on Enter; returns the function that restores the terminal. */
export function listenForEnter(stdin: NodeJS.ReadStream, onEnter: () => void): () => void {
  if (!stdin.isTTY) return () => {};
  stdin.setRawMode?.(true);
  const onData = (chunk: Buffer | string) => {
    // Raw mode delivers Ctrl-C as a byte.
    for (const byte of Buffer.from(chunk))
      if (byte === 0x03) process.kill(process.pid, 'SIGINT');
      else if (byte === 0x0d || byte === 0x0a) onEnter();
  };
  stdin.on('data', onData).resume();
  return () => void stdin.off('data', onData).setRawMode?.(false).pause().unref?.();
}

const CLEAR_LINE = '\r\x1b[2K';

/**
 * Progress on stderr: on a terminal one line redrawn in place, every second too (the clocks move), saying
 * Enter checks now when `enterChecks`; elsewhere one line per change of status, selection or warning.
 */
export function progressView(stream: NodeJS.WriteStream, paint: Paint, enterChecks: boolean) {
  let last: { event: AuthProgress; at: number } | undefined;
  let enter: EnterHint = 'none';
  let lastKey = '';
  let ticker: NodeJS.Timeout | undefined;
  const draw = () => {
    if (!last) return;
    const parts = progressSegments(last.event, performance.now() - last.at, enter);
    // A line that wraps cannot be redrawn with \r: it must fit the width, less one column.
    stream.write(`${CLEAR_LINE}${fitLine(parts, paint, (stream.columns || 80) - 1)}`);
  };
  return {
    update(event: AuthProgress): void {
      if (stream.isTTY) {
        [last, enter] = [{ event, at: performance.now() }, enterChecks ? 'hint' : 'none'];
        draw();
        ticker ??= setInterval(draw, 1000).unref();
        return;
      }
      const key = JSON.stringify([event.status, event.selectionRequired, event.warning]);
      if (key !== lastKey) stream.write(`aitoearn-auth: ${fitLine(progressSegments(event), paint)}\n`);
      lastKey = key;
    },
    /** Enter was pressed: a check is on its way, until its answer arrives. */
    checking(): void {
      enter = 'checking';
      draw();
    },
    /** Removes the live line: the next output starts on a clean line. */
    stop(): void {
      clearInterval(ticker);
      if (last && stream.isTTY) stream.write(CLEAR_LINE);
      last = undefined;
    },
  };
}
