import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../bench/prng.js';
import { type TimerHost, TimerQueue } from '../src/poll/timers.js';

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

describe('TimerQueue (the default sleep and request timers of every wait in the process)', () => {
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
          for (const [me] of ran) handles.delete(me);
        }
      }
      host.advanceTo(host.t + 10_000);
      // Every timer ran once, on time (the fake host timer is exact), whatever was added earlier or later.
      expect(new Map(ran).size).toBe(model.size);
      for (const [me, at] of ran) expect(at).toBe(model.get(me));
      expect(queue.size).toBe(0);
      expect(host.timer).toBeUndefined();
    }
  });
});
