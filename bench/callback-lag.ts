/**
 * Detection lag of `connectAccount` with the browser's loopback callback vs polling alone, in real time
 * against the real sandbox over real sockets. Sessions run concurrently (so the run takes about as long as
 * the latest approval); each approves at a seeded random moment through the stand-in person
 * (scripts/stand-in-person.ts), who then submits the callback form as a browser would. Lag is measured
 * from the sandbox's answer to the approval (the session is completed from then on) to `connectAccount`
 * resolving. The waiter runs with its defaults (first check at once, then ~1 s growing to 5 s).
 */

import { type AuthSession, connectAccount, createAitoearnClient } from '../dist/index.js';
import { startSandbox } from '../dist/sandbox/index.js';
import { visitConsentPage } from '../scripts/stand-in-person.js';
import { mulberry32 } from './prng.js';
import { mean, percentile, sortNumbers } from './stats.js';
import { num, type Table, table } from './table.js';

export interface CallbackLagOptions {
  /** Sessions per mode. */
  readonly sessions: number;
  /** Approvals fall uniformly in [from, to] ms after the session started. */
  readonly approveWithinMs: readonly [number, number];
}

interface ModeResult {
  readonly mode: 'callback' | 'polling alone';
  readonly lagsMs: number[];
  readonly checks: number[];
  wrong: number;
}

export interface CallbackLagData {
  readonly options: CallbackLagOptions;
  readonly results: ModeResult[];
}

export async function measureCallbackLag(options: CallbackLagOptions): Promise<CallbackLagData> {
  const sandbox = await startSandbox();
  const client = createAitoearnClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
  const random = mulberry32(20261129);
  const [from, to] = options.approveWithinMs;
  const results: ModeResult[] = [
    { mode: 'callback', lagsMs: [], checks: [], wrong: 0 },
    { mode: 'polling alone', lagsMs: [], checks: [], wrong: 0 },
  ];
  const one = async (result: ModeResult, approveAfterMs: number) => {
    let decidedAt = Number.NaN;
    let checks = 0;
    let visit: Promise<unknown> = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    try {
      const session: AuthSession = await connectAccount(client, {
        platform: 'douyin',
        callback: result.mode === 'callback',
        onStart: ({ url }) => {
          timer = setTimeout(() => {
            visit = visitConsentPage(url, 'approve', {
              onDecided: () => {
                decidedAt = performance.now();
              },
            });
          }, approveAfterMs);
        },
        onProgress: (event) => {
          if (event.type === 'status') checks += 1;
        },
      });
      const lag = performance.now() - decidedAt;
      await visit;
      if (session.status !== 'completed' || !Number.isFinite(lag)) result.wrong += 1;
      else {
        result.lagsMs.push(lag);
        result.checks.push(checks);
      }
    } catch {
      result.wrong += 1;
    } finally {
      clearTimeout(timer);
    }
  };
  const runs: Promise<void>[] = [];
  for (let i = 0; i < options.sessions; i += 1) {
    // The same approval moment for both modes, so the two differ only in the callback.
    const approveAfterMs = from + random() * (to - from);
    for (const result of results) runs.push(one(result, approveAfterMs));
  }
  await Promise.all(runs);
  await sandbox.close();
  return { options, results };
}

export function callbackLagTables(data: CallbackLagData): Table[] {
  const [from, to] = data.options.approveWithinMs;
  const rows = data.results.map((r) => {
    const sorted = sortNumbers(r.lagsMs);
    return [
      r.mode,
      num(r.lagsMs.length, 0),
      num(percentile(sorted, 50), 0),
      num(percentile(sorted, 95), 0),
      num(sorted.at(-1) ?? Number.NaN, 0),
      num(mean(r.checks), 1),
      num(r.wrong, 0),
    ];
  });
  return [
    table(
      `Noticing with the browser's callback — ${data.options.sessions} sessions per mode, real time, sandbox on loopback`,
      [
        'connectAccount',
        'sessions',
        'lag p50 (ms)',
        'lag p95 (ms)',
        'lag max (ms)',
        'checks/session',
        'wrong',
      ],
      rows,
      [
        `Each pair of sessions (one per mode) is approved at the same seeded moment, uniform in ${(from / 1000).toFixed(0)}–${(to / 1000).toFixed(0)} s; lag runs from the sandbox's answer to the approval to connectAccount resolving. Default waiter options.`,
        'With the callback, the first POST of a session is checked at once, even right after a scheduled check; later ones wait for initialDelayMs (1 s) after the last request, so a flood of forged callbacks cannot turn the waiter into a hot loop.',
      ],
    ),
  ];
}
