import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../bench/prng.js';
import { linkAbort, unlinkAbort } from '../src/abort-link.js';
import { clockRequestTimer, queueRequestTimer } from '../src/poll/request-timer.js';
import { Pause, type TimerHost, TimerQueue } from '../src/poll/timers.js';

/** A fake host: virtual time, at most one host timer (counted), deferred calls run by `flush`. */
class FakeHost implements TimerHost {
  t = 0;
  timer: { at: number; fn: () => void; id: number } | undefined;
  deferred: (() => void)[] = [];
  timersSet = 0;
  #id = 0;
  readonly now = () => this.t;
  readonly setTimer = (fn: () => void, ms: number) => {
    if (this.timer) throw new Error('a second host timer while one is armed');
    this.timersSet += 1;
    this.timer = { at: this.t + ms, fn, id: ++this.#id };
    return this.timer.id;
  };
  readonly clearTimer = (handle: unknown) => {
    if (this.timer?.id === handle) this.timer = undefined;
  };
  readonly defer = (fn: () => void) => {
    this.deferred.push(fn);
  };
  /** Runs deferred calls (and the ones they defer) until none is left; returns how many ran. */
  flush(): number {
    let n = 0;
    while (this.deferred.length > 0) {
      const fn = this.deferred.shift() as () => void;
      fn();
      n += 1;
    }
    return n;
  }
  /** Moves time to `ms`, firing the host timer on the way (and the deferred calls it causes). */
  advanceTo(ms: number): void {
    this.flush();
    while (this.timer && this.timer.at <= ms) {
      const { at, fn } = this.timer;
      this.timer = undefined;
      this.t = Math.max(this.t, at);
      fn();
      this.flush();
    }
    this.t = ms;
  }
}

describe('TimerQueue', () => {
  it('runs each timer once, at its due time on the host clock, in due order, ties in insertion order', () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host);
    const ran: [string, number][] = [];
    for (const [name, due] of [
      ['c', 300],
      ['a', 100],
      ['b', 200],
      ['a2', 100],
    ] as const)
      queue.at(due, () => ran.push([name, host.t]));
    expect(queue.size).toBe(4);
    host.advanceTo(99);
    expect(ran).toEqual([]);
    host.advanceTo(1000);
    expect(ran).toEqual([
      ['a', 100],
      ['a2', 100],
      ['b', 200],
      ['c', 300],
    ]);
    expect(queue.size).toBe(0);
    expect(host.timer).toBeUndefined();
  });

  it('keeps one host timer for any number of timers, and none once the queue is empty', () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host);
    const timers = Array.from({ length: 1000 }, (_, i) => queue.after(1000 + i, () => {}));
    expect(host.timer?.at).toBe(1000);
    expect(host.timersSet).toBe(1);
    for (const t of timers.slice(0, 999)) queue.cancel(t);
    expect(host.timer?.at).toBe(1000);
    queue.cancel(timers[999] as (typeof timers)[number]);
    expect(queue.size).toBe(0);
    expect(host.timer).toBeUndefined();
  });

  it('re-arms the host timer when an earlier timer is added', () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host);
    const ran: number[] = [];
    queue.after(5000, () => ran.push(host.t));
    queue.after(1000, () => ran.push(host.t));
    expect(host.timer?.at).toBe(1000);
    host.advanceTo(10_000);
    expect(ran).toEqual([1000, 5000]);
  });

  it('never runs a timer early when the host timer fires before its due time', () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host);
    const ran: number[] = [];
    queue.at(1000.4, () => ran.push(host.t));
    // The host rounds up to whole ms; make it fire early anyway.
    const early = host.timer as NonNullable<FakeHost['timer']>;
    host.timer = undefined;
    host.t = 999;
    early.fn();
    host.flush();
    expect(ran).toEqual([]);
    expect(host.timer).toBeDefined();
    host.advanceTo(2000);
    expect(ran).toEqual([1001]);
  });

  it('a cancelled timer does not run; cancelling twice or after it ran does nothing', () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host);
    const ran: string[] = [];
    const a = queue.after(10, () => ran.push('a'));
    const b = queue.after(20, () => ran.push('b'));
    queue.cancel(a);
    queue.cancel(a);
    host.advanceTo(100);
    queue.cancel(b);
    expect(ran).toEqual(['b']);
    expect(queue.size).toBe(0);
  });

  it('runs due timers in batches, each batch in its own deferred turn', () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host, 10);
    const turns: number[] = [];
    let turn = 0;
    for (let i = 0; i < 35; i++) queue.soon(() => turns.push(turn));
    // Nothing runs synchronously: a burst of starts returns at once.
    expect(turns).toEqual([]);
    while (host.deferred.length > 0) {
      turn += 1;
      (host.deferred.shift() as () => void)();
    }
    expect(turns).toHaveLength(35);
    expect(new Set(turns).size).toBe(4);
    expect(turns.filter((t) => t === 1)).toHaveLength(10);
  });

  it('a timer added by a running timer, due at once, runs in a later batch', () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host);
    const ran: string[] = [];
    queue.soon(() => {
      ran.push('first');
      queue.soon(() => ran.push('second'));
    });
    expect(host.deferred).toHaveLength(1);
    (host.deferred.shift() as () => void)();
    expect(ran).toEqual(['first']);
    host.flush();
    expect(ran).toEqual(['first', 'second']);
  });

  it('matches a sorted model under random adds, cancels and time steps', () => {
    const random = mulberry32(12);
    for (let round = 0; round < 50; round++) {
      const host = new FakeHost();
      const queue = new TimerQueue(host, 1 + Math.floor(random() * 8));
      const model = new Map<number, number>();
      const handles = new Map<number, ReturnType<TimerQueue['at']>>();
      const ran: [number, number][] = [];
      let id = 0;
      for (let op = 0; op < 200; op++) {
        const r = random();
        if (r < 0.5) {
          const due = host.t + Math.floor(random() * 500);
          const me = id++;
          model.set(me, due);
          handles.set(
            me,
            queue.at(due, () => ran.push([me, host.t])),
          );
        } else if (r < 0.75 && handles.size > 0) {
          const keys = [...handles.keys()];
          const victim = keys[Math.floor(random() * keys.length)] as number;
          queue.cancel(handles.get(victim) as ReturnType<TimerQueue['at']>);
          handles.delete(victim);
          model.delete(victim);
        } else {
          host.advanceTo(host.t + Math.floor(random() * 200));
          for (const [me] of ran) {
            handles.delete(me);
          }
        }
      }
      host.advanceTo(host.t + 10_000);
      const fired = new Map(ran);
      for (const [me, due] of model) {
        expect(fired.get(me), `timer ${me}`).toBeGreaterThanOrEqual(due);
      }
      expect(fired.size).toBe(model.size);
      // In due order, on time (the fake host timer is exact).
      for (const [me, at] of ran) expect(at).toBe(model.get(me));
      expect(queue.size).toBe(0);
      expect(host.timer).toBeUndefined();
    }
  });
});

