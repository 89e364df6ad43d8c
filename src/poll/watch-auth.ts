import { type AitoearnClient, checkClient } from '../client.js';
import { type AuthProgress, resolveWaitOptions, type WaitForAuthOptions } from './options.js';
import { AuthWaiter } from './wait-for-auth.js';

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
  const resolved = resolveWaitOptions(options, client.requestTimeoutMs);
  const queue: AuthProgress[] = [];
  let wakeConsumer: (() => void) | undefined;
  let finished: { readonly error?: unknown } | undefined;
  let started = false;
  // Each next() starts after the previous one settled, so concurrent calls are answered in order.
  let previous: Promise<unknown> = Promise.resolve();

  const waiter = new AuthWaiter(client, resolved, (event) => {
    queue.push(event);
    wakeConsumer?.();
  });

  const start = () => {
    started = true;
    waiter
      .run()
      .then(
        () => {
          finished = {};
        },
        (error: unknown) => {
          finished = error === STOPPED ? {} : { error };
        },
      )
      .finally(() => wakeConsumer?.());
  };

  const pull = async (): Promise<IteratorResult<AuthProgress>> => {
    if (!started) start();
    for (;;) {
      const event = queue.shift();
      if (event) return { value: event, done: false };
      if (finished) {
        const ended = finished;
        finished = {};
        if ('error' in ended) throw ended.error;
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve;
      });
      wakeConsumer = undefined;
    }
  };

  const iterator: AuthWatch = {
    poke: () => waiter.poke(),
    next(): Promise<IteratorResult<AuthProgress>> {
      const result = previous.then(pull);
      previous = result.catch(() => {});
      return result;
    },
    async return(): Promise<IteratorResult<AuthProgress>> {
      waiter.stop(STOPPED);
      queue.length = 0;
      if (!started) finished = {};
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
