import {
  AitoearnApiError,
  AitoearnInputError,
  AitoearnTransportError,
  type AuthProgress,
  type AuthSession,
  AuthTimeoutError,
} from '../index.js';
import { printable } from '../text.js';
import type { SessionCommand } from './args.js';
import { EXITS, type ExitName } from './exit-codes.js';

/** One NDJSON line, every string escaped: valid JSON, and `jq -r` prints the same safe text a person sees. */
export const jsonLine = (record: object) =>
  JSON.stringify(record, (_key, value: unknown) => (typeof value === 'string' ? printable(value) : value));

/** `0s`, `42s`, `4m 05s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  if (s < 60) return `${s}s`;
  const [big, small, unit] = m < 60 ? [m, s % 60, 'm'] : [Math.floor(m / 60), m % 60, 'h'];
  return `${big}${unit} ${String(small).padStart(2, '0')}${unit === 'm' ? 's' : 'm'}`;
}

const COLORS = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 } as const;
export type Paint = (text: string, color: keyof typeof COLORS) => string;

/** Colours only on a terminal with `NO_COLOR` absent or empty (no-color.org). */
export const painter = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Paint =>
  stream.isTTY === true && !env.NO_COLOR
    ? (text, color) => `\x1b[${COLORS[color]}m${text}\x1b[0m`
    : (text) => text;

/** string-width takes ~40 ms to load, and only a live line needs it. */
let columnsOf = (text: string) => text.length;
export async function loadWidths(): Promise<void> {
  columnsOf = (await import('string-width')).default;
}

/** `text` cut to `width` columns, never inside a wide character, marked with `…` when cut. */
export function cutToWidth(text: string, width: number): string {
  if (columnsOf(text) <= width) return text;
  let out = '';
  for (const { segment } of new Intl.Segmenter().segment(text)) {
    if (columnsOf(`${out}${segment}…`) > width) break;
    out += segment;
  }
  return width > 0 ? `${out}…` : '';
}

/**
 * One part of the live line, in forms from full to shortest; `keep` is what that form is worth over the next
 * shorter one (or, for the last, over nothing). On a narrow terminal the lowest goes first.
 */
interface Segment {
  readonly forms: readonly (readonly [text: string, keep: number])[];
  readonly color?: keyof typeof COLORS;
}
export type EnterHint = 'none' | 'hint' | 'checking';
const ALWAYS = Number.POSITIVE_INFINITY;

/** Elapsed and left in whole seconds that always add up to the same total, however the clock is rounded. */
export function clocks(event: AuthProgress, sinceEventMs = 0): { elapsedS: number; leftS: number } {
  const totalS = Math.max(0, Math.round((event.elapsedMs + event.remainingMs) / 1000));
  const elapsedS = Math.max(0, Math.floor((event.elapsedMs + sinceEventMs) / 1000));
  return { elapsedS, leftS: Math.max(0, totalS - elapsedS) };
}

/** The retry's cause in a few words, from the error's structured fields. */
function shortCause(error: Error | undefined): string | undefined {
  if (error instanceof AitoearnApiError) return `code ${error.code} (${error.kind})`;
  if (error instanceof AitoearnTransportError)
    return error.reason === 'http-status' ? `HTTP ${error.httpStatus ?? '?'}` : error.reason;
  return error && printable(error.name);
}

/** The parts of the progress line, in display order; `sinceEventMs` ages the event for the live line. */
export function progressSegments(event: AuthProgress, sinceEventMs = 0, enter: EnterHint = 'none') {
  const status = printable(event.status ?? 'no answer yet');
  const { elapsedS, leftS } = clocks(event, sinceEventMs);
  const next = formatDuration((event.nextDelayMs ?? 0) - sinceEventMs);
  const full = printable(`${event.type === 'retry' ? 'retrying: ' : ''}${event.warning}`);
  const cause = event.type === 'retry' ? shortCause(event.error) : undefined;
  const segments: (Segment | false)[] = [
    {
      forms: [[status, ALWAYS]],
      color: status === 'pending' ? 'yellow' : status === 'completed' ? 'green' : 'bold',
    },
    { forms: [[`${formatDuration(elapsedS * 1000)} elapsed`, 30]] },
    { forms: [[`${formatDuration(leftS * 1000)} left`, 60]] },
    event.nextDelayMs !== undefined && {
      forms: [
        [`next check in ${next}`, 35],
        [`next in ${next}`, 40],
      ],
    },
    event.selectionRequired && {
      forms: [
        ['choose your accounts in the browser', 90],
        ['choose accounts in the browser', 91],
        ['choose accounts', ALWAYS],
      ],
      color: 'bold',
    },
    // The full warning names the request; once it does not fit, its cause is what counts.
    event.warning !== undefined && {
      forms: [
        [full, 20],
        [cause === undefined ? cutToWidth(full, 40) : `retrying: ${cause}`, ALWAYS],
      ],
      color: 'red',
    },
    enter === 'hint' && {
      forms: [
        ['Enter: check now', 80],
        ['Enter: check', 70],
      ],
      color: 'dim',
    },
    enter === 'checking' && { forms: [['checking now…', 80]], color: 'bold' },
  ];
  return segments.filter((s): s is Segment => s !== false);
}

