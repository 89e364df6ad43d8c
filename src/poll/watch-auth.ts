import { type AitoearnClient, checkClient } from '../client.js';
import { type AuthProgress, resolveWaitOptions, type WaitForAuthOptions } from './options.js';
import { createWaiter } from './wait-for-auth.js';

/** The iterable returned by {@link watchAuth}; it is also the handle to `poke` the wait. */
export interface AuthWatch extends AsyncIterableIterator<AuthProgress> {
  /** Check now instead of at the next scheduled time (never sooner than the server's hints allow). */
  poke(): void;
}

const STOPPED = Symbol('watchAuth stopped by its consumer');

/**
 * Polls like {@link waitForAuth} and yields each progress event as it happens. The iteration ends after
 * the `completed` event and throws the same errors `waitForAuth` rejects with; breaking out of the loop
 * stops all polling at once. Polling starts with the first `next()`. Unlike `waitForAuth`, which rejects,
 * it throws `AitoearnInputError` synchronously for bad options, before anything is started.
 *
 * @example
 * for await (const event of watchAuth(client, { platform: 'youtube', sessionId })) {
 *   if (event.selectionRequired) console.error('Choose your accounts in the browser');
 * }
 */
export function watchAuth(client: AitoearnClient, options: WaitForAuthOptions): AuthWatch {
  checkClient(client);
  const events: AuthProgress[] = [];
  let wakeConsumer = () => {};
  let ended: { error?: unknown } | undefined;
  const o = resolveWaitOptions(options, client.requestTimeoutMs);
  const onProgress = async (event: AuthProgress) => {
    await o.onProgress?.(event);
    events.push(event);
    wakeConsumer();
  };
  const waiter = createWaiter(client, { ...o, onProgress });
  const end = (outcome: { error?: unknown }) => {
    ended = outcome;
    wakeConsumer();
  };
  async function* watch() {
    waiter.run().then(
      () => end({}),
      (error: unknown) => end(error === STOPPED ? {} : { error }),
    );
    for (;;) {
      const event = events.shift();
      if (event) yield event;
      else if (ended && 'error' in ended) throw ended.error;
      else if (ended) return;
      else await new Promise<void>((resolve) => (wakeConsumer = resolve));
    }
  }
  const iterator = watch();
  const [close, raise] = [iterator.return.bind(iterator), iterator.throw.bind(iterator)];
  // A return() waits for the next() calls before it: the stop lets them end at once. A throw() stops it too.
  const stop = <T>(value: T) => {
    waiter.stop(STOPPED);
    return value;
  };
  const [onReturn, onThrow] = [() => close(stop(undefined)), (error: unknown) => raise(stop(error))];
  return Object.assign(iterator, { poke: () => waiter.poke(), return: onReturn, throw: onThrow });
}
