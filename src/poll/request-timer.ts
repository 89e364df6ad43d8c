import type { RequestTimer } from '../client.js';
import { MAX_TIMER_MS } from '../validate.js';
import type { TimerQueue } from './timers.js';

/**
 * How the waiter times a request on the system clock: a timer of its own in the process's timer queue.
 * The caller's `sleep` is never involved, so a `sleep` that returns early cannot time requests out, and
 * one that ignores its signal cannot leave a request's timer alive.
 */
export function queueRequestTimer(queue: TimerQueue): RequestTimer {
  return (ms, onTimeout) => {
    const timer = queue.after(ms, onTimeout);
    return () => queue.cancel(timer);
  };
}

/**
 * How the waiter times a request on an injected clock, whose time only `sleep` can wait for (a virtual
 * clock moves when its sleeps are due). The timeout is a due time on that clock: it fires only once
 * `now()` has reached it, so a `sleep` that returns early is simply asked again for the rest (after the
 * I/O ready now, so that a sleep that always returns at once cannot hold the event loop). Cancelling
 * aborts the sleep in progress.
 */
export function clockRequestTimer(
  now: () => number,
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
): RequestTimer {
  return (ms, onTimeout) => {
    const due = now() + ms;
    const stop = new AbortController();
    const arm = (): void => {
      if (stop.signal.aborted) return;
      const left = due - now();
      if (left <= 0) {
        stop.abort();
        onTimeout();
        return;
      }
      let slept: Promise<void>;
      try {
        slept = sleep(Math.min(left, MAX_TIMER_MS), stop.signal);
      } catch {
        return;
      }
      Promise.resolve(slept).then(
        () => {
          if (stop.signal.aborted) return;
          if (due - now() <= 0) arm();
          else setImmediate(arm);
        },
        () => {},
      );
    };
    arm();
    return () => stop.abort();
  };
}
