import type { AuthSession, ConnectedAccount, SelectableAccount } from '../client.js';
import {
  AitoearnApiError,
  AitoearnError,
  AitoearnResponseError,
  AitoearnTransportError,
  AuthFailedError,
} from '../errors.js';
import type { AuthProgress } from '../poll/options.js';
import type { Outcome } from './exit-codes.js';
import { sanitize } from './sanitize.js';
import { cutToWidth, displayWidth } from './width.js';

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

/** One part of the progress line, with shorter forms; the live line drops the least useful parts first. */
export interface Segment {
  /** The full text first, then shorter ones. */
  readonly forms: readonly string[];
  /** Higher is more useful: kept longer on a narrow terminal. */
  readonly priority: number;
  /** Whether the segment may disappear once its shortest form is still too long. */
  readonly droppable: boolean;
  readonly color?: Color;
}

/** What the live line says about Enter: nothing (stdin is not a terminal), the hint, or that it checks. */
export type EnterHint = 'none' | 'hint' | 'checking';

/** The retry's cause in a few words, from the error's structured fields (the full message is long). */
export function shortCause(error: Error | undefined): string | undefined {
  if (error instanceof AitoearnApiError) return `code ${error.code} (${error.kind})`;
  if (error instanceof AitoearnTransportError) {
    switch (error.reason) {
      case 'http-status':
        return `HTTP ${error.httpStatus ?? '?'}`;
      case 'timeout':
        return 'request timed out';
      case 'network':
        return 'network error';
      case 'bad-body':
        return 'not an API answer';
      case 'redirect':
        return 'redirected';
    }
  }
  return error === undefined ? undefined : sanitize(error.name);
}

/**
 * Elapsed and left from one snapshot, in whole seconds that always add up to the same total (the time from
 * the start of the wait to its deadline), however the clock between two events is rounded.
 */
export function clocks(event: AuthProgress, sinceEventMs = 0): { elapsedS: number; leftS: number } {
  const totalS = Math.max(0, Math.round((event.elapsedMs + event.remainingMs) / 1000));
  const elapsedS = Math.max(0, Math.floor((event.elapsedMs + sinceEventMs) / 1000));
  return { elapsedS, leftS: Math.max(0, totalS - elapsedS) };
}

/** The parts of the progress line, in display order. `sinceEventMs` ages the event for the live line. */
export function progressSegments(
  event: AuthProgress,
  sinceEventMs = 0,
  enter: EnterHint = 'none',
): Segment[] {
  const status = sanitize(event.status ?? 'no answer yet');
  const { elapsedS, leftS } = clocks(event, sinceEventMs);
  const segments: Segment[] = [
    {
      forms: [status],
      priority: 100,
      droppable: false,
      color: status === 'pending' ? 'yellow' : status === 'completed' ? 'green' : 'bold',
    },
    { forms: [`${formatDuration(elapsedS * 1000)} elapsed`], priority: 30, droppable: true },
    { forms: [`${formatDuration(leftS * 1000)} left`], priority: 60, droppable: true },
  ];
  if (event.nextDelayMs !== undefined) {
    const next = formatDuration(event.nextDelayMs - sinceEventMs);
    segments.push({ forms: [`next check in ${next}`, `next in ${next}`], priority: 40, droppable: true });
  }
  if (event.selectionRequired) {
    segments.push({
      forms: ['choose your accounts in the browser', 'choose accounts in the browser', 'choose accounts'],
      priority: 90,
      droppable: false,
      color: 'bold',
    });
  }
  if (event.warning !== undefined) {
    const retry = event.type === 'retry';
    const full = sanitize(`${retry ? 'retrying: ' : ''}${event.warning}`);
    const cause = retry ? shortCause(event.error) : undefined;
    segments.push({
      forms: cause === undefined ? [full] : [full, `retrying: ${cause}`],
      priority: 85,
      droppable: false,
      color: 'red',
    });
  }
  if (enter === 'hint') {
    segments.push({
      forms: ['Enter: check now', 'Enter: check'],
      priority: 80,
      droppable: true,
      color: 'dim',
    });
  } else if (enter === 'checking') {
    segments.push({ forms: ['checking now…'], priority: 80, droppable: true, color: 'bold' });
  }
  return segments;
}

const SEPARATOR = ' · ';

/**
 * The segments at full length, or shortened to `width` columns: the least useful part takes its next
 * shorter form (or goes) first, until the line fits; a line still too long is cut at the end.
 */
