import pRetry, { AbortError } from 'p-retry';
import { linkAbort, unlinkAbort } from '../abort-link.js';
import {
  type AitoearnClient,
  type AuthSession,
  type AuthStatusResult,
  checkClient,
  type RequestTimer,
  requestAuthStatus,
} from '../client.js';
import {
  AitoearnApiError,
  AitoearnError,
  AitoearnResponseError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  AuthTimeoutError,
  isTransient,
} from '../errors.js';
import { MAX_TIMER_MS } from '../validate.js';
import { admit } from './admit.js';
import { backoffDelay } from './backoff.js';
import {
  type AuthProgress,
  type ResolvedWaitOptions,
  resolveWaitOptions,
  type WaitForAuthOptions,
} from './options.js';
import { ServerClock } from './server-clock.js';
import { narrowStatus } from './status.js';
import { processTimers } from './timers.js';

/** The last check is made this long before the deadline, so that its answer can still count. */
const FINAL_CHECK_LEAD_MS = 500;
/** A request in flight at the deadline gets this much longer to answer (settling stays ≤ deadline + 1 s). */
const REQUEST_GRACE_MS = 500;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What a caller's callback or sleep threw inside a p-retry run, carried out of it untouched. */
class Thrown extends Error {
  constructor(readonly error: unknown) {
    super('thrown by a callback');
  }
}

/** One wait: `run()` is the loop; `poke()` ends its current sleep early; `stop()` ends it with `reason`. */
export interface Waiter {
  run(): Promise<AuthSession>;
  poke(): void;
  stop(reason: unknown): void;
}

/**
 * The waiter, as `@smithy/util-waiter`'s poller: check, decide, sleep, again. Its state is the loop's local
 * variables. p-retry retries one failed request (transient failures only) with its own backoff, inside the
 * time left; the loop's sleeps and every request's timeout run on the injected clock and sleep.
 * `sink` receives every event after `onProgress` (watchAuth's queue).
 */
