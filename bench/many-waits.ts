/**
 * Part 3a: "many waits, defaults" (issue 12). N waits at once in one process, all on ONE shared
 * AbortSignal, against a keep-alive status server in a child process that always answers `pending` with
 * `expiresAt` 10 minutes ahead. Two contenders, each in its own fresh process, measured the same way:
 *
 * - `waitForAuth`: the package's default client and schedule (no injected fetch, no tuning);
 * - `loop`: what a user would write by hand — global `fetch` + `JSON.parse` + `setTimeout`, on the same
 *   1, 2, 4, then 5 s schedule; it looks at the shared signal between steps (no listener per wait).
 *
 * After `durationMs` the CPU, served requests and event-loop delay are read, the heap and RSS are taken
 * after a forced GC, and then the signal aborts: how long until every wait settled, whether any outcome
 * was wrong, and how many timers and warnings were left.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createAitoearnClient, waitForAuth } from '../dist/index.js';
import { jsonLines, spawnTs, stopChild } from './child.js';
import { num, type Table, table } from './table.js';

export type Contender = 'loop' | 'waitForAuth';

export interface ManyWaitsOptions {
  readonly waits: number;
  readonly durationMs: number;
  /** CPU, requests and event-loop delay are counted from here to the end (after the start-up steps). */
  readonly steadyFromMs: number;
  readonly contender: Contender;
}

export interface ManyWaitsData {
  readonly waits: number;
  readonly contender: Contender;
  readonly durationS: number;
  /** How long the synchronous loop that starts every wait took, ms. */
  readonly startBurstMs: number;
  /** Event-loop delay p99 over the steady window, and over the whole run (start burst included). */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly runLoopDelayP99Ms: number;
  readonly windowS: number;
  readonly heapPerWaitKb: number;
  readonly rssPerWaitKb: number;
  /** Client CPU over the run / status checks the server answered in it, µs. */
  readonly cpuPerCheckUs: number;
  readonly checks: number;
  /** The CPU per check split into user and system (kernel) time, µs. */
  readonly userPerCheckUs: number;
  readonly systemPerCheckUs: number;
  readonly servedPerSecond: number;
  /** What the nominal schedule (0, 1, 3, 7, 12, 17, … s) asks for over the window, per second. */
  readonly askedPerSecond: number;
  readonly serverCpuPercent: number;
  readonly wrong: number;
  /** Waits that ended before the abort (counted in `wrong` too). */
  readonly endedEarly: number;
  /** From abort() to the last wait settled, ms. */
  readonly settleMs: number;
  /** Timers (`Timeout` handles) alive after every wait settled, beyond those before the run. */
  readonly timersLeft: number;
  /** Process warnings emitted during the run (e.g. MaxListenersExceededWarning). */
  readonly warnings: number;
  readonly warningNames: readonly string[];
}

const SCHEDULE = [1000, 2000, 4000, 5000] as const;
const API_KEY = 'bench-key';
const PATH = '/api/v2/channels/accounts/auth/douyin/status/bench-session';

/** Checks the nominal schedule asks of one wait in [fromMs, toMs): at 0, 1, 3, 7, 12, 17 … s. */
export function askedChecks(fromMs: number, toMs: number): number {
  let t = 0;
  let n = 0;
  for (let i = 0; t < toMs; i++) {
    if (t >= fromMs) n += 1;
    t += SCHEDULE[Math.min(i, SCHEDULE.length - 1)] as number;
  }
  return n;
}

