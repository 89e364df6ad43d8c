import { type AuthSession, type AuthStatus, checkStatusParams, type GetAuthStatusParams } from '../client.js';
import { show } from '../text.js';
import {
  checkFunction,
  checkInteger,
  checkNumber,
  checkObject,
  checkPositiveMs,
  refuse,
} from '../validate.js';
import { sleep } from './sleep.js';

/** Where the waiter reads time. Inject a fake one to run long waits in milliseconds. */
export interface WaitClock {
  /** A monotonic clock in ms (default `performance.now()`); all deadlines are kept on it. */
  readonly now: () => number;
  /** The wall clock in epoch ms (default `Date.now()`); used only when the server sends no `Date` header. */
  readonly wallNow: () => number;
}

/** One progress report: after each check (`type: 'status'`) and after each transient failure (`'retry'`). */
export interface AuthProgress {
  readonly type: 'status' | 'retry';
  /** Requests sent so far, retries included. */
  readonly attempt: number;
  /** Milliseconds since the wait started. */
  readonly elapsedMs: number;
  /** Milliseconds left until the deadline (the earlier of `expiresAt` and `timeoutMs`). */
  readonly remainingMs: number;
  /** Milliseconds until the next request; `undefined` when none is planned (only a `poke()` can cause one). */
  readonly nextDelayMs: number | undefined;
  /** The latest session snapshot, if any answer arrived yet. */
  readonly session: AuthSession | undefined;
  /** The latest status; an unknown status reported by a newer API is passed through as it came. */
  readonly status: AuthStatus | undefined;
  /** The user must choose accounts in the browser (`pending` with `requiresSelection`). */
  readonly selectionRequired: boolean;
  /** The API's request id of the answer this event reports, when it sent one (for support tickets). */
  readonly requestId: string | undefined;
  /** For `'retry'`: the transient failure. */
  readonly error: Error | undefined;
  /** A human-readable warning: the retry's reason, or an unknown status being treated as pending. */
  readonly warning: string | undefined;
}

