import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  AitoearnApiError,
  AitoearnTransportError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  AuthTimeoutError,
  createAitoearnClient,
  waitForAuth,
} from '../src/index.js';
import { fakeApi, type Reply, SERVER_START_MS } from './helpers/fake-api.js';
import { FakeClock } from './helpers/fake-clock.js';

const reply = (...replies: Reply[]) => fc.constantFrom(...replies);
const terminals: Reply[] = [
  { status: 'completed' },
  { status: 'failed', extra: { errorCode: 15045 } },
  ...[401, 15039, 15040, 10002, 400, 98765].map((code) => ({ code })),
  ...[401, 403, 404].map((http) => ({ http })),
  { http: 307, headers: { location: 'https://other.example/' } },
];

const pendings: Reply[] = [{ status: 'pending' }, { status: 'pending', requiresSelection: true }];
const transients: Reply[] = [{ code: 429 }, { code: 500 }, { http: 502 }, { http: 503 }, { http: 408 }];
transients.push({ http: 429, headers: { 'retry-after': '2' } }, { network: true }, { hang: true });
const scenario = fc.record({
  script: fc.array(
    fc.oneof(
      { weight: 6, arbitrary: reply(...pendings) },
      { weight: 3, arbitrary: reply(...transients) },
      { weight: 1, arbitrary: reply(...terminals) },
    ),
    { minLength: 1, maxLength: 40 },
  ),
  expiresInMs: fc.option(fc.integer({ min: -5000, max: 300_000 }), { nil: undefined }),
  timeoutMs: fc.integer({ min: 1, max: 600_000 }),
  requestTimeoutMs: fc.integer({ min: 100, max: 10_000 }),
  latencyMs: fc.integer({ min: 0, max: 3000 }),
  localSkewMs: fc.integer({ min: -600_000, max: 600_000 }),
  serverSkewMs: fc.integer({ min: -3_600_000, max: 3_600_000 }),
  abortAtMs: fc.option(fc.integer({ min: 0, max: 300_000 }), { nil: undefined }),
  seed: fc.double({ min: 0, max: 0.999, noNaN: true }),
});

/** What the first terminal answer of a script should end the wait with. */
function expectedFor(reply: Reply): (outcome: { value?: unknown; error?: unknown }) => boolean {
  if ('status' in reply && reply.status === 'completed') return ({ value }) => value !== undefined;
  if ('status' in reply) return ({ error }) => error instanceof AuthFailedError && error.errorCode === 15045;
  if ('code' in reply && reply.code === 15039) return ({ error }) => error instanceof AuthExpiredError;
  if ('code' in reply) return ({ error }) => error instanceof AitoearnApiError && error.code === reply.code;
  const status = 'http' in reply ? reply.http : undefined;
  const http = (error: unknown) => error instanceof AitoearnTransportError && error.httpStatus === status;
  return ({ error }) => http(error) && !(error instanceof AitoearnApiError);
}

it('always settles, by deadline + 1 s, with the outcome of the first terminal answer (1,000 scripts)', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const clock = new FakeClock(SERVER_START_MS + s.localSkewMs);
      const api = { expiresInMs: s.expiresInMs, serverStartMs: SERVER_START_MS + s.serverSkewMs };
      const { fetch, ...server } = fakeApi(clock, s.script, { ...api, latencyMs: s.latencyMs });
      const client = createAitoearnClient({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9', fetch });
      const controller = new AbortController();
      const reason = new Error('aborted by the property test');
      const abort =
        s.abortAtMs === undefined ? undefined : setTimeout(() => controller.abort(reason), s.abortAtMs);
      const { timeoutMs, requestTimeoutMs, seed } = s;
      const wait = { platform: 'douyin', sessionId: 'sess-1', timeoutMs, requestTimeoutMs, clock };
      const more = { sleep: clock.sleep, random: () => seed, signal: controller.signal };
      const outcome = await clock.drive(waitForAuth(client, { ...wait, ...more })).then(
        (value) => ({ value, error: undefined }),
        (error: unknown) => {
          if (error instanceof Error && error.message.startsWith('Deadlock')) throw error;
          return { value: undefined, error };
        },
      );
      const settledAt = clock.now();
      clearTimeout(abort);

      // Settles no later than deadline + 1 s (and, when aborted, at the abort). The waiter learns
      // expiresAt from the first answer with a session, so before that the deadline is timeoutMs.
      const learnedAt = server.answers[0];
      const expiry = learnedAt === undefined ? Infinity : Math.max(s.expiresInMs ?? Infinity, learnedAt);
      const deadline = Math.min(s.timeoutMs, expiry);
      const bound = Math.min(deadline + 1000, s.abortAtMs ?? Infinity);
      expect(settledAt).toBeLessThanOrEqual(bound + 1);
      expect(clock.pending).toBe(0);
      if (outcome.error === reason) {
        for (const at of server.calls) expect(at).toBeLessThanOrEqual(s.abortAtMs as number);
        return;
      }

      // Never a request after a terminal answer; the outcome matches the first one reached.
      const answered = server.calls.length;
      const replyTo = (i: number) => s.script[Math.min(i, s.script.length - 1)] as Reply;
      const firstTerminal = server.calls.findIndex(
        (_, i) => server.delivered.has(i) && terminals.includes(replyTo(i)),
      );
      if (firstTerminal !== -1) {
        expect(answered).toBe(firstTerminal + 1);
        expect(expectedFor(replyTo(firstTerminal))(outcome)).toBe(true);
      } else {
        // No terminal answer was reached: the deadline (or the retry budget) ended it.
        const ends = [AuthExpiredError, AuthTimeoutError, AitoearnUnavailableError];
        expect(ends.some((end) => outcome.error instanceof end)).toBe(true);
      }

      // Requests stay under the schedule's bound: at least 900 ms apart, plus the first and the final check.
      const span = Math.max(0, Math.min(settledAt, deadline + 1000));
      expect(answered).toBeLessThanOrEqual(Math.floor(span / 900) + 2);
    }),
    { numRuns: 1000 },
  );
}, 120_000);
