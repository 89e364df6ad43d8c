import pRetry, { AbortError } from 'p-retry';
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
import { processTimers } from './timers.js';

/** The last check is made this long before the deadline, so that its answer can still count. */
const FINAL_CHECK_LEAD_MS = 500;
/** A request in flight at the deadline gets this much longer to answer (settling stays ≤ deadline + 1 s). */
const REQUEST_GRACE_MS = 500;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** One wait: the schedule, the deadline and the state between checks. */
export class AuthWaiter {
  readonly #client: AitoearnClient;
  readonly #o: ResolvedWaitOptions;
  readonly #signal: AbortSignal;
  readonly #emit: (event: AuthProgress) => void;
  readonly #serverClock = new ServerClock();
  readonly #startedAt: number;
  readonly #timeoutAt: number;
  #expiresAt: number | undefined;
  #session: AuthSession | undefined;
  #attempt = 0;
  #checks = 0;
  #failures = 0;
  #lastRequestAt = Number.NEGATIVE_INFINITY;
  #hintUntil = Number.NEGATIVE_INFINITY;
  #warnedStatus = false;
  #requestId: string | undefined;
  #poked = false;
  #finalCheckPlanned = false;
  #wake: AbortController | undefined;
  readonly #requestTimer: RequestTimer;

  constructor(
    client: AitoearnClient,
    options: ResolvedWaitOptions,
    signal: AbortSignal,
    emit: (event: AuthProgress) => void,
  ) {
    this.#client = client;
    this.#o = options;
    this.#signal = signal;
    this.#emit = emit;
    this.#startedAt = options.clock.now();
    // Requests are timed on the waiter's clock by a timer of their own, never by the caller's `sleep`.
    this.#requestTimer =
      options.clock === systemClock
        ? queueRequestTimer(processTimers())
        : clockRequestTimer(options.clock.now, options.sleep);
    this.#timeoutAt = this.#startedAt + options.timeoutMs;
  }

  /** Check as soon as the floor allows (the server's hints, and `initialDelayMs` since the last request). */
  poke(): void {
    this.#poked = true;
    this.#wake?.abort();
  }