/** The hand-written loop: global fetch, JSON.parse, setTimeout; checks the shared signal between steps. */
async function handWrittenLoop(url: string, signal: AbortSignal): Promise<unknown> {
  for (let step = 0; ; step++) {
    const response = await fetch(url, { headers: { 'X-Api-Key': API_KEY, Accept: 'application/json' } });
    const body = JSON.parse(await response.text()) as { code: number; data?: { status?: string } };
    if (body.code !== 0 || body.data?.status !== 'pending') return body;
    if (signal.aborted) throw signal.reason;
    const ms = SCHEDULE[Math.min(step, SCHEDULE.length - 1)] as number;
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (signal.aborted) throw signal.reason;
  }
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

export async function measureManyWaits(options: ManyWaitsOptions): Promise<ManyWaitsData> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('Run with --expose-gc');
  const warnings: string[] = [];
  process.on('warning', (warning) => warnings.push(warning.name));
  const server = spawnTs(fileURLToPath(new URL('./children/status-server.ts', import.meta.url)), [
    JSON.stringify({ expiresInMs: 600_000 }),
  ]);
  try {
    const lines = jsonLines(server);
    const { port } = await lines.next<{ port: number }>();
    const count = async () => {
      server.stdin?.write('count\n');
      return (await lines.next<{ requests: number }>()).requests;
    };
    const baseUrl = `http://127.0.0.1:${port}`;
    const client = createAitoearnClient({ apiKey: API_KEY, baseUrl });
    const stop = new AbortController();
    const start =
      options.contender === 'loop'
        ? () => handWrittenLoop(`${baseUrl}${PATH}`, stop.signal)
        : () => waitForAuth(client, { platform: 'douyin', sessionId: 'bench-session', signal: stop.signal });

    // Warm-up: both paths compiled and a connection open, with the other contender's code untouched.
    {
      const warm = new AbortController();
      const waits =
        options.contender === 'loop'
          ? Array.from({ length: 20 }, () => handWrittenLoop(`${baseUrl}${PATH}`, warm.signal))
          : Array.from({ length: 20 }, () =>
              waitForAuth(client, { platform: 'douyin', sessionId: 'bench-session', signal: warm.signal }),
            );
      await new Promise((resolve) => setTimeout(resolve, 300));
      warm.abort();
      await Promise.allSettled(waits);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    gc();
    const base = process.memoryUsage();
    const timersBefore = timers();

    const runDelay = monitorEventLoopDelay({ resolution: 10 });
    runDelay.enable();
    const started = performance.now();
    let early = 0;
    let aborting = false;
    const outcomes: Promise<boolean>[] = new Array(options.waits);
    for (let i = 0; i < options.waits; i++) {
      outcomes[i] = start().then(
        () => false,
        (error: unknown) => {
          if (!aborting) early += 1;
          return aborting && error === stop.signal.reason;
        },
      );
    }
    const startBurstMs = performance.now() - started;
    const until = (ms: number) =>
      new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - (performance.now() - started))));
    await until(options.steadyFromMs);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const cpu0 = process.cpuUsage();
    const windowStart = performance.now();
    const served0 = await count();
    await until(options.durationMs);
    const served = (await count()) - served0;
    const cpu = process.cpuUsage(cpu0);
    const windowS = (performance.now() - windowStart) / 1000;
    const durationS = (performance.now() - started) / 1000;
    delay.disable();
    runDelay.disable();
    gc();
    const inFlight = process.memoryUsage();

    aborting = true;
    const abortAt = performance.now();
    stop.abort(new Error('shutdown'));
    const results = await Promise.all(outcomes);
    const settleMs = performance.now() - abortAt;
    await new Promise((resolve) => setImmediate(resolve));
    const timersLeft = Math.max(0, timers() - timersBefore);
    server.stdin?.end();
    const serverReport = await lines.next<{ requests: number; cpuUs: number }>();

    const n = options.waits;
    return {
      waits: n,
      contender: options.contender,
      durationS,
      startBurstMs,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
      runLoopDelayP99Ms: runDelay.percentile(99) / 1e6,
      windowS,
      // With few waits the difference is within the GC's and the allocator's noise and can come out
      // negative (RSS returned to the system after the start): that is reported as 0.
      heapPerWaitKb: Math.max(0, (inFlight.heapUsed - base.heapUsed) / 1024 / n),
      rssPerWaitKb: Math.max(0, (inFlight.rss - base.rss) / 1024 / n),
      cpuPerCheckUs: (cpu.user + cpu.system) / served,
      checks: served,
      userPerCheckUs: cpu.user / served,
      systemPerCheckUs: cpu.system / served,
      servedPerSecond: served / windowS,
      askedPerSecond: (n * askedChecks(options.steadyFromMs, options.durationMs)) / windowS,
      serverCpuPercent: (serverReport.cpuUs / 1e6 / (process.uptime() || 1)) * 100,
      wrong: results.filter((ok) => !ok).length,
      endedEarly: early,
      settleMs,
      timersLeft,
      warnings: warnings.length,
      warningNames: [...new Set(warnings)],
    };
  } finally {
    await stopChild(server);
  }
}

