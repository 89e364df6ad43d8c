import type { AuthSession } from '../client.js';
import { AitoearnApiError, AitoearnError, AitoearnResponseError, AuthFailedError } from '../errors.js';
import type { AuthProgress } from '../poll/options.js';
import type { Outcome } from './exit-codes.js';

/** `0s`, `42s`, `4m 05s`, `1h 02m`: short enough for a live line, exact enough to act on. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m ${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

const CODES = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 } as const;
export type Color = keyof typeof CODES;
export type Paint = (text: string, color: Color) => string;

/** Colours only when asked to (a TTY with `NO_COLOR` unset or empty, as no-color.org defines it). */
export function painter(enabled: boolean): Paint {
  return enabled ? (text, color) => `\x1b[${CODES[color]}m${text}\x1b[0m` : (text) => text;
}

/** Whether to colour a stream: it is a terminal and `NO_COLOR` is absent or empty. */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

/**
 * The human progress line. `sinceEventMs` ages the event for the live line, which is redrawn every second
 * between checks.
 */
export function progressLine(event: AuthProgress, paint: Paint, sinceEventMs = 0): string {
  const status = clean(event.status ?? 'no answer yet');
  const parts = [
    paint(status, status === 'pending' ? 'yellow' : status === 'completed' ? 'green' : 'bold'),
    `${formatDuration(event.elapsedMs + sinceEventMs)} elapsed`,
    `${formatDuration(event.remainingMs - sinceEventMs)} left`,
  ];
  if (event.nextDelayMs !== undefined) {
    parts.push(`next check in ${formatDuration(event.nextDelayMs - sinceEventMs)}`);
  }
  if (event.selectionRequired) parts.push(paint('choose your accounts in the browser', 'bold'));
  if (event.warning !== undefined) {
    parts.push(paint(clean(`${event.type === 'retry' ? 'retrying: ' : ''}${event.warning}`), 'red'));
  }
  return parts.join(paint(' · ', 'dim'));
}

/** What counts as a change for the one-line-per-change log (not on a TTY): not the clock, not attempts. */
export function changeKey(event: AuthProgress): string {
  return JSON.stringify([event.status, event.selectionRequired, event.warning]);
}

/** One NDJSON `poll` line. */
export function pollRecord(event: AuthProgress): Record<string, unknown> {
  const { requestId } = event;
  return {
    type: 'poll',
    kind: event.type,
    status: event.status ?? null,
    attempt: event.attempt,
    elapsedMs: event.elapsedMs,
    remainingMs: event.remainingMs,
    nextDelayMs: event.nextDelayMs ?? null,
    selectionRequired: event.selectionRequired,
    ...(event.session?.expiresAt === undefined ? {} : { expiresAt: event.session.expiresAt }),
    ...(event.warning === undefined ? {} : { warning: event.warning }),
    ...(requestId === undefined ? {} : { requestId }),
  };
}

/** The final NDJSON line: exactly one per run, always last. */
export function resultRecord(
  outcome: Outcome,
  exitCode: number,
  session: AuthSession | undefined,
  error?: unknown,
): Record<string, unknown> {
  return {
    type: 'result',
    outcome,
    exitCode,
    ...(session === undefined ? {} : { session }),
    ...(error === undefined ? {} : { error: errorRecord(error) }),
  };
}

/** The structured fields of an error, for `--json`; never the key (no error of this package holds it). */
export function errorRecord(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const api = apiErrorOf(error);
  const record: Record<string, unknown> = { name: error.name, message: error.message };
  if (api) {
    record.code = api.code;
    record.kind = api.kind;
  }
  const requestId = requestIdOf(error);
  if (requestId !== undefined) record.requestId = requestId;
  if (error instanceof AuthFailedError) {
    record.errorCode = error.errorCode ?? null;
    record.meaning = error.meaning;
  }
  if (error instanceof AitoearnResponseError && error.httpStatus !== undefined)
    record.httpStatus = error.httpStatus;
  return record;
}

/** The API error itself, or the one that caused an expiry / unavailability. */
function apiErrorOf(error: Error): AitoearnApiError | undefined {
  if (error instanceof AitoearnApiError) return error;
  return error instanceof AitoearnError && error.cause instanceof AitoearnApiError ? error.cause : undefined;
}

/** The request id of the error, or of the response error that caused it (an expiry, an outage). */
function requestIdOf(error: Error): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth += 1) {
    if (e instanceof AitoearnResponseError && e.requestId !== undefined) return e.requestId;
  }
  return undefined;
}

/**
 * Server text shown on a terminal loses its control characters: a display name must not be able to move
 * the cursor or recolour the screen.
 */
export function clean(text: string): string {
  return text.replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, '\u{fffd}');
}

/** `platform displayName (accountId)`, one per connected account; ids alone when the API named none. */
export function accountLines(session: AuthSession, platform: string): string[] {
  if (session.accounts && session.accounts.length > 0) {
    return session.accounts.map((a) => clean(`${a.platform} ${a.displayName} (${a.accountId})`));
  }
  const ids = session.accountIds ?? (session.accountId ? [session.accountId] : []);
  return ids.map((id) => clean(`${platform} (${id})`));
}

/** The `status` command's human output: one `field: value` line per fact, accounts last. */
export function sessionLines(session: AuthSession, platform: string): string[] {
  const lines = [`sessionId: ${session.sessionId}`, `platform: ${platform}`, `status: ${session.status}`];
  if (session.expiresAt !== undefined) lines.push(`expiresAt: ${session.expiresAt}`);
  lines.push(`requiresSelection: ${session.requiresSelection}`);
  if (session.errorCode !== undefined) lines.push(`errorCode: ${session.errorCode}`);
  for (const account of session.selectableAccounts ?? []) {
    lines.push(`selectable: ${account.platform} ${account.displayName} (${account.platformUid})`);
  }
  for (const line of session.status === 'completed' ? accountLines(session, platform) : []) {
    lines.push(`account: ${line}`);
  }
  return lines.map(clean);
}
