import {
  AitoearnApiError,
  AitoearnError,
  AitoearnResponseError,
  AitoearnTransportError,
  AuthFailedError,
} from '../errors.js';
import type { AuthProgress } from '../poll/options.js';
import type { AuthSession, ConnectedAccount, SelectableAccount } from '../types.js';
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

/**
 * One part of the progress line, in forms from full to shortest. Each form's `keep` says how useful it is
 * to show that form rather than the next shorter one (or, for the last form, rather than nothing): on a
 * narrow terminal the form with the lowest `keep` is shortened first. `Infinity` is never given up.
 */
export interface Segment {
  readonly forms: readonly { readonly text: string; readonly keep: number }[];
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
      forms: [{ text: status, keep: Number.POSITIVE_INFINITY }],
      color: status === 'pending' ? 'yellow' : status === 'completed' ? 'green' : 'bold',
    },
    { forms: [{ text: `${formatDuration(elapsedS * 1000)} elapsed`, keep: 30 }] },
    { forms: [{ text: `${formatDuration(leftS * 1000)} left`, keep: 60 }] },
  ];
  if (event.nextDelayMs !== undefined) {
    const next = formatDuration(event.nextDelayMs - sinceEventMs);
    segments.push({
      forms: [
        { text: `next check in ${next}`, keep: 35 },
        { text: `next in ${next}`, keep: 40 },
      ],
    });
  }
  if (event.selectionRequired) {
    segments.push({
      forms: [
        { text: 'choose your accounts in the browser', keep: 90 },
        { text: 'choose accounts in the browser', keep: 91 },
        { text: 'choose accounts', keep: Number.POSITIVE_INFINITY },
      ],
      color: 'bold',
    });
  }
  if (event.warning !== undefined) {
    const retry = event.type === 'retry';
    const full = sanitize(`${retry ? 'retrying: ' : ''}${event.warning}`);
    const cause = retry ? shortCause(event.error) : undefined;
    segments.push({
      // The full message is long (it names the request): once it does not fit, its cause is what counts.
      forms:
        cause === undefined
          ? [
              { text: full, keep: 20 },
              { text: cutToWidth(full, 40), keep: Number.POSITIVE_INFINITY },
            ]
          : [
              { text: full, keep: 20 },
              { text: `retrying: ${cause}`, keep: Number.POSITIVE_INFINITY },
            ],
      color: 'red',
    });
  }
  if (enter === 'hint') {
    segments.push({
      forms: [
        { text: 'Enter: check now', keep: 80 },
        { text: 'Enter: check', keep: 70 },
      ],
      color: 'dim',
    });
  } else if (enter === 'checking') {
    segments.push({ forms: [{ text: 'checking now…', keep: 80 }], color: 'bold' });
  }
  return segments;
}

const SEPARATOR = ' · ';

/**
 * The segments at full length, or shortened to `width` columns: the form least worth keeping is shortened
 * (or dropped) first, until the line fits; a line still too long is cut at the end.
 */
export function fitLine(
  segments: readonly Segment[],
  paint: Paint,
  width = Number.POSITIVE_INFINITY,
): string {
  // level[i] indexes segment i's forms; forms.length means it was dropped.
  const level = segments.map(() => 0);
  const shown = () =>
    segments.flatMap((s, i) => {
      const form = s.forms[level[i] ?? 0];
      return form === undefined ? [] : [{ text: form.text, color: s.color }];
    });
  const plainText = () =>
    shown()
      .map((p) => p.text)
      .join(SEPARATOR);
  while (displayWidth(plainText()) > width) {
    let pick = -1;
    let lowest = Number.POSITIVE_INFINITY;
    segments.forEach((s, i) => {
      const keep = s.forms[level[i] ?? 0]?.keep ?? Number.POSITIVE_INFINITY;
      if (keep < lowest) {
        pick = i;
        lowest = keep;
      }
    });
    if (pick === -1) {
      // Even the shortest forms do not fit: cut the line's end, without colour (escapes have no width).
      return cutToWidth(plainText(), width);
    }
    level[pick] = (level[pick] ?? 0) + 1;
  }
  return shown()
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