export function manyWaitsTables(rows: readonly ManyWaitsData[]): Table[] {
  const loopOf = (r: ManyWaitsData) => rows.find((l) => l.contender === 'loop' && l.waits === r.waits);
  const x = (value: number, base: number | undefined) =>
    base !== undefined && base > 0 ? num(value / base, 2, '×') : num(Number.NaN);
  const warned = rows.filter((r) => r.warnings > 0);
  return [
    table(
      'Many waits, defaults — N waits on one shared AbortSignal, keep-alive server in a child process',
      [
        'waits',
        'contender',
        'event-loop p99 (ms)',
        'p99 whole run (ms)',
        'heap / wait (KB)',
        'RSS / wait (KB)',
        'CPU per status check (µs)',
        'CPU vs loop',
        'requests/s served',
        'asked by the schedule',
        'served vs loop',
        'start burst (ms)',
        'wrong outcomes',
        'settle on abort (ms)',
        'timers left',
        'warnings',
      ],
      rows.map((r) => {
        const loop = loopOf(r);
        return [
          String(r.waits),
          r.contender === 'loop' ? 'hand-written loop' : 'waitForAuth defaults',
          num(r.loopDelayP99Ms, 1),
          num(r.runLoopDelayP99Ms, 1),
          num(r.heapPerWaitKb, 1),
          num(r.rssPerWaitKb, 1),
          num(r.cpuPerCheckUs, 0),
          x(r.cpuPerCheckUs, loop?.cpuPerCheckUs),
          num(r.servedPerSecond, 0),
          num(r.askedPerSecond, 0),
          x(r.servedPerSecond, loop?.servedPerSecond),
          num(r.startBurstMs, 1),
          num(r.wrong, 0),
          num(r.settleMs, 0),
          num(r.timersLeft, 0),
          num(r.warnings, 0),
        ];
      }),
      [
        `Each row is a fresh process: the default client (\`createAitoearnClient({ apiKey, baseUrl })\`, Node's global fetch) and the default schedule (1, 2, 4, then 5 s, jitter 0.1), or the hand-written loop on the same schedule without jitter; one shared AbortSignal; the server always answers pending with expiresAt 10 minutes ahead. All waits start in one synchronous loop ("start burst" = how long that loop took). CPU, requests and "event-loop p99" are counted over the steady window (the last ${rows[0]?.windowS.toFixed(0) ?? '?'} s of a ${rows[0]?.durationS.toFixed(0) ?? '?'} s run, once every wait is on the 5 s step); "p99 whole run" includes the start.`,
        'CPU per status check = user + system CPU of the waiting process over the window ÷ requests the server answered in it. "asked" = waits × checks the nominal schedule (0, 1, 3, 7, 12, 17 … s) puts into the window ÷ its length (the jitter makes the waiter ask up to 10% more). Heap and RSS = (after a forced GC at the end of the run, every wait still going) − (the same before the start), per wait; fetch\'s sockets included (a negative difference, noise with few waits, shows as 0). Event-loop delay from perf_hooks.monitorEventLoopDelay (10 ms resolution).',
        'Then the signal aborts: "settle on abort" = until every wait has settled; a wrong outcome is a wait that ended before the abort or with anything but the signal\'s reason. The loop looks at the signal only between steps, so it settles when its current sleep ends (up to 5 s); it adds no listener to the signal. "timers left" = Timeout handles alive after settling beyond those before the run; "warnings" = process warnings during the run.',
        ...warned.map((r) => `${r.waits} waits, ${r.contender}: ${r.warningNames.join(', ')}.`),
      ],
    ),
  ];
}