/** The segments shortened to `width` columns, least worth keeping first; a line still too long is cut. */
export function fitLine(segments: readonly Segment[], paint: Paint, width = ALWAYS): string {
  const level = segments.map(() => 0);
  const shown = () => segments.flatMap((s, i) => (s.forms[level[i] ?? 0] ? [{ s, i }] : []));
  const text = ({ s, i }: { s: Segment; i: number }) => s.forms[level[i] ?? 0]?.[0] ?? '';
  while (columnsOf(shown().map(text).join(' · ')) > width) {
    const keeps = segments.map((s, i) => s.forms[level[i] ?? 0]?.[1] ?? ALWAYS);
    const pick = keeps.indexOf(Math.min(...keeps));
    if (keeps[pick] === ALWAYS) return cutToWidth(shown().map(text).join(' · '), width);
    level[pick] = (level[pick] ?? 0) + 1;
  }
  return shown()
    .map((part) => (part.s.color ? paint(text(part), part.s.color) : text(part)))
    .join(paint(' · ', 'dim'));
}

/** One NDJSON `poll` line. */
export function pollRecord(event: AuthProgress): object {
  const { type, session, error, status = null, nextDelayMs = null, ...rest } = event;
  return { type: 'poll', kind: type, status, nextDelayMs, ...rest, expiresAt: session?.expiresAt };
}

/** The last NDJSON line: exactly one per run. The session is the decoder's, as it kept it. */
export const resultRecord = (
  exit: ExitName,
  session?: AuthSession,
  error?: object,
  outcome: string = EXITS[exit].outcome,
): object => ({ type: 'result', outcome, exitCode: EXITS[exit].code, session, error });

const isScalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * The error for `--json`: its name, the message in the command's words, its own scalar fields, then its
 * causes' (an expiry's 15039, an outage's request id). No error holds the key.
 */
export function errorRecord(error: unknown, message: string): Record<string, unknown> {
  const record: Record<string, unknown> = { name: error instanceof Error ? error.name : 'Error', message };
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth += 1) {
    for (const [field, value] of Object.entries(e))
      if (isScalar(value) && !(field in record)) record[field] = value;
  }
  return record;
}

/** The `status` lines: one `path: value` per scalar of the decoded session, in its order. */
export function sessionLines(value: unknown, path = ''): string[] {
  if (isScalar(value)) return [printable(`${path}: ${value}`)];
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    sessionLines(v, Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key),
  );
}

/** `platform displayName (accountId)`, one per connected account; ids alone when the API named none. */
export function accountLines(session: AuthSession | undefined, platform: string): string[] {
  if (session?.accounts?.length)
    return session.accounts.map((a) => printable(`${a.platform} ${a.displayName} (${a.accountId})`));
  const ids = session?.accountIds ?? (session?.accountId ? [session.accountId] : []);
  return ids.map((id) => printable(`${platform} (${id})`));
}

/** The message a person sees (and the result line carries), in the command's words. */
export function messageOf(error: unknown, command: SessionCommand | undefined): string {
  if (error instanceof AuthTimeoutError && command) {
    const limit =
      command.timeoutText === undefined
        ? `the default --timeout of ${Math.round(error.timeoutMs / 1000)} seconds`
        : `--timeout ${command.timeoutText}`;
    return `gave up after ${limit} (last status: ${error.session?.status ?? 'none seen'})`;
  }
  if (error instanceof AitoearnInputError && command) {
    const { key } = command;
    const word = {
      apiKey:
        key.from === 'env'
          ? 'AITOEARN_API_KEY'
          : key.path === '-'
            ? 'the API key on stdin'
            : `the API key in ${JSON.stringify(key.path)}`,
      baseUrl: command.baseUrlFrom ?? '--base-url',
      site: '--site',
      platform: '<platform>',
      sessionId: '<sessionId>',
      timeoutMs: '--timeout',
    }[error.field];
    const prefix = `Expected "${error.field}" to be`;
    if (word && error.message.startsWith(prefix))
      return `${word} must be${error.message.slice(prefix.length).replace(/\.$/, '')}`;
  }
  return error instanceof Error ? error.message : String(error);
}
