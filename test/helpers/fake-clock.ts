/**
 * A virtual clock for the waiter: `now`, `wallNow` and `sleep` read and schedule virtual time, and
 * `drive()` advances it to the next timer whenever nothing else can happen, so a five-minute wait runs
 * in milliseconds. Timers whose signal aborts are removed, so `pending` counts what is really scheduled.
 */
interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

export class FakeClock {
  #t = 0;
  #seq = 0;
  #timers: Timer[] = [];
  /** Sleeps requested, in ms, in order. */
  readonly sleeps: number[] = [];
  /** Local wall clock = this + virtual time; set it to skew the machine's clock. */
  wallOffsetMs: number;

  constructor(wallStartMs = Date.UTC(2026, 10, 26, 8, 0, 0)) {
    this.wallOffsetMs = wallStartMs;
  }

  readonly now = (): number => this.#t;
  readonly wallNow = (): number => this.wallOffsetMs + this.#t;

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.sleeps.push(ms);
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const timer: Timer = {
        at: this.#t + ms,
        seq: this.#seq++,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#timers.push(timer);
    });

  /** Timers still scheduled. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Lets promise callbacks and I/O callbacks run until nothing more happens without time passing. */
  async idle(): Promise<void> {
    for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Fires the earliest timer, moving time to it. Returns false when none is scheduled. */
  step(): boolean {
    if (this.#timers.length === 0) return false;
    let next = this.#timers[0] as Timer;
    for (const t of this.#timers) if (t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
    this.#timers = this.#timers.filter((t) => t !== next);
    this.#t = Math.max(this.#t, next.at);
    next.resolve();
    return true;
  }

  /** Moves time forward by `ms`, firing the timers due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.#t + ms;
    for (;;) {
      await this.idle();
      const due = this.#timers.filter((t) => t.at <= target);
      if (due.length === 0) break;
      this.step();
    }
    this.#t = target;
    await this.idle();
  }

  /** Runs virtual time until `promise` settles; throws if it can never settle (nothing scheduled). */
  async drive<T>(promise: Promise<T>, maxSteps = 100_000): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (let i = 0; i < maxSteps; i++) {
      await this.idle();
      if (settled) return promise;
      if (!this.step())
        throw new Error(`Deadlock at t=${this.#t}: the promise is pending and no timer is scheduled`);
    }
    throw new Error(`Still running after ${maxSteps} timer steps`);
  }
}
