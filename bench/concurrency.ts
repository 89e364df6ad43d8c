/**
 * Part 3: many waits at once in one process, against the sandbox running in a child process.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { AuthExpiredError, AuthFailedError, createAitoearnClient, waitForAuth } from '../dist/index.js';
import { jsonLines, spawnTs, stopChild } from './child.js';
import type { Expected, SandboxChildOptions } from './children/sandbox.js';
import { pooledHttpFetch } from './http-fetch.js';
import { percentile, sortNumbers } from './stats.js';
import { num, type Table, table } from './table.js';

export interface ConcurrencyOptions {
  readonly waiters: number;
  readonly lifetimeMs: number;
  readonly window: readonly [number, number];
  readonly seed?: number;
  /** Use a node:http keep-alive pool of this many sockets instead of the global fetch. */
  readonly maxSockets?: number;
}

export interface ConcurrencyData {
  readonly waiters: number;
  readonly transport: string;
  /** Request latency seen by the waiters' fetch, ms. */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly lifetimeMs: number;
  readonly window: readonly [number, number];
  /** (RSS after a full GC while every wait is in flight − RSS before) / waiters. */
  readonly rssPerWaiterKb: number;
  readonly heapPerWaiterKb: number;
  /** (peak RSS during the run − RSS before) / waiters: garbage not yet collected included. */
  readonly peakRssPerWaiterKb: number;
  readonly clientCpuPercent: number;
  readonly sandboxCpuPercent: number;
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly retries: number;
  readonly wrong: number;
  readonly wrongDetail: Record<string, number>;
  readonly durationS: number;
}

export async function measureConcurrency(options: ConcurrencyOptions): Promise<ConcurrencyData> {
  const childOptions: SandboxChildOptions = {
    count: options.waiters,
    lifetimeMs: options.lifetimeMs,
    window: options.window,
    seed: options.seed ?? 7,
  };
  const sandbox = spawnTs(fileURLToPath(new URL('./children/sandbox.ts', import.meta.url)), [
    JSON.stringify(childOptions),
  ]);
  try {
    const lines = jsonLines(sandbox);
    const ready = await lines.next<{
      url: string;
      apiKey: string;
      sessions: { sessionId: string; expect: Expected }[];
    }>();
    let requests = 0;
    let latencies: number[] = [];
    const pooled = options.maxSockets === undefined ? undefined : pooledHttpFetch(options.maxSockets);
    const transport = pooled?.fetch ?? ((request: Request) => fetch(request));
    const client = createAitoearnClient({
      apiKey: ready.apiKey,
      baseUrl: ready.url,
      fetch: async (request) => {
        requests += 1;
        const t = performance.now();
        try {
          return await transport(request);
        } finally {
          latencies.push(performance.now() - t);
        }
      },
    });
    // Warm up the client and fetch's pool with a few short waits that end at once (unknown session → 15039).
    for (let i = 0; i < 3; i++)
      await waitForAuth(client, { platform: 'douyin', sessionId: `warm-${i}` }).catch(() => {});
    requests = 0;
    latencies = [];
    (globalThis as { gc?: () => void }).gc?.();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 100);
    // Every wait is in flight until the first completion (window[0]): take a GC'd snapshot just before it.
    let inFlight: NodeJS.MemoryUsage | undefined;
    const snapshot = setTimeout(() => {
      (globalThis as { gc?: () => void }).gc?.();
      inFlight = process.memoryUsage();
      if (process.env.BENCH_DEBUG)
        process.stderr.write(`base ${JSON.stringify(base)}\nin flight ${JSON.stringify(inFlight)}\n`);
    }, options.window[0] * 0.8);
    const cpu0 = process.cpuUsage();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let retries = 0;
    const wrongDetail: Record<string, number> = {};
    const started = performance.now();
    await Promise.all(
      ready.sessions.map(async ({ sessionId, expect }) => {
        let got: string;
        try {
          const session = await waitForAuth(client, {
            platform: 'douyin',
            sessionId,
            initialDelayMs: 50,
            maxDelayMs: 500,
            onProgress: (event) => {
              if (event.type === 'retry') retries += 1;
            },
          });
          got =
            session.status === 'completed' && (session.accountIds?.length ?? 0) > 0
              ? 'completed'
              : `resolved ${session.status}`;
        } catch (error) {
          if (error instanceof AuthFailedError)
            got = error.errorCode === 15045 ? 'failed' : `failed ${error.errorCode}`;
          else if (error instanceof AuthExpiredError) got = 'expired';
          else got = error instanceof Error ? error.name : String(error);
        }
        if (got !== expect) {
          const key = `expected ${expect}, got ${got}`;
          wrongDetail[key] = (wrongDetail[key] ?? 0) + 1;
        }
      }),
    );
    const durationS = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    delay.disable();
    clearInterval(sampler);
    clearTimeout(snapshot);
    sandbox.stdin?.end();
    const sandboxReport = await lines.next<{ cpuUs: number; uptimeS: number }>();
    pooled?.agent.destroy();
    const n = options.waiters;
    const sorted = sortNumbers(latencies);
    return {
      waiters: n,
      transport: pooled ? `node:http pool, ${options.maxSockets} sockets` : 'global fetch',
      latencyP50Ms: percentile(sorted, 50),
      latencyP99Ms: percentile(sorted, 99),
      lifetimeMs: options.lifetimeMs,
      window: options.window,
      rssPerWaiterKb: inFlight ? (inFlight.rss - base.rss) / 1024 / n : Number.NaN,
      heapPerWaiterKb: inFlight ? (inFlight.heapUsed - base.heapUsed) / 1024 / n : Number.NaN,
      peakRssPerWaiterKb: (peakRss - base.rss) / 1024 / n,
      clientCpuPercent: ((cpu.user + cpu.system) / 1e6 / durationS) * 100,
      // The sandbox's CPU over its whole life (session creation and start-up included), as a share of the run.
      sandboxCpuPercent: (sandboxReport.cpuUs / 1e6 / durationS) * 100,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
      requestsPerSecond: requests / durationS,
      requests,
      retries,
      wrong: Object.values(wrongDetail).reduce((a, b) => a + b, 0),
      wrongDetail,
      durationS,
    };
  } finally {
    await stopChild(sandbox);
  }
}

