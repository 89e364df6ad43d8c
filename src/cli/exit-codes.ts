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
} from '../index.js';

const codes = (...kinds: string[]) =>
  Object.entries(API_CODES)
    .filter(([, facts]) => kinds.includes(facts.kind))
    .map(([code]) => code)
    .join(', ');

/** Exit codes with their `--json` outcome and meaning (for `--help`). Scripts branch on these: never re-mean one. */
export const EXITS = {
  ok: { code: 0, outcome: 'completed', meaning: 'completed (status: the request succeeded)' },
  failed: { code: 1, outcome: 'failed', meaning: 'authorization failed (the session ended "failed")' },
  usage: { code: 2, outcome: 'usage', meaning: 'usage or bad input; nothing was sent' },
  expired: {
    code: 3,
    outcome: 'expired',
    meaning: `session expired or invalid (code ${codes('session-invalid')}, or expiresAt passed)`,
  },
  timeout: { code: 4, outcome: 'timeout', meaning: 'local timeout (--timeout ran out)' },
  apiError: {
    code: 5,
    outcome: 'api-error',
    meaning: `terminal API error: codes ${codes('unauthorized', 'validation', 'group-not-found', 'platform-unsupported', 'platform-mismatch')}, unknown codes,\nHTTP 401/403/404, a redirect, an answer that cannot be used`,
  },
  unavailable: {
    code: 6,
    outcome: 'unavailable',
    meaning: 'API unreachable until the deadline (worth retrying later)',
  },
  bug: {
    code: 70,
    outcome: 'bug',
    meaning: 'a bug in aitoearn-auth (EX_SOFTWARE): please report it; retrying will not help',
  },
  sighup: { code: 129, outcome: 'aborted', meaning: 'the terminal was closed (SIGHUP)' },
  sigint: { code: 130, outcome: 'aborted', meaning: 'interrupted (Ctrl-C, SIGINT)' },
  sigterm: { code: 143, outcome: 'aborted', meaning: 'terminated (SIGTERM)' },
} as const;

export type ExitName = keyof typeof EXITS;

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
