import { API_CODES } from '../codes.js';
import {
  AitoearnApiError,
  AitoearnInputError,
  AitoearnTransportError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  AuthTimeoutError,
  isTransient,
} from '../errors.js';

/** The abort reason for a signal, told apart from the library's errors. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(readonly signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP') {
    super(`interrupted by ${signal}`);
  }
}

/** A command line that cannot run: exit 2, nothing sent. The message never holds an argument's secret. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The business codes an API error with that code ends as: read from the one table of codes. */
const codes = (expired: boolean) =>
  Object.keys(API_CODES)
    .map((code) => new AitoearnApiError(Number(code), '', ''))
    .filter((e) => !isTransient(e) && (e.kind === 'session-invalid') === expired)
    .map((e) => e.code)
    .join(', ');

const exit = (code: number, outcome: string, meaning: string) => ({ code, outcome, meaning });
const UNUSABLE = 'HTTP 401/403/404, a redirect, an answer that cannot be used';

/** Exit codes with their `--json` outcome and meaning (for `--help`). Scripts branch on these: never re-mean one. */
export const EXITS = {
  ok: exit(0, 'completed', 'completed (status: the request succeeded)'),
  failed: exit(1, 'failed', 'authorization failed (the session ended "failed")'),
  usage: exit(2, 'usage', 'usage or bad input; nothing was sent'),
  expired: exit(3, 'expired', `session expired or invalid (code ${codes(true)}, or expiresAt passed)`),
  timeout: exit(4, 'timeout', 'local timeout (--timeout ran out)'),
  apiError: exit(5, 'api-error', `terminal API error: codes ${codes(false)}, unknown codes,\n${UNUSABLE}`),
  unavailable: exit(6, 'unavailable', 'API unreachable until the deadline (worth retrying later)'),
  bug: exit(70, 'bug', 'a bug in aitoearn-auth (EX_SOFTWARE): please report it; retrying will not help'),
  sighup: exit(129, 'aborted', 'the terminal was closed (SIGHUP)'),
  sigint: exit(130, 'aborted', 'interrupted (Ctrl-C, SIGINT)'),
  sigterm: exit(143, 'aborted', 'terminated (SIGTERM)'),
};

export type ExitName = keyof typeof EXITS;

/**
 * How an error ends the command. A transport error that will not change (a redirect, HTTP 401/403/404 from a
 * gateway, an answer the client refused) is a configuration problem, not an outage: 5.
 */
export function classify(error: unknown): ExitName {
  if (error instanceof Interrupted) return error.signal.toLowerCase() as 'sigint' | 'sigterm' | 'sighup';
  if (error instanceof UsageError || error instanceof AitoearnInputError) return 'usage';
  // A busy port is the machine's state, not a bug (by name: the sandbox loads on demand).
  if (error instanceof Error && error.name === 'SandboxListenError') return 'unavailable';
  if (error instanceof AuthFailedError) return 'failed';
  if (error instanceof AuthExpiredError) return 'expired';
  if (error instanceof AuthTimeoutError) return 'timeout';
  if (error instanceof AitoearnUnavailableError) return 'unavailable';
  if (error instanceof AitoearnApiError && error.kind === 'session-invalid') return 'expired';
  if (error instanceof AitoearnApiError || error instanceof AitoearnTransportError)
    return isTransient(error) ? 'unavailable' : 'apiError';
  // Not "unavailable": a script must not retry a bug forever.
  return 'bug';
}