export interface WaiterMemoryData {
  readonly waiters: number;
  readonly sleepingHeapKb: number;
  readonly inFlightHeapKb: number;
}

/**
 * The waiter's own retained memory, without sockets: `waiters` waits over an in-memory fetch, measured
 * after a forced GC while they sleep between checks, and again while each has a request pending.
 */
export async function measureWaiterMemory(options: { waiters: number }): Promise<WaiterMemoryData> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('Run with --expose-gc');
  const body = JSON.stringify({
    code: 0,
    message: 'ok',
    data: {
      sessionId: 's',
      status: 'pending',
      requiresSelection: false,
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    },
  });
  const held = new Set<Request>();
  const heapPerWaiter = async (pending: boolean): Promise<number> => {
    const client = createAitoearnClient({
      apiKey: 'bench-key',
      baseUrl: 'http://127.0.0.1:9',
      fetch: (request) => {
        if (!pending)
          return Promise.resolve(new Response(body, { headers: { date: new Date().toUTCString() } }));
        // Held strongly, as a real transport holds its requests: undici's Request follows the caller's
        // signal through a WeakRef, so an unreferenced pending Request would be collected and never abort.
        held.add(request);
        return new Promise<Response>((_, reject) =>
          request.signal.addEventListener(
            'abort',
            () => {
              held.delete(request);
              reject(request.signal.reason);
            },
            { once: true },
          ),
        );
      },
    });
    const stops: AbortController[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    const waits = Array.from({ length: options.waiters }, (_, i) => {
      const stop = new AbortController();
      stops.push(stop);
      return waitForAuth(client, {
        platform: 'douyin',
        sessionId: `m${i}`,
        signal: stop.signal,
        initialDelayMs: 5000,
      }).catch(() => {});
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    gc();
    const after = process.memoryUsage().heapUsed;
    for (const stop of stops) stop.abort();
    await Promise.all(waits);
    return (after - before) / 1024 / options.waiters;
  };
  return {
    waiters: options.waiters,
    sleepingHeapKb: await heapPerWaiter(false),
    inFlightHeapKb: await heapPerWaiter(true),
  };
}

export function waiterMemoryTables(rows: readonly WaiterMemoryData[]): Table[] {
  return [
    table(
      "The waiter's own memory — no sockets (in-memory fetch), heap after a forced GC",
      ['waiters', 'heap/waiter while sleeping (KB)', 'heap/waiter with a request pending (KB)'],
      rows.map((r) => [String(r.waiters), num(r.sleepingHeapKb, 2), num(r.inFlightHeapKb, 2)]),
      [
        'What the library itself keeps per wait (options, state, timers, abort wiring, p-retry, the pending Request); the sockets and buffers of a real transport come on top (see the table above).',
      ],
    ),
  ];
}

export function concurrencyTables(rows: readonly ConcurrencyData[]): Table[] {
  const details = rows.flatMap((r) =>
    Object.entries(r.wrongDetail).map(([k, v]) => `${r.waiters} waiters, ${r.transport}: ${v} × ${k}.`),
  );
  return [
    table(
      'Many sessions at once — concurrent waitForAuth in one process, sandbox in a child process',
      [
        'waiters',
        'transport',
        'RSS/waiter in flight (KB)',
        'heap/waiter (KB)',
        'peak RSS/waiter (KB)',
        'loop delay p99 (ms)',
        'loop delay max (ms)',
        'requests/s',
        'latency p50 / p99 (ms)',
        'client CPU %',
        'sandbox CPU %',
        'transient retries',
        'wrong outcomes',
        'duration (s)',
      ],
      rows.map((r) => [
        String(r.waiters),
        r.transport,
        num(r.rssPerWaiterKb, 2),
        num(r.heapPerWaiterKb, 2),
        num(r.peakRssPerWaiterKb, 1),
        num(r.loopDelayP99Ms, 1),
        num(r.loopDelayMaxMs, 1),
        num(r.requestsPerSecond, 0),
        `${r.latencyP50Ms.toFixed(0)} / ${r.latencyP99Ms.toFixed(0)}`,
        num(r.clientCpuPercent, 0),
        num(r.sandboxCpuPercent, 0),
        num(r.retries, 0),
        num(r.wrong, 0),
        num(r.durationS, 1),
      ]),
      [
        `Session lifetime ${rows[0]?.lifetimeMs ?? 0} ms; schedule initialDelayMs 50, maxDelayMs 500; 70% complete and 10% fail (15045) at uniformly random times ${rows[0]?.window[0] ?? 0}–${rows[0]?.window[1] ?? 0} ms after creation, 20% never complete (expire). All waits start together; a wrong outcome is any result other than the session's scripted one.`,
        '"in flight" = (RSS or heap after a forced GC while every wait is still running, just before the first completion) − (the same after a warm-up and a GC, before the waits), per waiter; it includes fetch\'s sockets and buffers. "peak" = highest RSS sampled every 100 ms − the same base, per waiter: garbage not yet collected included. Loop delay from perf_hooks.monitorEventLoopDelay (10 ms resolution; the one forced GC shows in max). CPU % is of one core over the run (the machine has 2). Transport: Node\'s global fetch (undici\'s default pool: no connection limit per origin).',
        ...details,
      ],
    ),
  ];
}
