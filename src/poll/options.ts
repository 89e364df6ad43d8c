import { type AuthSession, type AuthStatus, checkStatusParams, type GetAuthStatusParams } from '../client.js';
import { show } from '../text.js';
import { checkFunction, checkNumber, checkObject, checkPositiveMs, refuse } from '../validate.js';

/** Where the waiter reads time; inject a fake one to run long waits in milliseconds. */
export interface WaitClock {
  /** Monotonic ms (default `performance.now()`): every deadline is kept on it. */ readonly now: () => number;
  /** Epoch ms (default `Date.now()`), read only when an answer has no `Date` header. */
  readonly wallNow: () => number;
}

/** A progress report after each check (`type: 'status'`) and each transient failure (`'retry'`). */
export interface AuthProgress {
  readonly type: 'status' | 'retry';
  /** Requests sent so far, retries included. */ readonly attempt: number;
  /** Ms since the wait started. */ readonly elapsedMs: number;
  /** Ms until the deadline, the earlier of `expiresAt` and `timeoutMs`. */ readonly remainingMs: number;
  /** Ms until the next request; `undefined` if none is planned (a `poke()` still checks). */
  readonly nextDelayMs: number | undefined;
  /** The latest session snapshot, once an answer came. */ readonly session: AuthSession | undefined;
  /** The latest status, an unknown one passed through as it came. */ readonly status: AuthStatus | undefined;
  /** The user must choose accounts in the browser. */ readonly selectionRequired: boolean;
  /** The API's request id of the answer reported, for support. */ readonly requestId: string | undefined;
  /** For `'retry'`: the transient failure. */ readonly error: Error | undefined;
  /** The retry's reason, or an unknown status treated as pending. */ readonly warning: string | undefined;
}

export interface WaitForAuthOptions extends GetAuthStatusParams {
  /** Ms until `AuthTimeoutError`; the session's `expiresAt` usually comes first. @default 600000 */
  readonly timeoutMs?: number;
  /** Gets a frozen event after each check and retry; a returned promise is awaited, and a throw or rejection ends the wait with that error. */
  readonly onProgress?: (event: AuthProgress) => unknown;
  /** Ms after the first check, and before the first retry. @default 1000 */ readonly initialDelayMs?: number;
  /** The longest delay between checks or retries, in ms. @default 5000 */ readonly maxDelayMs?: number;
  /** How much each delay grows over the previous one. @default 2 */ readonly factor?: number;
  /** Fraction (0–0.9) by which a delay is randomly shortened. @default 0.1 */ readonly jitter?: number;
  /** Ms one request may take, clipped to the time left. @default the client's `requestTimeoutMs` */
  readonly requestTimeoutMs?: number;
  /** Transient failures in a row to retry before `AitoearnUnavailableError`. @default Infinity (until the deadline) */
  readonly retries?: number;
  /** Time source. @default `{ now: () => performance.now(), wallNow: () => Date.now() }` */
  readonly clock?: WaitClock;
  /**
   * Waits `ms` on `clock` until `signal` aborts (a poke or a stop): between checks, and to time requests when
   * a `clock` is given; if it fails on its own, the wait ends with its error. p-retry's delays use Node's timers.
   * @default one timer queue shared by the process's waits
   */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A number in [0, 1) for jitter. @default Math.random */ readonly random?: () => number;
}

/** Defaults of {@link WaitForAuthOptions}. */
export const waitDefaults = Object.freeze({
  timeoutMs: 600_000,
  initialDelayMs: 1000,
  maxDelayMs: 5000,
  factor: 2,
  jitter: 0.1,
  retries: Number.POSITIVE_INFINITY,
});

export type ResolvedWaitOptions = ReturnType<typeof resolveWaitOptions>;

const warned = new Set<string>();

/**
 * Checks every option before any request. Unknown keys are ignored (options spread from a larger object,
 * `{ ...started, timeoutMs }`, carry some); a likely typo, a prefix of 4 or more characters of an option
 * (`timeout`), gets a one-time process warning, code `AITOEARN_UNKNOWN_OPTION`, as Node's deprecations do.
 */
export function resolveWaitOptions(options: WaitForAuthOptions, clientTimeoutMs: number) {
  checkStatusParams(options);
  const opt = <K extends keyof typeof waitDefaults>(key: K): number => options[key] ?? waitDefaults[key];
  const given = <T>(name: string, value: T) => (value === undefined ? value : checkFunction(name, value));
  const { clock } = options;
  if (clock !== undefined) {
    checkObject('clock', clock);
    for (const key of ['now', 'wallNow'] as const) checkFunction(`clock.${key}`, clock[key]);
  }
  const initialDelayMs = checkPositiveMs('initialDelayMs', opt('initialDelayMs'));
  const maxDelayMs = checkPositiveMs('maxDelayMs', opt('maxDelayMs'));
  if (maxDelayMs < initialDelayMs)
    refuse('maxDelayMs', `at least "initialDelayMs" (${initialDelayMs})`, maxDelayMs);
  const retries = opt('retries');
  if (retries !== Number.POSITIVE_INFINITY) checkNumber('retries', retries, 0, 1_000_000, true);
  const resolved = {
    platform: options.platform,
    sessionId: options.sessionId,
    signal: options.signal,
    timeoutMs: checkPositiveMs('timeoutMs', opt('timeoutMs'), Number.MAX_SAFE_INTEGER),
    onProgress: given('onProgress', options.onProgress),
    initialDelayMs,
    maxDelayMs,
    factor: checkNumber('factor', opt('factor'), 1, 10),
    // Up to 0.9: a delay never shrinks to nothing, whatever `random` returns (no hot loop).
    jitter: checkNumber('jitter', opt('jitter'), 0, 0.9),
    requestTimeoutMs: checkPositiveMs('requestTimeoutMs', options.requestTimeoutMs ?? clientTimeoutMs),
    retries,
    clock,
    sleep: given('sleep', options.sleep),
    random: given('random', options.random) ?? Math.random,
  } satisfies Record<keyof WaitForAuthOptions, unknown>;
  for (const key of Object.keys(options)) {
    if (key in resolved || key.length < 4 || warned.has(key)) continue;
    const meant = Object.keys(resolved).find((known) => known.toLowerCase().startsWith(key.toLowerCase()));
    if (meant === undefined) continue;
    warned.add(key);
    const message = `Unknown option ${show(key)} of waitForAuth/watchAuth is ignored; did you mean "${meant}"?`;
    process.emitWarning(message, { code: 'AITOEARN_UNKNOWN_OPTION' });
  }
  return resolved;
}
