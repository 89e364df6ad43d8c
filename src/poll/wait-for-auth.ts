import pRetry, { AbortError, type Options as PRetryOptions } from 'p-retry';
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
import { backoffDelay } from './backoff.js';
import {
  type AuthProgress,
  type ResolvedWaitOptions,
  resolveWaitOptions,
  systemClock,
  type WaitForAuthOptions,
} from './options.js';
import { clockRequestTimer, queueRequestTimer } from './request-timer.js';
import { ServerClock } from './server-clock.js';
import { sleep as defaultSleep } from './sleep.js';
import { narrowStatus } from './status.js';
import { Pause, processTimers, type TimerQueue } from './timers.js';

/** The last check is made this long before the deadline, so that its answer can still count. */
const FINAL_CHECK_LEAD_MS = 500;
/** A request in flight at the deadline gets this much longer to answer (settling stays ≤ deadline + 1 s). */
const REQUEST_GRACE_MS = 500;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Stands in for a poke as the reason a sleep was cut short; never leaves the waiter. */
const POKED = Object.freeze(new Error('poked'));

/**
 * One wait: the schedule, the deadline and the state between checks.
 *
 * What p-retry owns: whether a failed request is tried again. Each of its attempts is the request and
 * nothing else; it counts them (`attemptNumber`: failures in a row), keeps the `retries` budget, and its
 * `shouldRetry` judges only the request's error (`isTransient`). It never waits (it could only use the
 * global `setTimeout`): once it has decided to retry, the waiter waits for the retry's slot on its own
 * injectable clock before answering. Progress reports and the caller's `sleep` run in that wait, after the
 * decision; whatever they throw stops the wait with that very error, never judged as a failure of the API.
 */
export class AuthWaiter {
  readonly #client: AitoearnClient;
  readonly #o: ResolvedWaitOptions;
  readonly #sink: ((event: AuthProgress) => void) | undefined;
  /** Ends requests and sleeps: the caller's abort, watchAuth's `return()`, or a callback that threw. */
  readonly #stop = new AbortController();
  #stopped: { readonly reason: unknown } | undefined;
  /** Cuts sleeps short; one serves every sleep until a poke or the stop uses it up. */
  #wake: AbortController | undefined;
  #sleeping = false;
  /** With the default `sleep`: the process's timer queue, and this wait's pause on it (no timer of its own). */
  readonly #queue: TimerQueue | undefined;
  readonly #pause: Pause | undefined;
  /** Times each request on the waiter's clock; never the caller's `sleep` on the system clock. */
  readonly #requestTimer: RequestTimer;
  readonly #onCallerAbort = (reason: unknown) => this.stop(reason);
  readonly #serverClock = new ServerClock();
  readonly #startedAt: number;
  readonly #timeoutAt: number;
  #expiresAt: number | undefined;
  #session: AuthSession | undefined;
  #attempt = 0;
  #checks = 0;
  /** Failed requests in a row, as p-retry counts them. */
  #failures = 0;
  #lastFailure: unknown;
  #lastRequestAt = Number.NEGATIVE_INFINITY;
  #hintUntil = Number.NEGATIVE_INFINITY;
  #warnedStatus = false;
  #requestId: string | undefined;
  #poked = false;
  #finalCheckPlanned = false;
  readonly #retryOptions: PRetryOptions;

