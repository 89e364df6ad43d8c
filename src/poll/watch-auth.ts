import { type AitoearnClient, checkClient } from '../client.js';
import type { AuthProgress, WaitForAuthOptions } from './options.js';
import { resolveWaitOptions } from './options.js';
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
  // One signal for the waiter: the caller's abort, or the consumer leaving the loop.
  const stop = new AbortController();
  const forward = () => stop.abort(resolved.signal?.reason);
  const queue: AuthProgress[] = [];
  let wakeConsumer: (() => void) | undefined;
  let finished: { readonly error?: unknown } | undefined;
  let started = false;

  const waiter = new AuthWaiter(client, resolved, stop.signal, (event) => {
    resolved.onProgress?.(event);
    queue.push(event);
    wakeConsumer?.();
  });

  const start = () => {
    started = true;
    if (resolved.signal?.aborted) forward();
    else resolved.signal?.addEventListener('abort', forward, { once: true });
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
      .finally(() => {
        resolved.signal?.removeEventListener('abort', forward);
        wakeConsumer?.();
      });
  };

  const iterator: AuthWatch = {
    poke: () => waiter.poke(),
    async next(): Promise<IteratorResult<AuthProgress>> {
      if (!started) start();
      for (;;) {
        const event = queue.shift();
        if (event) return { value: event, done: false };
        if (finished) {
          const { error } = finished;
          finished = {};
          if (error !== undefined) throw error;
          return { value: undefined, done: true };
        }
        await new Promise<void>((resolve) => {
          wakeConsumer = resolve;
        });
        wakeConsumer = undefined;
      }
    },
    async return(): Promise<IteratorResult<AuthProgress>> {
      stop.abort(STOPPED);
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
