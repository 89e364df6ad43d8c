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
  type AitoearnResponseError,
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

/**
 * One wait, as `@smithy/util-waiter`'s poller: check, decide, sleep, again, its state in the loop's local
 * variables. p-retry retries one failed request (transient failures only) with its own backoff inside the
 * time left. `poke()` ends the current sleep early; `sink` gets every event after `onProgress` (watchAuth).
 */
export function createWaiter(
  client: AitoearnClient,
  o: ResolvedWaitOptions,
  sink?: (e: AuthProgress) => void,
) {
  const { clock, sleep } = o;
  const stopper = new AbortController();
  // A poke aborts it; the loop replaces it once it has seen that.
  let wake = new AbortController();
  const stop = (reason: unknown) => {
    stopper.abort(reason);
    wake.abort(reason);
  };

  /** Sleeps on `clock` until `target`; a sleep that returns early is asked again, after pending I/O. */
  const sleepTo = async (target: number, signal: AbortSignal) => {
    while (clock.now() < target) {
      signal.throwIfAborted();
      await sleep(Math.min(Math.ceil(target - clock.now()), MAX_TIMER_MS), signal);
      if (clock.now() < target) await new Promise((resolve) => setImmediate(resolve));
    }
  };

  // On an injected clock a request's timeout is a due time only its sleep can wait for (else the shared
  // timer queue). A sleep that fails on its own ends the wait, so that a hanging server cannot hold it past
  // the deadline.
  const timer: RequestTimer = o.ownClock
    ? (ms, onTimeout) => {
        const cancel = new AbortController();
        sleepTo(clock.now() + ms, cancel.signal).then(
          () => cancel.signal.aborted || onTimeout(),
          (error: unknown) => cancel.signal.aborted || stop(error),
        );
        return () => cancel.abort();
      }
    : (ms, onTimeout) => {
        const queued = processTimers().after(ms, onTimeout);
        return () => processTimers().cancel(queued);
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
    let lastFailure: AitoearnResponseError | undefined;
    let lastRequestAt = Number.NEGATIVE_INFINITY;
    let hintUntil = Number.NEGATIVE_INFINITY;
    let poked = false;
    let warned = false;
    // What the caller's callback or sleep threw inside a p-retry run: it ends the wait as it is.
    let thrown: { error: unknown } | undefined;
    const deadline = () => Math.min(timeoutAt, expiresAt ?? Number.POSITIVE_INFINITY);
    const expiryRules = () => expiresAt !== undefined && expiresAt <= timeoutAt;
    // No request sooner than the server's hints allow, nor than `initialDelayMs` after the last one.
    const floor = () => Math.max(hintUntil, lastRequestAt + o.initialDelayMs);

    // An outage that lasted until `expiresAt` is named as such: the person may have finished meanwhile.
    const unavailable = (cause: unknown) => {
      const at = expiryRules() && clock.now() >= deadline() ? session?.expiresAt : undefined;
      return new AitoearnUnavailableError(failures, session, cause, at);
    };
    const atDeadline = (): AitoearnError => {
      if (lastFailure !== undefined) return unavailable(lastFailure);
      if (!expiryRules()) return new AuthTimeoutError(o.timeoutMs, session);
      const what = `expired at ${session?.expiresAt} before the authorization finished (last status: ${session?.status})`;
      return new AuthExpiredError(`Session ${o.sessionId} ${what}`, session);
    };
    const failure = (error: unknown): unknown => {
      if (error instanceof AitoearnApiError && error.kind === 'session-invalid') {
        const message = `Session ${o.sessionId} is invalid or expired (the API answered code 15039)`;
        return new AuthExpiredError(message, session, { cause: error });
      }
      if (isTransient(error)) return unavailable(error);
      if (error instanceof AitoearnError && error.session === undefined && session !== undefined) {
        Object.defineProperty(error, 'session', { value: session, enumerable: true });
      }
      return error;
    };

    const emit = async (next?: number, error?: AitoearnResponseError, warning = error?.message) => {
      if (o.onProgress === undefined && sink === undefined) return;
      const now = clock.now();
      const event: AuthProgress = Object.freeze({
        type: error === undefined ? 'status' : 'retry',
        attempt,
        elapsedMs: Math.round(Math.max(0, now - startedAt)),
        remainingMs: Math.round(Math.max(0, deadline() - now)),
        nextDelayMs: next === undefined ? undefined : Math.round(Math.max(0, next - now)),
        session,
        status: session?.status,
        selectionRequired: session?.status === 'pending' && session.requiresSelection === true,
        requestId: error === undefined ? requestId : error.requestId,
        error,
        warning,
      });
      await o.onProgress?.(event);
      sink?.(event);
    };

    /** Sleeps until `target`. A poke ends it: the first at once, later ones no sooner than `initialDelayMs`
     * after the last request (a flood of forged callbacks must not become a hot loop); hints are floors. */
    const sleepUntil = async (target: number): Promise<void> => {
      for (;;) {
        stopper.signal.throwIfAborted();
        if (wake.signal.aborted) {
          wake = new AbortController();
          const now = clock.now();
          target = Math.min(target, Math.max(now, poked ? floor() : hintUntil));
          poked = true;
        }
        try {
          return await sleepTo(target, wake.signal);
        } catch (error) {
          if (!wake.signal.aborted) throw error;
        }
      }
    };

    const params = { platform: o.platform, sessionId: o.sessionId, signal: stopper.signal };
    const request = async (): Promise<AuthStatusResult> => {
      const sentAt = clock.now();
      const timeoutMs = Math.min(o.requestTimeoutMs, deadline() + REQUEST_GRACE_MS - sentAt);
      if (timeoutMs <= 0) throw new AbortError(atDeadline());
      attempt += 1;
      lastRequestAt = sentAt;
      const result = await requestAuthStatus(client, params, timeoutMs, timer);
      serverClock.observe(result.serverDateMs, sentAt, clock.now(), clock.wallNow);
      return result;
    };
    const own = (error: unknown) => {
      thrown = { error };
      return new AbortError('thrown by the caller');
    };

    // Most checks succeed at once and need no p-retry run; a failed one is handed to p-retry as the
    // failure of its first attempt, so that it is judged, counted and reported the same.
    const check = () =>
      request().catch((first: unknown) =>
        pRetry(
          async (n) => {
            if (n === 1) throw first;
            if (floor() >= deadline()) throw new AbortError(lastFailure as Error);
            await sleepUntil(floor()).catch((error: unknown) => {
              throw own(error);
            });
            return request();
          },
          {
            retries: o.retries,
            minTimeout: o.initialDelayMs,
            maxTimeout: o.maxDelayMs,
            factor: o.factor,
            // The last retry lands on the final check.
            maxRetryTime: Math.max(0, deadline() - FINAL_CHECK_LEAD_MS - clock.now()),
            signal: stopper.signal,
            shouldRetry: ({ error }) => isTransient(error),
            // Called before shouldRetry, for every failure: only transient ones are reported.
            onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
              if (stopper.signal.aborted || !isTransient(error)) return;
              lastFailure = error as AitoearnResponseError;
              failures = attemptNumber;
              const now = clock.now();
              hintUntil = Math.max(hintUntil, now + (lastFailure.retryAfterMs ?? Number.NEGATIVE_INFINITY));
              // p-retry's delay, clipped to the final check, with our floors.
              const delay = Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** (attemptNumber - 1));
              const finalAt = deadline() - FINAL_CHECK_LEAD_MS;
              const at = Math.max(Math.min(now + delay, finalAt), floor());
              const next = retriesLeft > 0 && now < finalAt && at < deadline() ? at : undefined;
              await emit(next, lastFailure).catch((error: unknown) => {
                throw own(error);
              });
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
        if (thrown) throw thrown.error;
        // A transient failure within the budget means p-retry ran out of time: wait for the deadline.
        if (!isTransient(error) || failures > o.retries) throw failure(error);
      }
      let next: number | undefined;
      if (result !== undefined) {
        ({ session, requestId } = result);
        checks += 1;
        failures = 0;
        lastFailure = undefined;
        // A spec that drops `format: date-time` must not turn the deadline into NaN (a wait without end).
        const expiry = Date.parse(session.expiresAt ?? '');
        if (Number.isFinite(expiry)) expiresAt = serverClock.toMonotonic(expiry);
        const status = narrowStatus(session.status);
        if (status === 'completed' || status === 'failed') {
          await emit();
          if (status === 'completed') return session;
          throw new AuthFailedError(session);
        }
        const warning: string | undefined =
          status === undefined && !warned
            ? `Unknown session status ${JSON.stringify(session.status)}; treating it as pending`
            : undefined;
        warned ||= warning !== undefined;
        const now = clock.now();
        if (now >= deadline()) {
          await emit(undefined, undefined, warning);
          throw atDeadline();
        }
        // Past the final check's time, one more check at it, unless one was made there already.
        const finalAt = deadline() - FINAL_CHECK_LEAD_MS;
        next = Math.max(now + backoffDelay(checks, o, o.random), hintUntil);
        if (next >= finalAt) {
          next = lastRequestAt >= finalAt ? undefined : Math.max(finalAt, floor());
        }
        if (next !== undefined && next >= deadline()) next = undefined;
        await emit(next, undefined, warning);
      }
      await sleepUntil(next ?? deadline());
      if (next === undefined && clock.now() >= deadline()) throw atDeadline();
    }
  }

  return {
    poke: () => wake.abort(),
    stop,
    async run() {
      const { signal } = o;
      signal?.throwIfAborted();
      if (signal) linkAbort(signal, stop);
      return loop().finally(() => signal && unlinkAbort(signal, stop));
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
export async function waitForAuth(client: AitoearnClient, options: WaitForAuthOptions): Promise<AuthSession> {
  checkClient(client);
  return createWaiter(client, resolveWaitOptions(options, client.requestTimeoutMs)).run();
}
