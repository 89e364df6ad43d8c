import {
  AitoearnApiError,
  AitoearnInputError,
  AitoearnTransportError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  AuthTimeoutError,
  isTransient,
  named,
} from '../errors.js';

/** The exit codes of `aitoearn-auth`; scripts branch on these, so they never change meaning. */
export const EXIT = Object.freeze({
  ok: 0,
  failed: 1,
  usage: 2,
  expired: 3,
  timeout: 4,
  apiError: 5,
  unavailable: 6,
  bug: 70,
  sigint: 130,
  sigterm: 143,
});

export type ExitName = keyof typeof EXIT;

/** What each exit code means, for `--help` and the README; in the order they are listed. */
export const EXIT_MEANINGS: Readonly<Record<ExitName, string>> = {
  ok: 'completed (status: the request succeeded)',
  failed: 'authorization failed (the session ended with status "failed")',
  usage: 'usage or bad input; nothing was sent',
  expired: 'session expired or invalid (code 15039, or expiresAt passed)',
  timeout: 'local timeout (--timeout ran out)',
  apiError: 'terminal API error (bad key, platform mismatch, validation, other codes)',
  unavailable: 'API unreachable until the deadline (worth retrying later)',
  bug: 'a bug in aitoearn-auth (EX_SOFTWARE): please report it; retrying will not help',
  sigint: 'interrupted (Ctrl-C, SIGINT)',
  sigterm: 'terminated (SIGTERM)',
};

/** The `outcome` of the `--json` result line. `ok` is a `status` request that succeeded. */
export type Outcome =
  | 'completed'
  | 'ok'
  | 'failed'
  | 'expired'
  | 'timeout'
  | 'aborted'
  | 'api-error'
  | 'unavailable'
  | 'bug';

export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** The abort reason the command uses for Ctrl-C and SIGTERM, so it is told apart from library errors. */
export class Interrupted extends Error {
  static {
    named(Interrupted, 'Interrupted');
  }
  readonly signal: InterruptSignal;
  constructor(signal: InterruptSignal) {
    super(`interrupted by ${signal}`);
    this.signal = signal;
  }
}

/** How an error ends the command. `usage` means nothing was sent and no result line is printed. */
export type Classified =
  | { readonly usage: true; readonly exitCode: 2 }
  | { readonly usage: false; readonly outcome: Outcome; readonly exitCode: number };

/**
 * Maps what `waitForAuth`/`getAuthStatus` threw to an outcome and exit code. A transport error that is
 * terminal (a redirect, HTTP 401/403/404 from a gateway) is a configuration problem, not an outage: 5.
 */
export function classify(error: unknown): Classified {
  const end = (outcome: Outcome, exitCode: number): Classified => ({ usage: false, outcome, exitCode });
  if (error instanceof Interrupted) {
    return end('aborted', error.signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
  }
  if (error instanceof AitoearnInputError) return { usage: true, exitCode: EXIT.usage };
  if (error instanceof AuthFailedError) return end('failed', EXIT.failed);
  if (error instanceof AuthExpiredError) return end('expired', EXIT.expired);
  if (error instanceof AuthTimeoutError) return end('timeout', EXIT.timeout);
  if (error instanceof AitoearnUnavailableError) return end('unavailable', EXIT.unavailable);
  if (error instanceof AitoearnApiError) {
    if (error.kind === 'session-invalid') return end('expired', EXIT.expired);
    return isTransient(error) ? end('unavailable', EXIT.unavailable) : end('api-error', EXIT.apiError);
  }
  if (error instanceof AitoearnTransportError) {
    return isTransient(error) ? end('unavailable', EXIT.unavailable) : end('api-error', EXIT.apiError);
  }
  // Not one of ours: a bug (ours, or the runtime's). Not "unavailable": a script must not retry it forever.
  return end('bug', EXIT.bug);
}
