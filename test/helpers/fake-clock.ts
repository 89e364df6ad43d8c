// A virtual clock on vitest's fake timers, so that the waiter's injected clock and sleep and p-retry's own
// `setTimeout` share ONE virtual time. It fakes `setTimeout` and `performance.now()` (not `setImmediate`,
// which `idle()` uses); call `vi.useRealTimers()` after the test.
import { vi } from 'vitest';

export class FakeClock {
  readonly #t0: number;
  /** Every `sleep` asked for, in ms. */ readonly sleeps: number[] = [];
  /** Wall clock = this + virtual time; set it to skew the machine's clock. */ wallOffsetMs: number;

  constructor(wallStartMs = Date.UTC(2026, 10, 26, 8, 0, 0)) {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    this.#t0 = performance.now();
    this.wallOffsetMs = wallStartMs;
  }

  readonly now = (): number => performance.now() - this.#t0;
  readonly wallNow = (): number => this.wallOffsetMs + this.now();

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> => {
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      if (ms <= 0) return resolve();
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  };

  /** Timers still scheduled. */ get pending(): number {
    return vi.getTimerCount();
  }

  /** Lets promise and I/O callbacks run without time passing. */ async idle(): Promise<void> {
    for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  async advance(ms: number): Promise<void> {
    await this.idle();
    await vi.advanceTimersByTimeAsync(ms);
    await this.idle();
  }

  /** Runs virtual time until `promise` settles; throws if it can never settle (nothing scheduled). */
  async drive<T>(promise: Promise<T>, maxSteps = 100_000): Promise<T> {
    let settled = false;
    const mark = () => (settled = true);
    promise.then(mark, mark);
    for (let i = 0; i < maxSteps; i++) {
      await this.idle();
      if (settled) return promise;
      if (vi.getTimerCount() === 0)
        throw new Error(`Deadlock at t=${this.now()}: the promise is pending and no timer is scheduled`);
      await vi.advanceTimersToNextTimerAsync();
    }
    throw new Error(`Still running after ${maxSteps} timer steps`);
  }
}