  /** `sink` receives every event after the caller's `onProgress` (watchAuth's queue). */
  constructor(client: AitoearnClient, options: ResolvedWaitOptions, sink?: (event: AuthProgress) => void) {
    this.#client = client;
    this.#o = options;
    this.#sink = sink;
    this.#startedAt = options.clock.now();
    this.#timeoutAt = this.#startedAt + options.timeoutMs;
    this.#queue = options.sleep === defaultSleep ? processTimers() : undefined;
    this.#pause = this.#queue ? new Pause(this.#queue) : undefined;
    this.#requestTimer =
      options.clock === systemClock
        ? queueRequestTimer(processTimers())
        : clockRequestTimer(options.clock.now, options.sleep);
    this.#retryOptions = {
      retries: options.retries,
      // p-retry never sleeps: the waiter's own clock decides when (see #retrySlot).
      minTimeout: 0,
      maxTimeout: 0,
      factor: 1,
      signal: this.#stop.signal,
      onFailedAttempt: ({ error, attemptNumber }) => {
        this.#lastFailure = error;
        this.#failures = attemptNumber;
      },
      // A stopped wait's request fails with the stop's reason, which is never retried, whatever it is.
      shouldRetry: async ({ error }) =>
        !this.#stopped && isTransient(error) && (await this.#retrySlot(error)),
    };
  }

  /** Check as soon as the floor allows (the server's hints, and `initialDelayMs` since the last request). */
  poke(): void {
    this.#poked = true;
    if (this.#sleeping) {
      this.#pause?.interrupt();
      this.#wake?.abort(POKED);
    }
  }

  /** Ends the wait: it rejects with `reason`, sends nothing more and clears its timers. */
  stop(reason: unknown): void {
    if (this.#stopped) return;
    this.#stopped = { reason };
    this.#stop.abort(reason);
    this.#pause?.interrupt();
    this.#wake?.abort(reason);
  }

  async run(): Promise<AuthSession> {
    const signal = this.#o.signal;
    if (signal === undefined) return this.#loop();
    signal.throwIfAborted();
    linkAbort(signal, this.#onCallerAbort);
    try {
      return await this.#loop();
    } finally {
      unlinkAbort(signal, this.#onCallerAbort);
    }
  }

  async #loop(): Promise<AuthSession> {
    // In a burst of starts in one tick, the first few send at once and the rest in the timer queue's next
    // batches, so that thousands of calls return at once and the event loop keeps turning; a lone wait
    // (or one started later) still sends its first request at once.
    if (this.#queue !== undefined && !this.#queue.mayStartNow()) {
      await this.#pause?.soon();
      if (this.#stopped) throw this.#stopped.reason;
    }
    for (;;) {
      const { session, requestId } = await this.#check();
      this.#requestId = requestId;
      this.#checks += 1;
      this.#failures = 0;
      this.#lastFailure = undefined;
      // Already frozen, known fields only, by the client's decoder: nothing here walks the answer.
      this.#session = session;
      if (session.expiresAt !== undefined)
        this.#expiresAt = this.#serverClock.toMonotonic(Date.parse(session.expiresAt));
      let warning: string | undefined;
      switch (narrowStatus(session.status)) {
        case 'completed':
          this.#report('status', undefined, undefined);
          return session;
        case 'failed':
          this.#report('status', undefined, undefined);
          throw this.#withSession(new AuthFailedError(session));
        case 'pending':
          break;
        default: {
          // A status this version does not know: keep waiting (it is not an end we can name), warn once.
          // A new value in the spec's enum fails the type check in ./status.ts; a plain string lands here.
          if (!this.#warnedStatus) {
            this.#warnedStatus = true;
            warning = `Unknown session status ${JSON.stringify(session.status)}; treating it as pending`;
          }
        }
      }
      const now = this.#o.clock.now();
      if (this.#expiresAt !== undefined && now >= this.#expiresAt) {
        this.#report('status', undefined, warning);
        throw this.#deadlineOutcome(undefined);
      }
      const desired = Math.max(now + backoffDelay(this.#checks, this.#o, this.#o.random), this.#hintUntil);
      const next = this.#plan(desired, now);
      this.#report('status', undefined, warning, next);
      await this.#sleepUntil(next ?? this.#deadline());
      // With no check left, only a poke wakes us before the deadline; then we do check once more.
      if (next === undefined && this.#o.clock.now() >= this.#deadline())
        throw this.#deadlineOutcome(undefined);
    }
  }

  #deadline(): number {
    return Math.min(this.#timeoutAt, this.#expiresAt ?? Number.POSITIVE_INFINITY);
  }

  /**
   * When to send the next request, wanting `desired`; undefined when none fits before the deadline. The
   * final check is made once: each answer refines the deadline a little, which must not buy another. Like a
   * poke, it keeps `initialDelayMs` after the last request (and the server's hints).
   */
  #plan(desired: number, now: number): number | undefined {
    if (this.#finalCheckPlanned) return undefined;
    const deadline = this.#deadline();
    const finalCheckAt = deadline - FINAL_CHECK_LEAD_MS;
    if (desired < finalCheckAt) return desired;
    const at = Math.max(finalCheckAt, now, this.#lastRequestAt + this.#o.initialDelayMs, this.#hintUntil);
    if (at >= deadline) return undefined;
    this.#finalCheckPlanned = true;
    return at;
  }

  /** One status answer; p-retry retries the transient failures of its request (see the class comment). */
  #check(): Promise<AuthStatusResult> {
    // Most checks are answered at the first attempt, which needs no p-retry run. A failed first attempt is
    // handed to p-retry as the error of its own first attempt, so it is judged and counted the same.
    return this.#request()
      .catch((first: unknown) => {
        let handedOver = false;
        const attempt = (): Promise<AuthStatusResult> => {
          if (handedOver) return this.#request();
          handedOver = true;
          return Promise.reject(first);
        };
        return pRetry(attempt, this.#retryOptions);
      })
      .catch((error: unknown) => {
        if (this.#stopped) throw this.#stopped.reason;
        if (isTransient(error)) throw this.#unavailable(error);
        if (error instanceof AitoearnApiError && error.kind === 'session-invalid') {
          throw this.#withSession(
            new AuthExpiredError(
              `Session ${this.#o.sessionId} is invalid or expired (the API answered code 15039)`,
              this.#session,
              { cause: error },
            ),
          );
        }
        throw error instanceof AitoearnError ? this.#withSession(error) : error;
      });
  }

  /**
   * After p-retry decided that `error` is worth retrying: reports it, waits for the retry's slot, and says
   * whether there is still time for it (false makes p-retry reject with `error`: unavailable).
   */
  async #retrySlot(error: unknown): Promise<boolean> {
    const now = this.#o.clock.now();
    const hinted = error instanceof AitoearnResponseError ? error.retryAfterMs : undefined;
    if (hinted !== undefined) this.#hintUntil = Math.max(this.#hintUntil, now + hinted);
    const desired = Math.max(now + backoffDelay(this.#failures, this.#o, this.#o.random), this.#hintUntil);
    const next = this.#plan(desired, now);
    this.#report('retry', error, undefined, next);
    await this.#sleepUntil(next ?? this.#deadline());
    return next !== undefined || this.#o.clock.now() < this.#deadline();
  }

  readonly #request = async (): Promise<AuthStatusResult> => {
    const { clock } = this.#o;
    const sentAt = clock.now();
    const timeoutMs = Math.min(this.#o.requestTimeoutMs, this.#deadline() + REQUEST_GRACE_MS - sentAt);
    if (timeoutMs <= 0) throw new AbortError(this.#deadlineOutcome(this.#lastFailure));
    this.#attempt += 1;
    this.#lastRequestAt = sentAt;
    const { platform, sessionId } = this.#o;
    const result = await requestAuthStatus(
      this.#client,
      { platform, sessionId, signal: this.#stop.signal },
      Math.min(timeoutMs, MAX_TIMER_MS),
      this.#requestTimer,
    );
    this.#serverClock.observe(result.serverDateMs, sentAt, clock.now(), clock.wallNow);
    return result;
  };

  /** Sleeps until `target` on the injected clock; a poke wakes it early, but never before the floor. */
  async #sleepUntil(target: number): Promise<void> {
    for (;;) {
      if (this.#stopped) throw this.#stopped.reason;
      const now = this.#o.clock.now();
      if (this.#poked) {
        this.#poked = false;
        target = Math.min(
          target,
          Math.max(now, this.#lastRequestAt + this.#o.initialDelayMs, this.#hintUntil),
        );
      }
      if (now >= target) return;
      const ms = Math.min(target - now, MAX_TIMER_MS);
      if (this.#queue !== undefined && this.#pause !== undefined) {
        // The default sleep: a timer in the process's queue, which poke() and stop() interrupt.
        this.#sleeping = true;
        try {
          await this.#pause.until(this.#queue.now() + ms);
        } finally {
          this.#sleeping = false;
        }
        continue;
      }
      let wake = this.#wake;
      if (wake === undefined || wake.signal.aborted) {
        wake = new AbortController();
        this.#wake = wake;
      }
      this.#sleeping = true;
      try {
        await this.#o.sleep(ms, wake.signal);
      } catch (error) {
        // The caller's sleep failed on its own: that ends the wait with its error, as a callback's would.
        if (!wake.signal.aborted) this.stop(error);
      } finally {
        this.#sleeping = false;
      }
      // A sleep that returned early is asked again for the rest, after the I/O ready now: one that always
      // returns at once must not hold the event loop.
      if (!this.#stopped && !this.#poked && this.#o.clock.now() < target) await nextTurn();
    }
  }

  #deadlineOutcome(cause: unknown): AitoearnError {
    if (cause !== undefined && isTransient(cause)) return this.#unavailable(cause);
    const options = cause === undefined ? undefined : { cause };
    if (this.#expiresAt !== undefined && this.#expiresAt <= this.#timeoutAt) {
      return this.#withSession(
        new AuthExpiredError(
          `Session ${this.#o.sessionId} expired at ${this.#session?.expiresAt} before the authorization finished (last status: ${this.#session?.status})`,
          this.#session,
          options,
        ),
      );
    }
    return this.#withSession(new AuthTimeoutError(this.#o.timeoutMs, this.#session, options));
  }

  /**
   * Transient failures until the retry budget or the deadline ran out. When they lasted until `expiresAt`,
   * the person may have finished meanwhile: that is named, never reported as expired.
   */
  #unavailable(cause: unknown): AitoearnUnavailableError {
    const expiresAt = this.#expiresAt;
    const expired =
      expiresAt !== undefined && expiresAt <= this.#timeoutAt && this.#o.clock.now() >= expiresAt;
    return this.#withSession(
      new AitoearnUnavailableError(
        this.#failures,
        this.#session,
        cause,
        expired ? this.#session?.expiresAt : undefined,
      ),
    );
  }

  #withSession<E extends AitoearnError>(error: E): E {
    if (error.session === undefined && this.#session !== undefined) {
      Object.defineProperty(error, 'session', { value: this.#session, enumerable: true });
    }
    return error;
  }

  /**
   * Builds a frozen event only when someone reads it. An `onProgress` that throws stops the wait with its
   * error, at once.
   */
  #report(type: AuthProgress['type'], error: unknown, warning: string | undefined, next?: number): void {
    const onProgress = this.#o.onProgress;
    if (onProgress === undefined && this.#sink === undefined) return;
    const now = this.#o.clock.now();
    const session = this.#session;
    const event: AuthProgress = Object.freeze({
      type,
      attempt: this.#attempt,
      elapsedMs: Math.round(Math.max(0, now - this.#startedAt)),
      remainingMs: Math.round(Math.max(0, this.#deadline() - now)),
      nextDelayMs: next === undefined ? undefined : Math.round(Math.max(0, next - now)),
      session,
      status: session?.status,
      selectionRequired: session?.status === 'pending' && session.requiresSelection === true,
      requestId:
        type === 'retry'
          ? error instanceof AitoearnResponseError
            ? error.requestId
            : undefined
          : this.#requestId,
      error: error instanceof Error ? error : undefined,
      warning: warning ?? (error instanceof Error ? error.message : undefined),
    });
    if (onProgress !== undefined) {
      try {
        onProgress(event);
      } catch (thrown) {
        this.stop(thrown);
        throw thrown;
      }
    }
    this.#sink?.(event);
  }
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
    const resolved = resolveWaitOptions(options, client.requestTimeoutMs);
    return new AuthWaiter(client, resolved).run();
  } catch (error) {
    return Promise.reject(error);
  }
}
