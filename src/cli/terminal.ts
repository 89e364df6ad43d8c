import { EXIT, Interrupted, type InterruptSignal } from './exit-codes.js';

/**
 * Turns SIGINT/SIGTERM into an abort of whatever the command is doing, so it can print its result and exit
 * 130/143 by itself. A second signal means "stop now" and exits at once.
 */
export class Interrupts {
  readonly #controller = new AbortController();
  readonly signal: AbortSignal = this.#controller.signal;
  readonly #onSigint = () => this.#receive('SIGINT');
  readonly #onSigterm = () => this.#receive('SIGTERM');

  install(): this {
    process.on('SIGINT', this.#onSigint);
    process.on('SIGTERM', this.#onSigterm);
    return this;
  }

  #receive(signal: InterruptSignal): void {
    if (this.signal.aborted) process.exit(signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
    this.#controller.abort(new Interrupted(signal));
  }
}

/**
 * On a terminal, calls `onEnter` when Enter is pressed. stdin goes to raw mode, so Ctrl-C arrives as a byte
 * and is re-raised as SIGINT. Returns the function that restores the terminal and lets the process exit.
 */
export function listenForEnter(stdin: NodeJS.ReadStream, onEnter: () => void): () => void {
  if (!stdin.isTTY) return () => {};
  const raw = typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode(true);
  const onData = (chunk: Buffer | string) => {
    for (const byte of Buffer.from(chunk)) {
      if (byte === 0x03) process.kill(process.pid, 'SIGINT');
      else if (byte === 0x0d || byte === 0x0a) onEnter();
    }
  };
  stdin.on('data', onData);
  stdin.resume();
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    stdin.off('data', onData);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    stdin.unref?.();
  };
}
