import { until } from './run-cli.js';

/** A waiter clock that stands still: `tick()` ends the earliest pending sleep (time jumps to its due time)
 * and resolves with its length, so a check that happens without a tick can only be a poke's. */
export function stoppedClock() {
  let now = 0;
  const pending = new Set<{ ms: number; until: number; end: () => void }>();
  return {
    clock: { now: () => now, wallNow: () => Date.now() },
    sleep: (ms: number, signal: AbortSignal) =>
      new Promise<void>((end, reject) => {
        const entry = { ms, until: now + ms, end };
        pending.add(entry);
        const onAbort = () => pending.delete(entry) && reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    async tick(): Promise<number> {
      await until(() => pending.size > 0);
      const [next] = [...pending].sort((a, b) => a.until - b.until);
      if (next === undefined) throw new Error('no sleep to end');
      pending.delete(next);
      now = next.until;
      next.end();
      return next.ms;
    },
  };
}