export interface WaitForAuthOptions extends GetAuthStatusParams {
  /** Give up after this many ms (`AuthTimeoutError`); the session's own `expiresAt` usually ends the wait first. @default 600000 */
  readonly timeoutMs?: number;
  /** Called with a frozen event after each check and each retry; a promise it returns is awaited. If it throws or rejects, the wait ends at once with that error. */
  readonly onProgress?: (event: AuthProgress) => unknown;
  /** The delay after the first check, and before the first retry, in ms. @default 1000 */
  readonly initialDelayMs?: number;
  /** The longest delay between checks or retries, in ms. @default 5000 */
  readonly maxDelayMs?: number;
  /** How much each delay grows over the previous one. @default 2 */
  readonly factor?: number;
  /** The fraction by which a delay between checks is randomly shortened, from 0 to 1. @default 0.1 */
  readonly jitter?: number;
  /** How long one request may take, in ms; always clipped to the time left. @default the client's `requestTimeoutMs` */
  readonly requestTimeoutMs?: number;
  /** How many transient failures in a row to retry before giving up (`AitoearnUnavailableError`). @default Infinity (until the deadline) */
  readonly retries?: number;
  /** Time source. @default `{ now: () => performance.now(), wallNow: () => Date.now() }` */
  readonly clock?: WaitClock;
  /**
   * Waits `ms` on `clock` until `signal` aborts (a poke or a stop): between checks (asked again for the rest
   * if it returns early) and, when a `clock` is given, to time each request. If it fails on its own, the
   * wait ends with its error. p-retry times the retries of a failed request on Node's timers.
   * @default one timer queue shared by the waits of the process (a single `setTimeout`)
   */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A number in [0, 1) for jitter. @default Math.random */
  readonly random?: () => number;
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

export interface ResolvedWaitOptions extends Required<Omit<WaitForAuthOptions, 'signal' | 'onProgress'>> {
  /** A clock was given: its time only `sleep` can wait for, so requests are timed with `sleep` too. */
  readonly ownClock: boolean;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: WaitForAuthOptions['onProgress'];
}

// Every option; `satisfies` keeps this list in step with the type.
const KNOWN = Object.keys({
  platform: 0,
  sessionId: 0,
  signal: 0,
  timeoutMs: 0,
  onProgress: 0,
  initialDelayMs: 0,
  maxDelayMs: 0,
  factor: 0,
  jitter: 0,
  requestTimeoutMs: 0,
  retries: 0,
  clock: 0,
  sleep: 0,
  random: 0,
} satisfies Record<keyof WaitForAuthOptions, 0>);

/** The option an unknown key was probably meant to be (`timeout` → `timeoutMs`); short keys never match. */
export function likelyOption(key: string): string | undefined {
  const typed = key.toLowerCase();
  return typed.length < 4 ? undefined : KNOWN.find((known) => known.toLowerCase().startsWith(typed));
}

const warned = new Set<string>();
const systemClock: WaitClock = Object.freeze({ now: () => performance.now(), wallNow: () => Date.now() });

/**
 * Checks every option before any request. Unknown keys are ignored, as TypeScript lets them through when
 * options are spread from a larger object (`{ ...started, timeoutMs }`); a likely typo gets a one-time
 * process warning (code `AITOEARN_UNKNOWN_OPTION`), the way Node reports deprecations.
 */
export function resolveWaitOptions(
  options: WaitForAuthOptions,
  clientTimeoutMs: number,
): ResolvedWaitOptions {
  checkStatusParams(options);
  for (const key of Object.keys(options)) {
    const hint = KNOWN.includes(key) || warned.has(key) ? undefined : likelyOption(key);
    if (hint === undefined) continue;
    warned.add(key);
    const message = `Unknown option ${show(key)} of waitForAuth/watchAuth is ignored; did you mean "${hint}"?`;
    process.emitWarning(message, { code: 'AITOEARN_UNKNOWN_OPTION' });
  }
  const opt = <K extends keyof typeof waitDefaults>(key: K): number => options[key] ?? waitDefaults[key];
  const initialDelayMs = checkPositiveMs('initialDelayMs', opt('initialDelayMs'));
  const maxDelayMs = checkPositiveMs('maxDelayMs', opt('maxDelayMs'));
  if (maxDelayMs < initialDelayMs)
    refuse('maxDelayMs', `at least "initialDelayMs" (${initialDelayMs})`, maxDelayMs);
  const retries = opt('retries');
  if (retries !== Number.POSITIVE_INFINITY) checkInteger('retries', retries, 0, 1_000_000);
  const clock = options.clock ?? systemClock;
  checkObject('clock', clock);
  checkFunction('clock.now', clock.now);
  checkFunction('clock.wallNow', clock.wallNow);
  const given = <T>(name: string, value: T | undefined, fallback: T) =>
    value === undefined ? fallback : checkFunction(name, value);
  const requestTimeoutMs = options.requestTimeoutMs ?? clientTimeoutMs;
  return {
    platform: options.platform,
    sessionId: options.sessionId,
    signal: options.signal,
    timeoutMs: checkPositiveMs('timeoutMs', opt('timeoutMs'), Number.MAX_SAFE_INTEGER),
    onProgress: given('onProgress', options.onProgress, undefined),
    initialDelayMs,
    maxDelayMs,
    factor: checkNumber('factor', opt('factor'), 1, 10),
    jitter: checkNumber('jitter', opt('jitter'), 0, 1),
    requestTimeoutMs: checkPositiveMs('requestTimeoutMs', requestTimeoutMs),
    retries,
    clock,
    ownClock: options.clock !== undefined,
    sleep: given('sleep', options.sleep, sleep),
    random: given('random', options.random, Math.random),
  };
}
