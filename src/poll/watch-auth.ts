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
  const waiter = createWaiter(client, resolveWaitOptions(options, client.requestTimeoutMs), (event) => {
    events.push(event);
    wakeConsumer();
  });
  let ended: { error?: unknown } | undefined;
  const end = (outcome: { error?: unknown }) => {
    ended = outcome;
    wakeConsumer();
  };
  let started = false;
  let done = false;
  // Each next() starts after the previous one settled, so concurrent calls are answered in order.
  let previous: Promise<unknown> = Promise.resolve();

  const pull = async (): Promise<IteratorResult<AuthProgress>> => {
    if (!started) {
      started = true;
      waiter.run().then(
        () => end({}),
        (error: unknown) => end(error === STOPPED ? {} : { error }),
      );
    }
    for (;;) {
      if (done) return { value: undefined, done: true };
      const event = events.shift();
      if (event) return { value: event, done: false };
      if (ended) {
        done = true;
        if ('error' in ended) throw ended.error;
        continue;
      }
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve;
      });
    }
  };

  const iterator: AuthWatch = {
    poke: () => waiter.poke(),
    next() {
      const result = previous.then(pull);
      previous = result.catch(() => {});
      return result;
    },
    async return() {
      waiter.stop(STOPPED);
      done = true;
      wakeConsumer();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
