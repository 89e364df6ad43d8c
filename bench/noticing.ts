/**
 * Part 1: how soon a completed authorization is noticed, and how many requests that costs, for our waiter
 * and the loops people write instead — all on one virtual clock, through one fake transport.
 */
import { createWaiter, WaiterState } from '@smithy/util-waiter';
import pRetry, { AbortError } from 'p-retry';
import {
  AitoearnApiError,
  type AitoearnClient,
  AuthExpiredError,
  type AuthSession,
  createAitoearnClient,
  getAuthStatus,
  waitForAuth,
} from '../dist/index.js';
import { logNormal, mulberry32 } from './prng.js';
import { mean, percentile, sortNumbers } from './stats.js';
import { num, type Table, table } from './table.js';
import { VirtualTime } from './virtual-time.js';

const LIFETIME_MS = 300_000;
const MEDIAN_COMPLETION_MS = 30_000;
const SIGMA = 0.8;
const ABANDON_SHARE = 0.1;
/** Sessions start spread over this window, so their `Date` headers fall at every sub-second phase. */
const START_SPREAD_MS = 60_000;
/** One-way network latency of the fake transport; a request takes twice this. */
const ONE_WAY_MS = 50;
const EPOCH_MS = Date.UTC(2026, 10, 26, 8, 0, 0) + 123;

interface SimSession {
  readonly id: string;
  readonly startAt: number;
  /** Virtual time at which the person finishes; Infinity when they never do within the lifetime. */
  readonly completeAt: number;
  readonly expiresAt: number;
}

type Outcome = 'completed' | 'expired' | 'timeout' | 'other';

type Strategy = (
  client: AitoearnClient,
  session: SimSession,
  vt: VirtualTime,
  random: () => number,
) => Promise<Outcome>;

const params = (s: SimSession) => ({ platform: 'douyin', sessionId: s.id }) as const;

function isExpired(error: unknown): boolean {
  return error instanceof AitoearnApiError && error.kind === 'session-invalid';
}

