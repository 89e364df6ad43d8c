import pRetry, { AbortError, type Options } from 'p-retry';
import { linkAbort, unlinkAbort } from '../abort-link.js';
import { type AitoearnClient, type AuthSession, checkClient, requestAuthStatus } from '../client.js';
import {
  AitoearnApiError,
  AitoearnError,
  type AitoearnResponseError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  AuthTimeoutError,
  isTransient,
} from '../errors.js';
import { type ResolvedWaitOptions, resolveWaitOptions, type WaitForAuthOptions } from './options.js';
import { admitNow, clockTimer, queueTimer, sleep, systemClock } from './sleep.js';
import { narrowStatus } from './status.js';

/** The last check is made this long before the deadline, so that its answer can still count. */
const FINAL_CHECK_LEAD_MS = 500;
/** A request in flight at the deadline gets this much longer to answer (settling stays ≤ deadline + 1 s). */
const REQUEST_GRACE_MS = 500;

/** The delay after `step` checks or failures (step ≥ 1): `initialDelayMs` grown by `factor`, capped at `maxDelayMs`. */
const grown = (step: number, o: ResolvedWaitOptions) =>
  Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** (step - 1));

/**
 * One wait, as `@smithy/util-waiter`'s poller: check, decide, sleep, again, its state in local variables.
 * p-retry retries one failed request (transient failures only) with its own backoff inside the time left.
 * `poke()` ends the current sleep early; `stop()` ends the wait.
 */
