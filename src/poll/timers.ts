import { MAX_TIMER_MS } from '../validate.js';

/** What a {@link TimerQueue} runs on: a clock, one host timer at a time, and a way to run soon. */
export interface TimerHost {
  /** Milliseconds on a monotonic clock. */
  readonly now: () => number;
  /** Calls `fn` after about `ms` milliseconds; returns a handle for `clearTimer`. */
  readonly setTimer: (fn: () => void, ms: number) => unknown;
  readonly clearTimer: (handle: unknown) => void;
  /** Calls `fn` after the I/O that is ready now (`setImmediate`), so that a batch yields to the loop. */
  readonly defer: (fn: () => void) => void;
}

/** A timer in a {@link TimerQueue}; pass it to `cancel`. */
export interface QueuedTimer {
  readonly due: number;
}

interface Entry extends QueuedTimer {
  readonly seq: number;
  fn: (() => void) | undefined;
  /** Position in the heap; -1 once fired or cancelled. */
  index: number;
}

export const systemTimerHost: TimerHost = Object.freeze({
  now: () => performance.now(),
  setTimer: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimer: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  defer: (fn: () => void) => {
    setImmediate(fn);
  },
});

/**
 * Timers for many waits on one host timer: a binary min-heap of due times (ties in the order they were
 * added) and a single `setTimeout` for the earliest. Adding and cancelling cost O(log n) and no handle of
 * their own; when the queue is empty no host timer is left, so nothing keeps the process alive.
 *
 * Timers that are due run in batches of at most `batch`; the next batch waits for `defer`
 * (`setImmediate`), so that the promise reactions a batch starts (thousands of requests after a burst of
 * starts) cannot hold the event loop for long. A timer never runs before `now()` reaches its due time.
 */
export class TimerQueue {
  readonly #host: TimerHost;
  readonly #batch: number;
  readonly #heap: Entry[] = [];
  #seq = 0;
  #timer: unknown;
  #timerDue = Number.POSITIVE_INFINITY;
  #deferred = false;

  constructor(host: TimerHost = systemTimerHost, batch = 32) {
    this.#host = host;
    this.#batch = Math.max(1, batch);
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Runs `fn` once the host clock reaches `due`. */
  at(due: number, fn: () => void): QueuedTimer {
    const entry: Entry = { due, seq: this.#seq++, fn, index: this.#heap.length };
    this.#heap.push(entry);
    this.#up(entry.index);
    if (this.#heap[0] === entry) this.#arm();
    return entry;
  }

  after(ms: number, fn: () => void): QueuedTimer {
    return this.at(this.#host.now() + ms, fn);
  }

  /** Removes a timer that has not run yet; does nothing for one that ran or was cancelled. */
  cancel(timer: QueuedTimer): void {
    const entry = timer as Entry;
    const i = entry.index;
    if (i < 0 || this.#heap[i] !== entry) return;
    entry.index = -1;
    entry.fn = undefined;
    const last = this.#heap.pop() as Entry;
    if (last !== entry) {
      this.#heap[i] = last;
      last.index = i;
      this.#down(i);
      this.#up(last.index);
    }
    if (this.#heap.length === 0) this.#disarm();
  }

  #arm(): void {
    if (this.#deferred) return;
    const top = this.#heap[0];
    if (top === undefined) {
      this.#disarm();
      return;
    }
    if (this.#timer !== undefined && this.#timerDue <= top.due) return;
    this.#disarm();
    const wait = top.due - this.#host.now();
    if (wait <= 0) {
      this.#deferred = true;
      this.#host.defer(this.#run);
      return;
    }
    this.#timerDue = top.due;
    this.#timer = this.#host.setTimer(this.#onTimer, Math.min(Math.ceil(wait), MAX_TIMER_MS));
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#host.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
    this.#run();
  };

  readonly #run = (): void => {
    this.#deferred = false;
    const now = this.#host.now();
    // Timers added while this batch runs wait for the next one, even when they are due already.
    const addedBefore = this.#seq;
    for (let fired = 0; fired < this.#batch; fired++) {
      const top = this.#heap[0];
      if (top === undefined || top.due > now || top.seq >= addedBefore) break;
      const fn = top.fn;
      this.cancel(top);
      fn?.();
    }
    this.#arm();
  };

  #up(i: number): void {
    const heap = this.#heap;
    const entry = heap[i] as Entry;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p] as Entry;
      if (!before(entry, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = entry;
    entry.index = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const entry = heap[i] as Entry;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(heap[r] as Entry, heap[l] as Entry) ? r : l;
      const child = heap[c] as Entry;
      if (!before(child, entry)) break;
      heap[i] = child;
      child.index = i;
      i = c;
    }
    heap[i] = entry;
    entry.index = i;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

let shared: TimerQueue | undefined;

/** The queue shared by every wait of this process that runs on the system clock. */
export function processTimers(): TimerQueue {
  shared ??= new TimerQueue();
  return shared;
}
