/**
 * A virtual clock for the noticing benchmark: five-minute waits of thousands of sessions run in seconds.
 *
 * Our waiter takes the clock and sleep by injection. The AWS SDK waiter and p-retry sleep with the global
 * `setTimeout` (and read `Date.now()` / `performance.now()`; the AWS waiter draws jitter from
 * `Math.random`) and have no hook, so `install()` replaces those globals in this process for the duration
 * of the run and `restore()` puts the originals back. The driver advances time only when nothing else can
 * happen: it lets the real event loop run (real `setImmediate`) until every promise reaction has settled,
 * then jumps to the earliest timer.
 */

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
  cancelled: boolean;
}

/** What the patched `setTimeout` returns; enough of Node's `Timeout` for the libraries we drive. */
class VirtualTimeout {
  constructor(readonly timer: Timer) {}
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  refresh(): this {
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.timer.seq;
  }
}

export class VirtualTime {
  #now = 0;
  #seq = 0;
  #heap: Timer[] = [];
  #restore: (() => void) | undefined;
  /** Timer callbacks fired, for the report. */
  fired = 0;

  /** `epochMs` is the wall-clock time (epoch ms) at virtual time 0. */
  constructor(readonly epochMs: number) {}

  readonly now = (): number => this.#now;
  readonly wallNow = (): number => this.epochMs + this.#now;

  schedule(ms: number, fire: () => void): Timer {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: Timer = { at: this.#now + delay, seq: this.#seq++, fire, cancelled: false };
    this.#push(timer);
    return timer;
  }

  /** An abortable sleep on virtual time, with the signature `waitForAuth` takes. */
  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        timer.cancelled = true;
        reject(signal.reason);
      };
      const timer = this.schedule(ms, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });

  /**
   * Replaces the global timers and clocks with this virtual time until `restore()`; with `random`, also
   * `Math.random` (the AWS waiter's jitter), so that every run is the same run.
   */
  install(random?: () => number): void {
    if (this.#restore) return;
    const g = globalThis as unknown as Record<string, unknown>;
    const saved = {
      setTimeout: g.setTimeout,
      clearTimeout: g.clearTimeout,
      dateNow: Date.now,
      mathRandom: Math.random,
      perfNow: Object.getOwnPropertyDescriptor(performance, 'now'),
    };
    g.setTimeout = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      new VirtualTimeout(this.schedule(ms ?? 0, () => fn(...args)));
    g.clearTimeout = (handle: unknown) => {
      if (handle instanceof VirtualTimeout) handle.timer.cancelled = true;
    };
    Date.now = () => Math.floor(this.wallNow());
    if (random) Math.random = random;
    Object.defineProperty(performance, 'now', { value: this.now, configurable: true, writable: true });
    this.#restore = () => {
      g.setTimeout = saved.setTimeout;
      g.clearTimeout = saved.clearTimeout;
      Date.now = saved.dateNow;
      Math.random = saved.mathRandom;
      if (saved.perfNow) Object.defineProperty(performance, 'now', saved.perfNow);
      else delete (performance as unknown as Record<string, unknown>).now;
    };
  }

  restore(): void {
    this.#restore?.();
    this.#restore = undefined;
  }

  /**
   * Runs virtual time until `done()` is true. Between jumps it yields to the real event loop twice, so
   * that promise chains (fetch bodies, awaits) finish before time moves; timers due at the same virtual
   * millisecond fire together.
   */
  async run(done: () => boolean, maxVirtualMs = 24 * 3600_000): Promise<void> {
    for (;;) {
      await settle();
      if (done()) return;
      const next = this.#peek();
      if (!next)
        throw new Error(`Deadlock at virtual t=${this.#now} ms: work is pending but no timer is scheduled`);
      if (next.at > maxVirtualMs) throw new Error(`Virtual time passed ${maxVirtualMs} ms`);
      this.#now = Math.max(this.#now, next.at);
      for (let t = this.#peek(); t && t.at <= this.#now; t = this.#peek()) {
        this.#pop();
        this.fired += 1;
        t.fire();
      }
    }
  }

  #peek(): Timer | undefined {
    while (this.#heap.length > 0 && (this.#heap[0] as Timer).cancelled) this.#pop();
    return this.#heap[0];
  }

  #less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(timer: Timer): void {
    const h = this.#heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(h[i] as Timer, h[parent] as Timer)) break;
      [h[i], h[parent]] = [h[parent] as Timer, h[i] as Timer];
      i = parent;
    }
  }

  #pop(): Timer | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l] as Timer, h[m] as Timer)) m = l;
        if (r < h.length && this.#less(h[r] as Timer, h[m] as Timer)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Timer, h[i] as Timer];
        i = m;
      }
    }
    return top;
  }
}

const realSetImmediate = setImmediate;

async function settle(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => realSetImmediate(resolve));
}