export function fitLine(
  segments: readonly Segment[],
  paint: Paint,
  width = Number.POSITIVE_INFINITY,
): string {
  // level[i] indexes segment i's forms; forms.length means it was dropped.
  const level = segments.map(() => 0);
  const texts = () =>
    segments.flatMap((s, i) => {
      const text = s.forms[level[i] ?? 0];
      return text === undefined ? [] : [text];
    });
  const plainWidth = () => displayWidth(texts().join(SEPARATOR));
  while (plainWidth() > width) {
    let pick = -1;
    segments.forEach((s, i) => {
      const last = s.droppable ? s.forms.length : s.forms.length - 1;
      if ((level[i] ?? 0) < last && (pick === -1 || s.priority < (segments[pick]?.priority ?? 0))) pick = i;
    });
    if (pick === -1) break;
    level[pick] = (level[pick] ?? 0) + 1;
  }
  const parts = segments.flatMap((s, i) => {
    const text = s.forms[level[i] ?? 0];
    return text === undefined ? [] : [{ text, color: s.color }];
  });
  if (plainWidth() > width) {
    // Even the shortest forms do not fit: cut the line's end, without colour (escapes have no width).
    return cutToWidth(texts().join(SEPARATOR), width);
  }
  return parts
    .map(({ text, color }) => (color === undefined ? text : paint(text, color)))
    .join(paint(SEPARATOR, 'dim'));
}

/** The human progress line at full length (the log lines written when stderr is not a terminal). */
export function progressLine(event: AuthProgress, paint: Paint): string {
  return fitLine(progressSegments(event), paint);
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
  message?: string,
): Record<string, unknown> {
  return {
    type: 'result',
    outcome,
    exitCode,
    ...(session === undefined ? {} : { session: sessionRecord(session) }),
    ...(error === undefined ? {} : { error: errorRecord(error, message) }),
  };
}

/**
 * The structured fields of an error, for `--json`; never the key (no error of this package holds it).
 * `message` replaces the error's own when the command words it differently.
 */
export function errorRecord(error: unknown, message?: string): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: 'Error', message: message ?? String(error) };
  const api = apiErrorOf(error);
  const record: Record<string, unknown> = { name: error.name, message: message ?? error.message };
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

/** `platform displayName (accountId)`, one per connected account; ids alone when the API named none. */
export function accountLines(session: AuthSession, platform: string): string[] {
  if (session.accounts && session.accounts.length > 0) {
    return session.accounts.map((a) => sanitize(`${a.platform} ${a.displayName} (${a.accountId})`));
  }
  const ids = session.accountIds ?? (session.accountId ? [session.accountId] : []);
  return ids.map((id) => sanitize(`${platform} (${id})`));
}

/** `1 account`, `2 accounts`. */
export function accountCount(count: number): string {
  return `${count} account${count === 1 ? '' : 's'}`;
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
  return lines.map(sanitize);
}

// The fields of a session the spec names; `satisfies` keeps the lists in step with the generated types.
const SESSION_FIELDS = {
  sessionId: true,
  status: true,
  requiresSelection: true,
  errorCode: true,
  expiresAt: true,
  accountId: true,
  accountIds: true,
  accounts: true,
  selectableAccounts: true,
} satisfies Record<keyof AuthSession, true>;
const ACCOUNT_FIELDS = {
  accountId: true,
  platform: true,
  platformUid: true,
  account: true,
  displayName: true,
  avatarUrl: true,
} satisfies Record<keyof ConnectedAccount, true>;
const SELECTABLE_FIELDS = {
  platform: true,
  platformUid: true,
  account: true,
  displayName: true,
  avatarUrl: true,
  parentPlatformUid: true,
} satisfies Record<keyof SelectableAccount, true>;

const isScalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The scalar fields of `value` named in `fields`; anything else the server added is left out. */
function pick(value: unknown, fields: Record<string, true>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!value || typeof value !== 'object') return out;
  for (const field of Object.keys(fields)) {
    const v = (value as Record<string, unknown>)[field];
    if (isScalar(v)) out[field] = v;
  }
  return out;
}

/**
 * The session for `--json`: the fields the spec names, one level of known objects deep. Fields the server
 * added are not printed: they are not walked at all (a deeply nested one would overflow the stack).
 */
export function sessionRecord(session: AuthSession): Record<string, unknown> {
  const record = pick(session, SESSION_FIELDS);
  const list = (value: unknown) => (Array.isArray(value) ? value : undefined);
  const ids = list(session.accountIds)?.filter((id) => typeof id === 'string');
  if (ids) record.accountIds = ids;
  const accounts = list(session.accounts)?.map((a) => pick(a, ACCOUNT_FIELDS));
  if (accounts) record.accounts = accounts;
  const selectable = list(session.selectableAccounts)?.map((a) => pick(a, SELECTABLE_FIELDS));
  if (selectable) record.selectableAccounts = selectable;
  return record;
}
