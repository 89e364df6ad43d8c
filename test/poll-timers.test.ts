import { afterEach, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../bench/prng.js';
import { cancel, type Entry, enqueue } from '../src/poll/sleep.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const fake = () =>
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });

describe('the timer queue (the default sleep and request timers of every wait in the process)', () => {
  it('keeps one host timer for any number of timers, and none once the queue is empty', () => {
    fake();
    const timers = Array.from({ length: 1000 }, (_, i) => enqueue(1000 + i, () => {}));
    expect(vi.getTimerCount()).toBe(1);
    for (const timer of timers) cancel(timer);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('runs due timers 32 at a time, in the order added, each batch after setImmediate', () => {
    fake();
    const ran: number[] = [];
    for (let i = 0; i < 80; i++) enqueue(1000, () => ran.push(i));
    for (const expected of [32, 64, 80]) {
      vi.advanceTimersToNextTimer();
      expect(ran).toEqual(Array.from({ length: expected }, (_, i) => i));
    }
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never runs a timer early when the host timer fires before its due time', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate'] });
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const ran: number[] = [];
    enqueue(1000.4, () => ran.push(now));
    // The host timer (1001 ms) fires while performance.now() still reads 999.
    now = 999;
    vi.advanceTimersByTime(1001);
    expect(ran).toEqual([]);
    now = 1001;
    vi.advanceTimersByTime(2);
    expect(ran).toEqual([1001]);
  });

  it('matches a sorted model under random adds, cancels and time steps', () => {
    fake();
    const random = mulberry32(12);
    const start = performance.now();
    const t = () => performance.now() - start;
    const model = new Map<number, number>();
    const handles = new Map<number, Entry>();
    const ran = new Map<number, number>();
    for (let op = 0; op < 5000; op++) {
      const r = random();
      if (r < 0.5) {
        const [me, ms] = [op, Math.floor(random() * 500)];
        model.set(me, t() + ms);
        const timer = enqueue(ms, () => ran.set(me, ran.has(me) ? Number.NaN : t()));
        handles.set(me, timer);
      } else if (r < 0.75 && handles.size > 0) {
        const victim = [...handles.keys()][Math.floor(random() * handles.size)] as number;
        if (!ran.has(victim)) model.delete(victim);
        cancel(handles.get(victim) as Entry);
        handles.delete(victim);
      } else vi.advanceTimersByTime(Math.floor(random() * 200));
    }
    vi.advanceTimersByTime(10_000);
    // Every timer not cancelled first ran once, on time (the fake host timer is exact).
    expect(ran).toEqual(model);
    expect(vi.getTimerCount()).toBe(0);
  });
});