export function createWaiter(client: AitoearnClient, o: ResolvedWaitOptions) {
  const clock = o.clock ?? systemClock;
  // Why the wait ends at its next step: a stop, or a caller's sleep that failed on its own.
  let ended: { error: unknown } | undefined;
  let pokeWaiting = false;
  // What a stop interrupts: the current sleep (a poke too), the last request (through its timeout; a finished
  // one ignores it) and p-retry's delay.
  let wake = () => {};
  let abortRequest = () => {};
  let retrying: AbortController | undefined;
  const stop = (error: unknown) => {
    ended ??= { error };
    wake();
    abortRequest();
    retrying?.abort(error);
  };
  // The shared queue's timers are cancelled directly: a sleeping wait holds no AbortController.
  const onClock = o.clock || o.sleep ? clockTimer(clock, o.sleep ?? sleep, stop) : queueTimer;
  const [napTimer, requestTimer] = [o.sleep ? onClock : queueTimer, o.clock ? onClock : queueTimer];
  const nap = (timer: typeof queueTimer, ms: number) =>
    new Promise<void>((resolve) => {
      const cancel = timer(ms, resolve);
      wake = () => {
        cancel();
        resolve();
      };
    });

  async function run(): Promise<AuthSession> {
    const { signal } = o;
    signal?.throwIfAborted();
    if (signal) linkAbort(signal, stop);
    const startedAt = clock.now();
    const timeoutAt = startedAt + o.timeoutMs;
    let [deadline, expiresAt] = [timeoutAt, Number.POSITIVE_INFINITY];
    let [session, requestId, lastFailure]: [AuthSession?, string?, AitoearnResponseError?] = [];
    let [attempt, checks, failures, poked, warned] = [0, 0, 0, false, false];
    let [lastRequestAt, hintUntil] = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
    // The server's clock minus ours. Each Date header (1 s resolution) was stamped while its request was in
    // flight: it bounds the offset to [date − receivedAt, date + 1000 − sentAt]. The bounds are intersected
    // (disjoint ones mean the server's clock jumped: the newest wins); the estimate is their middle.
    let [low, high, wallOffset] = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, Number.NaN];
    // No request sooner than the server's hints allow, nor than `initialDelayMs` after the last one.
    const floor = () => Math.max(hintUntil, lastRequestAt + o.initialDelayMs);

    /** The error that ends the wait: for a failed check, or at the deadline (no error). */
    const outcome = (error?: unknown): unknown => {
      if (error instanceof AitoearnApiError && error.kind === 'session-invalid') {
        const message = `Session ${o.sessionId} is invalid or expired (the API answered code 15039)`;
        return new AuthExpiredError(message, session, { cause: error });
      }
      const expiryRules = expiresAt <= timeoutAt;
      const cause = error ?? lastFailure;
      if (cause !== undefined && isTransient(cause)) {
        // An outage that lasted until `expiresAt` is named as such: the person may have finished meanwhile.
        const at = expiryRules && clock.now() >= deadline ? session?.expiresAt : undefined;
        return new AitoearnUnavailableError(failures, session, cause, at);
      }
      if (error === undefined && !expiryRules) return new AuthTimeoutError(o.timeoutMs, session);
      const what = `expired at ${session?.expiresAt} before the authorization finished (last status: ${session?.status})`;
      if (error === undefined) return new AuthExpiredError(`Session ${o.sessionId} ${what}`, session);
      if (error instanceof AitoearnError && error.session === undefined && session !== undefined)
        Object.defineProperty(error, 'session', { value: session, enumerable: true });
      return error;
    };

    const emit = async (next?: number, error?: AitoearnResponseError, warning = error?.message) => {
      const now = clock.now();
      await o.onProgress?.(
        Object.freeze({
          type: error === undefined ? 'status' : 'retry',
          attempt,
          elapsedMs: Math.round(Math.max(0, now - startedAt)),
          remainingMs: Math.round(Math.max(0, deadline - now)),
          nextDelayMs: next === undefined ? undefined : Math.round(Math.max(0, next - now)),
          session,
          status: session?.status,
          selectionRequired: session?.status === 'pending' && session.requiresSelection === true,
          requestId: error === undefined ? requestId : error.requestId,
          error,
          warning,
        }),
      );
    };

    /** Sleeps until `target`. A poke ends it: the first at once, later ones no sooner than `initialDelayMs`
     * after the last request (a flood of forged callbacks must not become a hot loop); hints are floors. */
    const sleepUntil = async (target: number) => {
      for (;;) {
        if (ended) throw ended.error;
        if (pokeWaiting) {
          pokeWaiting = false;
          target = Math.min(target, Math.max(clock.now(), poked ? floor() : hintUntil));
          poked = true;
        }
        const ms = Math.ceil(target - clock.now());
        if (ms <= 0) return;
        await nap(napTimer, ms);
      }
    };

    const params = { platform: o.platform, sessionId: o.sessionId };
    const request = async () => {
      const sentAt = clock.now();
      const timeoutMs = Math.min(o.requestTimeoutMs, deadline + REQUEST_GRACE_MS - sentAt);
      if (timeoutMs <= 0) throw new AbortError(outcome() as Error);
      attempt += 1;
      lastRequestAt = sentAt;
      // Forgotten once the request ends: it holds the request's whole state (its response, its signal).
      const result = await requestAuthStatus(client, params, timeoutMs, (ms, onTimeout) => {
        abortRequest = onTimeout;
        return requestTimer(ms, onTimeout);
      }).finally(() => (abortRequest = () => {}));
      const [date, receivedAt] = [result.serverDateMs, clock.now()];
      if (date === undefined && Number.isNaN(wallOffset)) wallOffset = clock.wallNow() - receivedAt;
      if (date !== undefined) {
        const [lo, hi] = [date - receivedAt, date + 1000 - sentAt];
        [low, high] = lo > high || hi < low ? [lo, hi] : [Math.max(low, lo), Math.min(high, hi)];
      }
      return result;
    };

    // A failed check is handed to p-retry as the failure of its first attempt, so that it is judged, counted
    // and reported the same; most checks succeed at once and need no p-retry run.
    const retry = async (first: unknown) => {
      if (ended) throw first;
      retrying ??= new AbortController();
      const options: Options = {
        retries: o.retries,
        minTimeout: o.initialDelayMs,
        maxTimeout: o.maxDelayMs,
        factor: o.factor,
        // The last retry lands on the final check.
        maxRetryTime: Math.max(0, deadline - FINAL_CHECK_LEAD_MS - clock.now()),
        signal: retrying.signal,
        shouldRetry: ({ error }) => isTransient(error),
        // Called before shouldRetry, for every failure: only transient ones are reported.
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (ended || !isTransient(error)) return;
          lastFailure = error as AitoearnResponseError;
          failures = attemptNumber;
          const now = clock.now();
          hintUntil = Math.max(hintUntil, now + (lastFailure.retryAfterMs ?? Number.NEGATIVE_INFINITY));
          // p-retry's delay (the same growth as the checks'), clipped to the final check, with our floors.
          const finalAt = deadline - FINAL_CHECK_LEAD_MS;
          const at = Math.max(Math.min(now + grown(attemptNumber, o), finalAt), floor());
          // What the callback throws ends the wait as it is, never judged by p-retry.
          await emit(retriesLeft > 0 && now < finalAt && at < deadline ? at : undefined, lastFailure).catch(
            (thrown: unknown) => {
              stop(thrown);
              throw thrown;
            },
          );
        },
      };
      return pRetry(async (n) => {
        if (n === 1) throw first;
        if (floor() >= deadline) throw new AbortError(lastFailure as Error);
        await sleepUntil(floor()).catch(() => {
          throw new AbortError('the wait ended');
        });
        return request();
      }, options);
    };

    try {
      // A burst of starts goes 32 per turn of the event loop; the rest wait for their turn on the queue.
      if (!admitNow()) await nap(queueTimer, 0);
      if (ended) throw ended.error;
      for (;;) {
        const result = await request()
          .catch(retry)
          .catch((error: unknown) => {
            if (ended) throw ended.error;
            // A transient failure within the budget means p-retry ran out of time: wait for the deadline.
            if (!isTransient(error) || failures > o.retries) throw outcome(error);
          });
        let next: number | undefined;
        if (result !== undefined) {
          ({ session, requestId } = result);
          checks += 1;
          failures = 0;
          lastFailure = undefined;
          // A spec that drops `format: date-time` must not turn the deadline into NaN (a wait without end).
          const expiry = Date.parse(session.expiresAt ?? '');
          if (Number.isFinite(expiry))
            expiresAt = expiry - (Number.isFinite(low) ? (low + high) / 2 : wallOffset);
          deadline = Math.min(timeoutAt, expiresAt);
          const status = narrowStatus(session.status);
          if (status === 'completed' || status === 'failed') {
            await emit();
            if (status === 'completed') return session;
            throw new AuthFailedError(session);
          }
          const warning =
            status === undefined && !warned
              ? `Unknown session status ${JSON.stringify(session.status)}; treating it as pending`
              : undefined;
          warned ||= warning !== undefined;
          const now = clock.now();
          if (now >= deadline) {
            await emit(undefined, undefined, warning);
            throw outcome();
          }
          // Past the final check's time, one more check at it, unless one was made there already.
          const finalAt = deadline - FINAL_CHECK_LEAD_MS;
          // Shortened by up to `jitter`, so that waits started together spread out. An injected random that
          // returns NaN or leaves [0, 1) must not collapse the schedule.
          const drawn = o.random();
          const r = drawn >= 0 && drawn < 1 ? drawn : 0;
          next = Math.max(now + Math.round(grown(checks, o) * (1 - o.jitter * r)), hintUntil);
          if (next >= finalAt) next = lastRequestAt >= finalAt ? undefined : Math.max(finalAt, floor());
          if (next !== undefined && next >= deadline) next = undefined;
          await emit(next, undefined, warning);
        }
        await sleepUntil(next ?? deadline);
        if (next === undefined && clock.now() >= deadline) throw outcome();
      }
    } finally {
      if (signal) unlinkAbort(signal, stop);
    }
  }

  const poke = () => {
    pokeWaiting = true;
    wake();
  };
  return { poke, stop, run };
}

/**
 * Waits until an authorization session ends. Resolves with the completed session; rejects with
 * `AuthFailedError`, `AuthExpiredError`, `AuthTimeoutError`, `AitoearnApiError` (terminal business error),
 * `AitoearnUnavailableError`, or the signal's reason when aborted. Options are checked before any request.
 *
 * @example
 * const session = await waitForAuth(client, { platform: 'douyin', sessionId, timeoutMs: 120_000 });
 * console.log(session.accounts?.map((a) => a.displayName));
 */
export async function waitForAuth(client: AitoearnClient, options: WaitForAuthOptions): Promise<AuthSession> {
  checkClient(client);
  return createWaiter(client, resolveWaitOptions(options, client.requestTimeoutMs)).run();
}
