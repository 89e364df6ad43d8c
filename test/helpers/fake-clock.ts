/**
 * A virtual clock for the waiter: `now`, `wallNow` and `sleep` read and schedule virtual time, and
 * `drive()` advances it to the next timer whenever nothing else can happen, so a five-minute wait runs
 * in milliseconds. Timers whose signal aborts are removed, so `pending` counts what is really scheduled.
 * Timers live in a binary heap (cancelled ones are skipped when they surface), so thousands of concurrent
 * waits cost O(log n) per timer.
 */
interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
  cancelled: boolean;
}

const earlier = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export class FakeClock {
  #t = 0;
  #seq = 0;
  #heap: Timer[] = [];
  #live = 0;
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
        cancelled: false,
      };
      const onAbort = () => {
        timer.cancelled = true;
        this.#live -= 1;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#push(timer);
    });

  /** Timers still scheduled. */
  get pending(): number {
    return this.#live;
  }

  /** Lets promise callbacks and I/O callbacks run until nothing more happens without time passing. */
  async idle(): Promise<void> {
    for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Fires the earliest timer, moving time to it. Returns false when none is scheduled. */
  step(): boolean {
    const next = this.#peek();
    if (next === undefined) return false;
    this.#pop();
    this.#live -= 1;
    this.#t = Math.max(this.#t, next.at);
    next.resolve();
    return true;
  }

  /** Moves time forward by `ms`, firing the timers due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.#t + ms;
    for (;;) {
      await this.idle();
      const next = this.#peek();
      if (next === undefined || next.at > target) break;
      // Fire every timer due at the same instant before letting callbacks run.
      while (this.#peek()?.at === next.at) this.step();
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

  /** The earliest live timer, dropping cancelled ones from the top. */
  #peek(): Timer | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || !top.cancelled) return top;
      this.#pop();
    }
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    this.#live += 1;
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i] as Timer, heap[parent] as Timer)) break;
      [heap[i], heap[parent]] = [heap[parent] as Timer, heap[i] as Timer];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && earlier(heap[left] as Timer, heap[least] as Timer)) least = left;
      if (right < heap.length && earlier(heap[right] as Timer, heap[least] as Timer)) least = right;
      if (least === i) return;
      [heap[i], heap[least]] = [heap[least] as Timer, heap[i] as Timer];
      i = least;
    }
  }
}
