import { type AuthSession, type AuthStatus, checkStatusParams, type GetAuthStatusParams } from '../client.js';
import { AitoearnInputError } from '../errors.js';
import {
  checkFunction,
  checkInteger,
  checkNumber,
  checkPositiveMs,
  MAX_TIMER_MS,
  show,
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
  /**
   * Milliseconds until the next request; `undefined` when none is planned: on the last event (`completed`,
   * `failed`, or the final check's answer before the deadline), where only a `poke()` can still cause one.
   */
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
  /** Called with a frozen event after each check and each retry. If it throws, the wait ends at once with that error. */
  readonly onProgress?: (event: AuthProgress) => void;
  /** The delay after the first check, in ms. @default 1000 */
  readonly initialDelayMs?: number;
  /** The longest delay between checks, in ms. @default 5000 */
  readonly maxDelayMs?: number;
  /** How much each delay grows over the previous one. @default 2 */
  readonly factor?: number;
  /** The fraction by which a delay is randomly shortened, from 0 to 1. @default 0.1 */
  readonly jitter?: number;
  /** How long one request may take, in ms; always clipped to the time left. @default the client's `requestTimeoutMs` */
  readonly requestTimeoutMs?: number;
  /** How many transient failures in a row to retry before giving up (`AitoearnUnavailableError`). @default Infinity (until the deadline) */
  readonly retries?: number;
  /** Time source. @default `{ now: () => performance.now(), wallNow: () => Date.now() }` */
  readonly clock?: WaitClock;
  /**
   * Waits `ms` between checks and before a retry; `signal` aborts it when the wait is poked or stopped.
   * Nothing else is timed with it: the waiter re-reads `clock.now()` after each sleep (one that returns
   * early is asked again for the rest, after a turn of the event loop), and it never times requests. A
   * request's timeout is a timer of its own: with the default `clock`, in the process's timer queue; with
   * an injected `clock`, whose time only this `sleep` can wait for, a sleep on that clock that counts only
   * once `clock.now()` has reached the timeout (so a fake clock runs request timeouts too).
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

export interface ResolvedWaitOptions {
  readonly platform: string;
  readonly sessionId: string;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number;
  readonly onProgress: ((event: AuthProgress) => void) | undefined;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly requestTimeoutMs: number;
  readonly retries: number;
  readonly clock: WaitClock;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random: () => number;
}

// Every option; `satisfies` keeps this list in step with the type.
const OPTION_KEYS = {
  platform: true,
  sessionId: true,
  signal: true,
  timeoutMs: true,
  onProgress: true,
  initialDelayMs: true,
  maxDelayMs: true,
  factor: true,
  jitter: true,
  requestTimeoutMs: true,
  retries: true,
  clock: true,
  sleep: true,
  random: true,
} satisfies Record<keyof WaitForAuthOptions, true>;
const KNOWN = Object.keys(OPTION_KEYS);

/**
 * The option an unknown key was probably meant to be, if any: one that starts with it, ignoring case
 * (`timeout` → `timeoutMs`, `onprogress` → `onProgress`). Short keys (`url`) are never taken for typos.
 */
export function likelyOption(key: string): string | undefined {
  const typed = key.toLowerCase();
  return typed.length < 4 ? undefined : KNOWN.find((known) => known.toLowerCase().startsWith(typed));
}

// Keys already warned about: each typo is reported once per process.
const warned = new Set<string>();

/**
 * Unknown keys are ignored, as TypeScript lets them through when options are spread from a larger object
 * (`{ ...started, timeoutMs }`). One that looks like a typo of an option gets a one-time process warning
 * (code `AITOEARN_UNKNOWN_OPTION`), the way Node reports deprecations: visible, never fatal.
 */
function hintUnknownKeys(options: object): void {
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(OPTION_KEYS, key) || warned.has(key)) continue;
    const hint = likelyOption(key);
    if (hint === undefined) continue;
    warned.add(key);
    process.emitWarning(
      `Unknown option ${show(key)} of waitForAuth/watchAuth is ignored; did you mean "${hint}"?`,
      { code: 'AITOEARN_UNKNOWN_OPTION' },
    );
  }
}

export const systemClock: WaitClock = Object.freeze({
  now: () => performance.now(),
  wallNow: () => Date.now(),
});

/** Checks every option before any request; unknown keys are ignored (a likely typo is warned about once). */
export function resolveWaitOptions(
  options: WaitForAuthOptions,
  clientTimeoutMs: number,
): ResolvedWaitOptions {
  checkStatusParams(options);
  hintUnknownKeys(options);
  const opt = <K extends keyof typeof waitDefaults>(key: K): number => options[key] ?? waitDefaults[key];
  const initialDelayMs = checkPositiveMs('initialDelayMs', opt('initialDelayMs'));
  const maxDelayMs = checkPositiveMs('maxDelayMs', opt('maxDelayMs'));
  if (maxDelayMs < initialDelayMs) {
    throw new AitoearnInputError(
      'maxDelayMs',
      `Expected "maxDelayMs" to be at least "initialDelayMs" (${initialDelayMs}), got ${maxDelayMs}.`,
    );
  }
  const retries = opt('retries');
  if (retries !== Number.POSITIVE_INFINITY) checkInteger('retries', retries, 0, 1_000_000);
  const clock = options.clock ?? systemClock;
  if (typeof clock !== 'object' || clock === null) {
    throw new AitoearnInputError('clock', `Expected "clock" to be an object, got ${show(clock)}.`);
  }
  checkFunction('clock.now', clock.now);
  checkFunction('clock.wallNow', clock.wallNow);
  return {
    platform: options.platform,
    sessionId: options.sessionId,
    signal: options.signal,
    timeoutMs: checkPositiveMs('timeoutMs', opt('timeoutMs'), Number.MAX_SAFE_INTEGER),
    onProgress:
      options.onProgress === undefined ? undefined : checkFunction('onProgress', options.onProgress),
    initialDelayMs,
    maxDelayMs,
    factor: checkNumber('factor', opt('factor'), 1, 10),
    jitter: checkNumber('jitter', opt('jitter'), 0, 1),
    requestTimeoutMs: checkPositiveMs(
      'requestTimeoutMs',
      options.requestTimeoutMs ?? clientTimeoutMs,
      MAX_TIMER_MS,
    ),
    retries,
    clock,
    sleep: options.sleep === undefined ? sleep : checkFunction('sleep', options.sleep),
    random: options.random === undefined ? Math.random : checkFunction('random', options.random),
  };
}
