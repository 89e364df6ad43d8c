import { setTimeout as delay } from 'node:timers/promises';
import type { RequestTimer } from '../client.js';
import { MAX_TIMER_MS } from '../validate.js';
import type { WaitClock } from './options.js';

/**
 * The timers of every wait of the process in one binary min-heap of due times (ties in the order added)
 * under a single `setTimeout` for the earliest: thousands of sleeping waits cost one host timer, and an
 * empty queue holds none. On the many-waits bench it beat a Node timer per wait (event-loop p99 35 vs
 * 142 ms). Due timers run 32 at a time, each batch after `setImmediate`, so that the requests a batch
 * starts cannot hold the event loop; none runs before `performance.now()` reaches its due time.
 */
export type Entry = { readonly due: number; readonly seq: number; readonly fn: () => void; at: number };

/** The default clock of every wait. */
export const systemClock: WaitClock = { now: () => performance.now(), wallNow: () => Date.now() };
const BATCH = 32;
const heap: Entry[] = [];
let host: ReturnType<typeof setTimeout> | undefined;
let [added, hostDue, deferred] = [0, Number.POSITIVE_INFINITY, false];

const before = (a: Entry, b: Entry) => a.due < b.due || (a.due === b.due && a.seq < b.seq);
const entryAt = (at: number) => heap[at] as Entry;
const put = (entry: Entry, at: number) => {
  heap[at] = entry;
  entry.at = at;
};

/** Puts `entry` in its place in the heap, moving up or down from `at`. */
function place(entry: Entry, at: number): void {
  for (let parent = (at - 1) >> 1; at > 0 && before(entry, entryAt(parent)); parent = (at - 1) >> 1) {
    put(entryAt(parent), at);
    at = parent;
  }
  for (let child = 2 * at + 1; child < heap.length; child = 2 * at + 1) {
    if (child + 1 < heap.length && before(entryAt(child + 1), entryAt(child))) child += 1;
    if (!before(entryAt(child), entry)) break;
    put(entryAt(child), at);
    at = child;
  }
  put(entry, at);
}

function arm(): void {
  const top = heap[0];
  if (deferred || (top !== undefined && host !== undefined && hostDue <= top.due)) return;
  clearTimeout(host);
  [host, hostDue] = [undefined, Number.POSITIVE_INFINITY];
  if (top === undefined) return;
  const wait = top.due - performance.now();
  if (wait <= 0) {
    deferred = true;
    setImmediate(run);
  } else {
    hostDue = top.due;
    host = setTimeout(run, Math.min(Math.ceil(wait), MAX_TIMER_MS));
  }
}

function run(): void {
  // Called by the host timer or after a deferral: either way no other host timer is armed.
  [deferred, host, hostDue] = [false, undefined, Number.POSITIVE_INFINITY];
  const now = performance.now();
  // Timers added while this batch runs wait for the next one, even when they are due already.
  const addedBefore = added;
  for (let fired = 0; fired < BATCH; fired++) {
    const top = heap[0];
    if (top === undefined || top.due > now || top.seq >= addedBefore) break;
    cancel(top);
    top.fn();
  }
  arm();
}

/** Runs `fn` after `ms` milliseconds, unless the returned timer is cancelled first. */
export function enqueue(ms: number, fn: () => void): Entry {
  const entry: Entry = { due: performance.now() + ms, seq: added++, fn, at: heap.length };
  heap.push(entry);
  place(entry, entry.at);
  if (heap[0] === entry) arm();
  return entry;
}

/** Removes a timer that has not run yet; does nothing for one that ran or was cancelled. */
export function cancel(entry: Entry): void {
  if (heap[entry.at] !== entry) return;
  const last = heap.pop() as Entry;
  if (last !== entry) place(last, entry.at);
  entry.at = -1;
  if (heap.length === 0) arm();
}

/** {@link enqueue} as the client's request timer. */
export const queueTimer: RequestTimer = (ms, fn) => cancel.bind(null, enqueue(ms, fn));

/** The sleep of a wait on a caller's clock without a sleep of its own, and of the callback's linger. */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> => delay(ms, undefined, { signal });

/**
 * Timers on a caller's clock: `sleep` waits on it, asked again for the rest after an early return (after
 * pending I/O). A sleep that fails on its own calls `end`, so that a hanging server cannot hold the wait.
 */
export function clockTimer(clock: WaitClock, nap: typeof sleep, end: (error: unknown) => void): RequestTimer {
  return (ms, fn) => {
    const cancel = new AbortController();
    const until = clock.now() + ms;
    (async () => {
      while (clock.now() < until) {
        cancel.signal.throwIfAborted();
        await nap(Math.min(Math.ceil(until - clock.now()), MAX_TIMER_MS), cancel.signal);
        if (clock.now() < until) await new Promise((resolve) => setImmediate(resolve));
      }
    })().then(
      () => cancel.signal.aborted || fn(),
      (error: unknown) => cancel.signal.aborted || end(error),
    );
    return () => cancel.abort();
  };
}

let admitted = 0;

/**
 * Whether a wait may send its first request now: 32 per turn of the event loop. The rest of a burst of
 * thousands started in one tick go through the queue (due at once, 32 a turn), so that the starts return
 * at once and the loop keeps turning.
 */
export function admitNow(): boolean {
  if (admitted++ === 0) setImmediate(() => (admitted = 0));
  return admitted <= BATCH;
}