describe('TimerQueue.mayStartNow', () => {
  it('lets the first few starts of a turn run at once and queues the rest; a new turn starts afresh', () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host, 32, 3);
    expect([1, 2, 3, 4, 5].map(() => queue.mayStartNow())).toEqual([true, true, true, false, false]);
    host.flush();
    expect(queue.mayStartNow()).toBe(true);
  });
});

describe('Pause', () => {
  it('resolves at its due time on the queue', async () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host);
    const pause = new Pause(queue);
    let done = false;
    const p = pause.until(500).then(() => {
      done = true;
    });
    host.advanceTo(499);
    await Promise.resolve();
    expect(done).toBe(false);
    host.advanceTo(500);
    await p;
    expect(done).toBe(true);
    expect(queue.size).toBe(0);
  });

  it('interrupt() ends the pause at once and removes its timer; soon() waits for the next batch', async () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host);
    const pause = new Pause(queue);
    const p = pause.until(60_000);
    pause.interrupt();
    await p;
    expect(queue.size).toBe(0);
    expect(host.timer).toBeUndefined();
    let soon = false;
    const q = pause.soon().then(() => {
      soon = true;
    });
    await Promise.resolve();
    expect(soon).toBe(false);
    host.flush();
    await q;
    expect(soon).toBe(true);
    // Interrupting with nothing in progress does nothing.
    pause.interrupt();
    expect(queue.size).toBe(0);
  });
});

describe('linkAbort (one listener per signal)', () => {
  it('adds one listener to the signal for any number of callbacks, and removes it with the last', () => {
    const controller = new AbortController();
    const callbacks = Array.from({ length: 5000 }, () => () => {});
    for (const callback of callbacks) linkAbort(controller.signal, callback);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    for (const callback of callbacks) unlinkAbort(controller.signal, callback);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('calls every linked callback once with the reason on abort, not the unlinked ones', () => {
    const controller = new AbortController();
    const called: [number, unknown][] = [];
    const callbacks = [0, 1, 2, 3].map((i) => (reason: unknown) => called.push([i, reason]));
    for (const callback of callbacks) linkAbort(controller.signal, callback);
    unlinkAbort(controller.signal, callbacks[2] as (typeof callbacks)[number]);
    controller.abort('why');
    controller.abort('again');
    expect(called).toEqual([
      [0, 'why'],
      [1, 'why'],
      [3, 'why'],
    ]);
  });
});

describe('request timers (issue 11 item 8)', () => {
  it('on the system clock, a request times out on the queue, without the caller’s sleep', () => {
    const host = new FakeHost();
    const queue = new TimerQueue(host);
    const timer = queueRequestTimer(queue);
    let timedOut = 0;
    const cancel = timer(2000, () => {
      timedOut += 1;
    });
    host.advanceTo(1999);
    expect(timedOut).toBe(0);
    host.advanceTo(2000);
    expect(timedOut).toBe(1);
    cancel();
    const cancelled = timer(2000, () => {
      timedOut += 1;
    });
    cancelled();
    expect(queue.size).toBe(0);
    host.advanceTo(10_000);
    expect(timedOut).toBe(1);
  });

  it('on an injected clock, a sleep that returns early does not time the request out', async () => {
    let t = 0;
    let sleeps = 0;
    // Returns at once, a millisecond of virtual time later each time, however long it was asked for.
    const sleep = async () => {
      sleeps += 1;
      t += 1;
    };
    let timedOut = false;
    const cancel = clockRequestTimer(() => t, sleep)(50, () => {
      timedOut = true;
    });
    for (let i = 0; i < 10 && !timedOut; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(t).toBeLessThan(50);
    expect(timedOut).toBe(false);
    for (let i = 0; i < 200 && !timedOut; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(timedOut).toBe(true);
    expect(t).toBe(50);
    expect(sleeps).toBe(50);
    cancel();
  });

  it('on an injected clock, cancelling aborts the sleep in progress and it is not asked again', async () => {
    const t = 0;
    const signals: AbortSignal[] = [];
    const sleep = (_ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        signals.push(signal);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    let timedOut = false;
    const cancel = clockRequestTimer(() => t, sleep)(1000, () => {
      timedOut = true;
    });
    expect(signals).toHaveLength(1);
    cancel();
    expect(signals[0]?.aborted).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(signals).toHaveLength(1);
    expect(timedOut).toBe(false);
  });
});