  async run(): Promise<AuthSession> {
    this.#signal.throwIfAborted();
    for (;;) {
      const { session, requestId } = await this.#checkWithRetries();
      this.#requestId = requestId;
      this.#checks += 1;
      this.#failures = 0;
      this.#session = deepFreeze(session);
      if (session.expiresAt !== undefined)
        this.#expiresAt = this.#serverClock.toMonotonic(Date.parse(session.expiresAt));
      let warning: string | undefined;
      switch (session.status) {
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
          // Widening `status` in the spec makes this assignment a type error, so the switch stays exhaustive.
          const unknown: never = session.status;
          if (!this.#warnedStatus) {
            this.#warnedStatus = true;
            warning = `Unknown session status ${JSON.stringify(unknown)}; treating it as pending`;
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
   * final check is made once: each answer refines the deadline a little, which must not buy another.
   */
  #plan(desired: number, now: number): number | undefined {
    if (this.#finalCheckPlanned) return undefined;
    const deadline = this.#deadline();
    const finalCheckAt = deadline - FINAL_CHECK_LEAD_MS;
    if (desired < finalCheckAt) return desired;
    const at = Math.max(finalCheckAt, now, this.#hintUntil);
    if (at >= deadline) return undefined;
    this.#finalCheckPlanned = true;
    return at;
  }

  /** One check: p-retry decides whether a failure is retried; the waiter's own clock decides when. */
  #checkWithRetries(): Promise<AuthStatusResult> {
    let lastError: unknown;
    return pRetry(
      async (attemptNumber) => {
        if (attemptNumber > 1) {
          const now = this.#o.clock.now();
          const hinted = lastError instanceof AitoearnResponseError ? lastError.retryAfterMs : undefined;
          if (hinted !== undefined) this.#hintUntil = Math.max(this.#hintUntil, now + hinted);
          const desired = Math.max(
            now + backoffDelay(this.#failures, this.#o, this.#o.random),
            this.#hintUntil,
          );
          const next = this.#plan(desired, now);
          this.#report('retry', lastError, undefined, next);
          await this.#sleepUntil(next ?? this.#deadline());
          if (next === undefined && this.#o.clock.now() >= this.#deadline()) {
            throw new AbortError(this.#deadlineOutcome(lastError));
          }
        }
        return this.#request(lastError);
      },
      {
        retries: this.#o.retries,
        minTimeout: 0,
        maxTimeout: 0,
        factor: 1,
        signal: this.#signal,
        onFailedAttempt: ({ error }) => {
          lastError = error;
          if (isTransient(error)) this.#failures += 1;
        },
        shouldRetry: ({ error }) => isTransient(error),
      },
    ).catch((error: unknown) => {
      if (this.#signal.aborted) throw this.#signal.reason;
      if (isTransient(error))
        throw this.#withSession(new AitoearnUnavailableError(this.#failures, this.#session, error));
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

  async #request(lastError: unknown): Promise<AuthStatusResult> {
    const { clock } = this.#o;
    const sentAt = clock.now();
    const timeoutMs = Math.min(this.#o.requestTimeoutMs, this.#deadline() + REQUEST_GRACE_MS - sentAt);
    if (timeoutMs <= 0) throw new AbortError(this.#deadlineOutcome(lastError));
    this.#attempt += 1;
    this.#lastRequestAt = sentAt;
    const { platform, sessionId } = this.#o;
    const result = await requestAuthStatus(
      this.#client,
      { platform, sessionId, signal: this.#signal },
      Math.min(timeoutMs, MAX_TIMER_MS),
      this.#requestTimer,
    );
    this.#serverClock.observe(result.serverDateMs, sentAt, clock.now(), clock.wallNow);
    return result;
  }

  /** Sleeps until `target` on the injected clock; a poke wakes it early, but never before the floor. */
  async #sleepUntil(target: number): Promise<void> {
    for (;;) {
      const now = this.#o.clock.now();
      if (this.#poked) {
        this.#poked = false;
        target = Math.min(
          target,
          Math.max(now, this.#lastRequestAt + this.#o.initialDelayMs, this.#hintUntil),
        );
      }
      if (now >= target) return;
      const wake = new AbortController();
      const onAbort = () => wake.abort();
      this.#signal.addEventListener('abort', onAbort, { once: true });
      this.#wake = wake;
      try {
        await this.#o.sleep(Math.min(target - now, MAX_TIMER_MS), wake.signal);
      } catch (error) {
        if (!wake.signal.aborted) throw error;
      } finally {
        this.#wake = undefined;
        this.#signal.removeEventListener('abort', onAbort);
      }
      this.#signal.throwIfAborted();
    }
  }

  #deadlineOutcome(cause: unknown): AitoearnError {
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
    if (cause !== undefined && isTransient(cause)) {
      return this.#withSession(new AitoearnUnavailableError(this.#failures, this.#session, cause));
    }
    return this.#withSession(new AuthTimeoutError(this.#o.timeoutMs, this.#session, options));
  }

  #withSession<E extends AitoearnError>(error: E): E {
    if (error.session === undefined && this.#session !== undefined) {
      Object.defineProperty(error, 'session', { value: this.#session, enumerable: true });
    }
    return error;
  }

  #report(type: AuthProgress['type'], error: unknown, warning: string | undefined, next?: number): void {
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
    this.#emit(event);
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
    const waiter = new AuthWaiter(
      client,
      resolved,
      resolved.signal ?? new AbortController().signal,
      (event) => resolved.onProgress?.(event),
    );
    return waiter.run();
  } catch (error) {
    return Promise.reject(error);
  }
}