function fixedLoop(intervalMs: number): Strategy {
  return async (client, s) => {
    for (;;) {
      try {
        const { session } = await getAuthStatus(client, params(s));
        if (session.status === 'completed') return 'completed';
        if (session.status === 'failed') return 'other';
      } catch (error) {
        if (isExpired(error)) return 'expired';
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
}

const ours: Strategy = async (client, s, vt, random) => {
  try {
    await waitForAuth(client, {
      ...params(s),
      clock: { now: vt.now, wallNow: vt.wallNow },
      sleep: vt.sleep,
      random,
    });
    return 'completed';
  } catch (error) {
    if (error instanceof AuthExpiredError) return 'expired';
    throw error;
  }
};

const awsWaiter: Strategy = async (client, s) => {
  const result = await createWaiter<AitoearnClient, SimSession, AuthSession | unknown>(
    { client, minDelay: 2, maxDelay: 120, maxWaitTime: 300 },
    s,
    async (c, input) => {
      try {
        const { session } = await getAuthStatus(c, params(input));
        if (session.status === 'completed') return { state: WaiterState.SUCCESS, reason: session };
        if (session.status === 'failed') return { state: WaiterState.FAILURE, reason: session };
        return { state: WaiterState.RETRY, reason: session };
      } catch (error) {
        if (isExpired(error)) return { state: WaiterState.FAILURE, reason: error };
        throw error;
      }
    },
  );
  if (result.state === WaiterState.SUCCESS) return 'completed';
  if (result.state === WaiterState.TIMEOUT) return 'timeout';
  if (result.state === WaiterState.FAILURE && isExpired(result.reason)) return 'expired';
  return 'other';
};

const pRetryPoller: Strategy = async (client, s) => {
  try {
    await pRetry(
      async () => {
        let session: AuthSession;
        try {
          ({ session } = await getAuthStatus(client, params(s)));
        } catch (error) {
          throw isExpired(error) ? new AbortError(error as Error) : error;
        }
        if (session.status === 'pending') throw new Error('still pending');
        if (session.status === 'failed') throw new AbortError('failed');
        return session;
      },
      { factor: 2, minTimeout: 1000 },
    );
    return 'completed';
  } catch (error) {
    if (isExpired(error)) return 'expired';
    return 'other';
  }
};

const STRATEGIES: readonly { readonly name: string; readonly run: Strategy }[] = [
  { name: 'waitForAuth (defaults)', run: ours },
  { name: 'fixed 2 s loop', run: fixedLoop(2000) },
  { name: 'AWS waiter (2 s–120 s, 300 s)', run: awsWaiter },
  { name: 'fixed 5 s loop', run: fixedLoop(5000) },
  { name: 'p-retry (factor 2, 1 s)', run: pRetryPoller },
];

function population(count: number, seed: number): SimSession[] {
  const random = mulberry32(seed);
  const sessions: SimSession[] = [];
  for (let i = 0; i < count; i++) {
    const startAt = Math.floor(random() * START_SPREAD_MS);
    const abandons = random() < ABANDON_SHARE;
    const after = logNormal(random, MEDIAN_COMPLETION_MS, SIGMA);
    const completeAt =
      abandons || after >= LIFETIME_MS ? Number.POSITIVE_INFINITY : startAt + Math.round(after);
    sessions.push({ id: `sim-${i}`, startAt, completeAt, expiresAt: startAt + LIFETIME_MS });
  }
  return sessions;
}

/** The real API's answers for one session at virtual time, as the client's injected `fetch`. */
function fakeTransport(
  vt: VirtualTime,
  sessions: ReadonlyMap<string, SimSession>,
  counts: Map<string, number>,
) {
  return async (request: Request): Promise<Response> => {
    const id = decodeURIComponent(new URL(request.url).pathname.split('/').pop() ?? '');
    counts.set(id, (counts.get(id) ?? 0) + 1);
    await vt.sleep(ONE_WAY_MS, request.signal);
    const t = vt.now();
    const s = sessions.get(id);
    const headers = {
      'content-type': 'application/json',
      date: new Date(EPOCH_MS + t).toUTCString(),
      'x-request-id': `r${t}`,
    };
    let body: unknown;
    if (!s || t >= s.expiresAt) {
      body = {
        code: 15039,
        message: 'Auth session invalid or expired',
        data: {},
        timestamp: EPOCH_MS + t,
        requestId: `r${t}`,
      };
    } else {
      const completed = t >= s.completeAt;
      body = {
        code: 0,
        message: 'ok',
        requestId: `r${t}`,
        data: {
          sessionId: s.id,
          status: completed ? 'completed' : 'pending',
          requiresSelection: false,
          expiresAt: new Date(EPOCH_MS + s.expiresAt).toISOString(),
          ...(completed
            ? {
                accountId: `acc-${s.id}`,
                accountIds: [`acc-${s.id}`],
                accounts: [
                  {
                    accountId: `acc-${s.id}`,
                    platform: 'douyin',
                    platformUid: `uid-${s.id}`,
                    displayName: 'Bench',
                  },
                ],
              }
            : {}),
        },
      };
    }
    const text = JSON.stringify(body);
    await vt.sleep(ONE_WAY_MS, request.signal);
    return new Response(text, { status: 200, headers });
  };
}

export interface StrategyResult {
  readonly name: string;
  readonly requests: { readonly mean: number; readonly p95: number };
  readonly lag: { readonly p50: number; readonly p95: number; readonly max: number };
  /** Completions within the lifetime that the strategy did not report as completed. */
  readonly missed: number;
  /** For sessions that never complete: end − expiresAt, ms. */
  readonly afterExpiry: { readonly p50: number; readonly max: number; readonly min: number };
  readonly wrong: number;
  readonly wallMs: number;
}

async function runStrategy(
  name: string,
  run: Strategy,
  sessions: readonly SimSession[],
  seed: number,
): Promise<StrategyResult> {
  const vt = new VirtualTime(EPOCH_MS);
  const byId = new Map(sessions.map((s) => [s.id, s]));
  const counts = new Map<string, number>();
  const client = createAitoearnClient({
    apiKey: 'bench-key',
    baseUrl: 'http://127.0.0.1:9',
    fetch: fakeTransport(vt, byId, counts),
  });
  const random = mulberry32(seed);
  const ends = new Map<string, { at: number; outcome: Outcome }>();
  const wallStart = performance.now();
  vt.install(mulberry32(seed + 2));
  try {
    for (const s of sessions) {
      vt.schedule(s.startAt, () => {
        run(client, s, vt, random).then(
          (outcome) => ends.set(s.id, { at: vt.now(), outcome }),
          () => ends.set(s.id, { at: vt.now(), outcome: 'other' }),
        );
      });
    }
    await vt.run(() => ends.size === sessions.length);
  } finally {
    vt.restore();
  }
  const wallMs = performance.now() - wallStart;
  const lags: number[] = [];
  const afterExpiry: number[] = [];
  let missed = 0;
  let wrong = 0;
  for (const s of sessions) {
    const end = ends.get(s.id);
    if (!end) throw new Error(`${name}: session ${s.id} never ended`);
    if (Number.isFinite(s.completeAt)) {
      if (end.outcome === 'completed') lags.push(end.at - s.completeAt);
      else missed += 1;
    } else {
      afterExpiry.push(end.at - s.expiresAt);
      if (end.outcome === 'completed' || end.outcome === 'other') wrong += 1;
    }
    if (end.outcome === 'other') wrong += 1;
  }
  const req = sortNumbers(sessions.map((s) => counts.get(s.id) ?? 0));
  const lag = sortNumbers(lags);
  const after = sortNumbers(afterExpiry);
  return {
    name,
    requests: { mean: mean(req), p95: percentile(req, 95) },
    lag: { p50: percentile(lag, 50), p95: percentile(lag, 95), max: lag.at(-1) ?? Number.NaN },
    missed,
    afterExpiry: { p50: percentile(after, 50), max: after.at(-1) ?? Number.NaN, min: after[0] ?? Number.NaN },
    wrong,
    wallMs,
  };
}

export interface NoticingData {
  readonly sessions: number;
  readonly never: number;
  readonly seed: number;
  readonly results: StrategyResult[];
}

export async function measureNoticing(options: { sessions: number; seed?: number }): Promise<NoticingData> {
  const seed = options.seed ?? 20261126;
  const sessions = population(options.sessions, seed);
  const results: StrategyResult[] = [];
  for (const { name, run } of STRATEGIES) results.push(await runStrategy(name, run, sessions, seed + 1));
  const never = sessions.filter((s) => !Number.isFinite(s.completeAt)).length;
  return { sessions: options.sessions, never, seed, results };
}

export function noticingTables(data: NoticingData): Table[] {
  const { results, never, seed } = data;
  const count = data.sessions;
  const [oursR, twoS, aws] = results as [StrategyResult, StrategyResult, StrategyResult];
  const s = (ms: number) => ms / 1000;
  /** One row of the ratio table: ours, the 2 s loop, ours/2 s, the AWS waiter, ours/AWS. */
  const compare = (
    measure: string,
    pick: (r: StrategyResult) => number,
    decimals: number,
    unit: (value: number) => number = (value) => value,
  ) => [
    measure,
    num(unit(pick(oursR)), decimals),
    num(unit(pick(twoS)), decimals),
    num(pick(oursR) / pick(twoS), 2, '×'),
    num(unit(pick(aws)), decimals),
    num(pick(oursR) / pick(aws), 2, '×'),
  ];
  const main = table(
    `Noticing vs cost — ${count} sessions on a virtual clock (${never} never complete)`,
    [
      'strategy',
      'req/session mean',
      'req p95',
      'lag p50 (s)',
      'lag p95 (s)',
      'lag max (s)',
      'missed',
      'never: end − expiresAt p50 / max (s)',
    ],
    results.map((r) => [
      r.name,
      num(r.requests.mean, 1),
      num(r.requests.p95, 0),
      num(s(r.lag.p50), 2),
      num(s(r.lag.p95), 2),
      num(s(r.lag.max), 2),
      num(r.missed, 0),
      `${s(r.afterExpiry.p50).toFixed(2)} / ${s(r.afterExpiry.max).toFixed(2)}`,
    ]),
    [
      `Lifetime 300 s; completion log-normal (median 30 s, σ 0.8), ${Math.round(ABANDON_SHARE * 100)}% abandon; later than the lifetime counts as never. Seeded (mulberry32, seed ${seed}); every run gives the same numbers.`,
      `Fake transport: ${ONE_WAY_MS} ms each way (a request takes ${2 * ONE_WAY_MS} ms); the API's semantics (code 15039 from expiresAt on; a completed session is readable until then; Date header at 1 s resolution). Lag = when the wait resolves − when the person finished, so it includes one round trip.`,
      '"missed" = sessions completed within the lifetime that the strategy did not report as completed (it gave up first). A negative "end − expiresAt" means the strategy gave up before the session expired.',
      'Baseline loops wait their interval after each answer and stop at the first 15039 answer; the AWS waiter and p-retry map 15039 to failure (AbortError) so they stop too.',
    ],
  );
  const ratios = table(
    'Noticing — waitForAuth relative to the 2 s loop and the AWS waiter',
    ['measure', 'waitForAuth', 'fixed 2 s loop', 'ratio vs 2 s', 'AWS waiter', 'ratio vs AWS'],
    [
      compare('requests/session (mean)', (r) => r.requests.mean, 1),
      compare('detection lag p95 (s)', (r) => r.lag.p95, 2, s),
      compare('detection lag p50 (s)', (r) => r.lag.p50, 2, s),
    ],
    [
      `Wall time to simulate: ${results.map((r) => `${r.name} ${(r.wallMs / 1000).toFixed(1)} s`).join(', ')}.`,
    ],
  );
  return [main, ratios];
}
