import { processTimers } from './timers.js';

/**
 * Waits `ms` milliseconds on the process's timer queue (one host timer for every wait); rejects with the
 * signal's reason as soon as `signal` aborts. Nothing is left behind either way.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const queue = processTimers();
    const onAbort = () => {
      queue.cancel(timer);
      reject(signal.reason);
    };
    const timer = queue.after(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