export function createWaiter(
  client: AitoearnClient,
  o: ResolvedWaitOptions,
  sink?: (event: AuthProgress) => void,
): Waiter {
  const { clock, sleep } = o;
  const stopper = new AbortController();
  // A poke aborts it; the loop replaces it once it has seen that.
  let wake = new AbortController();
  const stop = (reason: unknown) => {
    stopper.abort(reason);
    wake.abort(reason);
  };

  // On a given clock, a request's timeout is a due time that only its sleep can wait for. A sleep that
  // fails on its own ends the wait, so that a hanging server cannot hold it past the deadline.
  const timer: RequestTimer = !o.ownClock
    ? (ms, onTimeout) => {
        const queued = processTimers().after(ms, onTimeout);
        return () => processTimers().cancel(queued);
      }
    : (ms, onTimeout) => {
        const due = clock.now() + ms;
        const cancel = new AbortController();
        (async () => {
          for (let left = ms; left > 0; left = due - clock.now()) {
            await sleep(Math.min(Math.ceil(left), MAX_TIMER_MS), cancel.signal);
            if (cancel.signal.aborted) return;
            if (clock.now() < due) await nextTurn();
          }
          if (!cancel.signal.aborted) onTimeout();
        })().catch((error: unknown) => {
          if (!cancel.signal.aborted) stop(error);
        });
        return () => cancel.abort();
      };

  async function loop(): Promise<AuthSession> {
    const startedAt = clock.now();
    const timeoutAt = startedAt + o.timeoutMs;
    const serverClock = new ServerClock();
    let session: AuthSession | undefined;
    let requestId: string | undefined;
    let expiresAt: number | undefined;
    let attempt = 0;
    let checks = 0;
    let failures = 0;
    let lastFailure: unknown;
    let lastRequestAt = Number.NEGATIVE_INFINITY;
    let hintUntil = Number.NEGATIVE_INFINITY;
    let pokes = 0;
    let warned = false;
    const deadline = () => Math.min(timeoutAt, expiresAt ?? Number.POSITIVE_INFINITY);

    const withSession = <E extends AitoearnError>(error: E): E => {
      if (error.session === undefined && session !== undefined) {
        Object.defineProperty(error, 'session', { value: session, enumerable: true });
      }
      return error;
    };
    // Transient failures until the budget or the deadline ran out. An outage that lasted until `expiresAt`
    // is named as such: the person may have finished meanwhile.
    const unavailable = (cause: unknown) => {
      const expired = expiresAt !== undefined && expiresAt <= timeoutAt && clock.now() >= expiresAt;
      const at = expired ? session?.expiresAt : undefined;
      return withSession(new AitoearnUnavailableError(failures, session, cause, at));
    };
    const atDeadline = (cause: unknown): AitoearnError => {
      if (cause !== undefined && isTransient(cause)) return unavailable(cause);
      const options = cause === undefined ? undefined : { cause };
      if (expiresAt !== undefined && expiresAt <= timeoutAt) {
        const what = `expired at ${session?.expiresAt} before the authorization finished (last status: ${session?.status})`;
        return withSession(new AuthExpiredError(`Session ${o.sessionId} ${what}`, session, options));
      }
      return withSession(new AuthTimeoutError(o.timeoutMs, session, options));
    };
    const failure = (error: unknown): unknown => {
      if (error instanceof AitoearnApiError && error.kind === 'session-invalid') {
        const message = `Session ${o.sessionId} is invalid or expired (the API answered code 15039)`;
        return withSession(new AuthExpiredError(message, session, { cause: error }));
      }
      if (isTransient(error)) return unavailable(error);
      return error instanceof AitoearnError ? withSession(error) : error;
    };

    const emit = async (type: AuthProgress['type'], next?: number, error?: unknown, warning?: string) => {
      if (o.onProgress === undefined && sink === undefined) return;
      const now = clock.now();
      const event: AuthProgress = Object.freeze({
        type,
        attempt,
        elapsedMs: Math.round(Math.max(0, now - startedAt)),
        remainingMs: Math.round(Math.max(0, deadline() - now)),
        nextDelayMs: next === undefined ? undefined : Math.round(Math.max(0, next - now)),
        session,
        status: session?.status,
        selectionRequired: session?.status === 'pending' && session.requiresSelection === true,
        requestId:
          type === 'status'
            ? requestId
            : error instanceof AitoearnResponseError
              ? error.requestId
              : undefined,
        error: error instanceof Error ? error : undefined,
        warning: warning ?? (error instanceof Error ? error.message : undefined),
      });
      await o.onProgress?.(event);
      sink?.(event);
    };

    /** Sleeps until `target`. A poke ends it: the first at once, later ones no sooner than `initialDelayMs`
     * after the last request (a flood of forged callbacks must not become a hot loop); hints are floors. */
    const sleepUntil = async (target: number): Promise<void> => {
      for (;;) {
        stopper.signal.throwIfAborted();
        const now = clock.now();
        if (wake.signal.aborted) {
          wake = new AbortController();
          const floor = pokes++ === 0 ? now : lastRequestAt + o.initialDelayMs;
          target = Math.min(target, Math.max(now, floor, hintUntil));
        }
        if (now >= target) return;
        const { signal } = wake;
        try {
          await sleep(Math.min(Math.ceil(target - now), MAX_TIMER_MS), signal);
        } catch (error) {
          if (!signal.aborted) throw error;
          continue;
        }
        // One that returned early is asked again after pending I/O, so that it cannot hold the event loop.
        if (clock.now() < target) await nextTurn();
      }
    };

    const request = async (): Promise<AuthStatusResult> => {
      const sentAt = clock.now();
      const timeoutMs = Math.min(o.requestTimeoutMs, deadline() + REQUEST_GRACE_MS - sentAt);
      if (timeoutMs <= 0) throw new AbortError(atDeadline(lastFailure));
      attempt += 1;
      lastRequestAt = sentAt;
      const params = { platform: o.platform, sessionId: o.sessionId, signal: stopper.signal };
      const result = await requestAuthStatus(client, params, timeoutMs, timer);
      serverClock.observe(result.serverDateMs, sentAt, clock.now(), clock.wallNow);
      return result;
    };

    // Most checks succeed at once and need no p-retry run; a failed one is handed to p-retry as the
    // failure of its first attempt, so that it is judged, counted and reported the same.
    const check = () =>
      request().catch((first: unknown) =>
        pRetry(
          async (n) => {
            if (n === 1) throw first;
            // A retry keeps the server's hints and `initialDelayMs` after the last request as floors.
            const floor = Math.max(hintUntil, lastRequestAt + o.initialDelayMs);
            if (floor >= deadline()) throw new AbortError(lastFailure as Error);
            // The caller's sleep may throw anything: p-retry must neither judge nor wrap it.
            await sleepUntil(floor).catch((error: unknown) => {
              throw new AbortError(new Thrown(error));
            });
            return request();
          },
          {
            retries: o.retries,
            minTimeout: o.initialDelayMs,
            maxTimeout: o.maxDelayMs,
            factor: o.factor,
            // The last retry lands on the final check; p-retry clips its delays to this.
            maxRetryTime: Math.max(0, deadline() - FINAL_CHECK_LEAD_MS - clock.now()),
            signal: stopper.signal,
            shouldRetry: ({ error }) => isTransient(error),
            // Called before shouldRetry, for every failure: only transient ones are reported.
            onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
              if (stopper.signal.aborted || !isTransient(error)) return;
              failures = attemptNumber;
              lastFailure = error;
              const now = clock.now();
              const hinted = error instanceof AitoearnResponseError ? error.retryAfterMs : undefined;
              if (hinted !== undefined) hintUntil = Math.max(hintUntil, now + hinted);
              const delay = Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** (attemptNumber - 1));
              const finalAt = deadline() - FINAL_CHECK_LEAD_MS;
              const at = Math.max(
                Math.min(now + delay, finalAt),
                hintUntil,
                lastRequestAt + o.initialDelayMs,
              );
              const next = retriesLeft > 0 && now < finalAt && at < deadline() ? at : undefined;
              try {
                await emit('retry', next, error);
              } catch (thrown) {
                throw new Thrown(thrown);
              }
            },
          },
        ),
      );

    const admitted = admit(stopper.signal);
    if (admitted !== undefined) await admitted;
    stopper.signal.throwIfAborted();
    for (;;) {
      let result: AuthStatusResult | undefined;
      try {
        result = await check();
      } catch (error) {
        if (stopper.signal.aborted) throw stopper.signal.reason;
        if (error instanceof Thrown) throw error.error;
        // A transient failure within the budget means p-retry ran out of time: wait for the deadline.
        if (!isTransient(error) || failures > o.retries) throw failure(error);
      }
      let next: number | undefined;
      if (result !== undefined) {
        ({ session, requestId } = result);
        checks += 1;
        failures = 0;
        lastFailure = undefined;
        // The decoder holds expiresAt to RFC 3339 while the spec says `format: date-time`; a spec that drops
        // the format must not turn the deadline into NaN (every comparison false: a wait without end).
        const expiry = Date.parse(session.expiresAt ?? '');
        if (Number.isFinite(expiry)) expiresAt = serverClock.toMonotonic(expiry);
        const status = narrowStatus(session.status);
        if (status === 'completed') {
          await emit('status');
          return session;
        }
        if (status === 'failed') {
          await emit('status');
          throw withSession(new AuthFailedError(session));
        }
        let warning: string | undefined;
        if (status === undefined && !warned) {
          // A status newer than this package (a new enum value fails the type check in ./status.ts).
          warned = true;
          warning = `Unknown session status ${JSON.stringify(session.status)}; treating it as pending`;
        }
        const now = clock.now();
        if (expiresAt !== undefined && now >= expiresAt) {
          await emit('status', undefined, undefined, warning);
          throw atDeadline(undefined);
        }
        // The final check is made once; a deadline moved later by an answer plans checks again.
        const finalAt = deadline() - FINAL_CHECK_LEAD_MS;
        next = Math.max(now + backoffDelay(checks, o, o.random), hintUntil);
        if (next >= finalAt) {
          next =
            lastRequestAt >= finalAt
              ? undefined
              : Math.max(finalAt, lastRequestAt + o.initialDelayMs, hintUntil);
          if (next !== undefined && next >= deadline()) next = undefined;
        }
        await emit('status', next, undefined, warning);
      }
      await sleepUntil(next ?? deadline());
      if (next === undefined && clock.now() >= deadline()) throw atDeadline(lastFailure);
    }
  }

  return {
    poke: () => wake.abort(),
    stop,
    async run() {
      const signal = o.signal;
      if (signal === undefined) return loop();
      signal.throwIfAborted();
      linkAbort(signal, stop);
      try {
        return await loop();
      } finally {
        unlinkAbort(signal, stop);
      }
    },
  };
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
export function waitForAuth(client: AitoearnClient, options: WaitForAuthOptions): Promise<AuthSession> {
  try {
    checkClient(client);
    return createWaiter(client, resolveWaitOptions(options, client.requestTimeoutMs)).run();
  } catch (error) {
    return Promise.reject(error);
  }
}
