import { AitoearnApiError, AitoearnInputError, AitoearnTransportError, AuthTimeoutError } from '../errors.js';
import type { AuthProgress, AuthSession } from '../index.js';
import { clip, printable } from '../text.js';
import { keySource } from './api-key.js';
import { EXITS, type ExitName, type SessionCommand } from './args.js';

/** One NDJSON line, every string escaped: valid JSON, and `jq -r` prints the same safe text a person sees. */
export const jsonLine = (record: object) =>
  JSON.stringify(record, (_key, value: unknown) => (typeof value === 'string' ? printable(value) : value));

const two = (n: number) => String(n % 60).padStart(2, '0');
/** `0s`, `42s`, `4m 05s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  return s < 3600
    ? `${Math.floor(s / 60)}m ${two(s)}s`
    : `${Math.floor(s / 3600)}h ${two(Math.floor(s / 60))}m`;
}

const COLORS = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 } as const;
type Color = keyof typeof COLORS;
export type Paint = (text: string, color: Color) => string;

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

/** A part of the live line: on a narrow terminal the lowest `keep` goes first, or shrinks to `short` for good. */
const part = (text: string, keep: number, color?: Color, short?: string) => ({ text, keep, color, short });
type Part = ReturnType<typeof part>;
export type EnterHint = 'none' | 'hint' | 'checking';
const ALWAYS = Number.POSITIVE_INFINITY;

/** A retry's cause in a few words. */
function causeOf(error: Error): string {
  if (error instanceof AitoearnApiError) return `code ${error.code} (${error.kind})`;
  if (!(error instanceof AitoearnTransportError)) return printable(error.name);
  return error.reason === 'http-status' ? `HTTP ${error.httpStatus ?? '?'}` : error.reason;
}

/** The parts of the progress line, in display order; `sinceEventMs` ages the event for the live line. */
export function progressSegments(event: AuthProgress, sinceEventMs = 0, enter: EnterHint = 'none'): Part[] {
  const status = clip(event.status ?? 'no answer yet', 100);
  // Whole seconds, so that elapsed and left always add up to the same total however the clock is rounded.
  const totalS = Math.max(0, Math.round((event.elapsedMs + event.remainingMs) / 1000));
  const elapsedS = Math.max(0, Math.floor((event.elapsedMs + sinceEventMs) / 1000));
  const { error, type, nextDelayMs } = event;
  const warning = clip(`${type === 'retry' ? 'retrying: ' : ''}${event.warning}`, 300);
  // The full warning names the request; once it does not fit, its cause is what counts.
  const short = type === 'retry' && error ? `retrying: ${causeOf(error)}` : cutToWidth(warning, 40);
  const parts = [
    part(status, ALWAYS, status === 'pending' ? 'yellow' : status === 'completed' ? 'green' : 'bold'),
    part(`${formatDuration(elapsedS * 1000)} elapsed`, 30),
    part(`${formatDuration(Math.max(0, totalS - elapsedS) * 1000)} left`, 60),
    nextDelayMs !== undefined && part(`next check in ${formatDuration(nextDelayMs - sinceEventMs)}`, 35),
    event.selectionRequired && part('choose your accounts in the browser', 90, 'bold', 'choose accounts'),
    event.warning !== undefined && part(warning, 20, 'red', short),
    enter === 'hint' && part('Enter: check now', 80, 'dim'),
    enter === 'checking' && part('checking now…', 80, 'bold'),
  ];
  return parts.filter((p) => p !== false);
}

/** The parts fitted to `width` columns, least worth keeping first; a line still too long is cut. */
export function fitLine(parts: readonly Part[], paint: Paint, width = ALWAYS): string {
  let shown = [...parts];
  const text = () => shown.map((p) => p.text).join(' · ');
  while (columnsOf(text()) > width) {
    const low = shown.reduce((a, p) => (p.keep < a.keep ? p : a));
    if (low.keep === ALWAYS) return cutToWidth(text(), width);
    shown = shown.flatMap((p) =>
      p !== low ? [p] : low.short === undefined ? [] : [{ ...p, text: low.short, keep: ALWAYS }],
    );
  }
  return shown.map((p) => (p.color ? paint(p.text, p.color) : p.text)).join(paint(' · ', 'dim'));
}

export function pollRecord(event: AuthProgress): object {
  const { type, session, error, status = null, nextDelayMs = null, ...rest } = event;
  return { type: 'poll', kind: type, status, nextDelayMs, ...rest, expiresAt: session?.expiresAt };
}

/** The last NDJSON line: exactly one per run. The session is the decoder's, as it kept it. */
export function resultRecord(exit: ExitName, session?: AuthSession, error?: object) {
  return { type: 'result', outcome: EXITS[exit].outcome, exitCode: EXITS[exit].code, session, error };
}

const isScalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The error for `--json`: name, message, then its and its causes' scalar fields (an expiry's 15039). */
export function errorRecord(error: unknown, message: string): Record<string, unknown> {
  const record: Record<string, unknown> = { name: error instanceof Error ? error.name : 'Error', message };
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth += 1)
    for (const [field, value] of Object.entries(e))
      if (isScalar(value) && !(field in record)) record[field] = value;
  return record;
}

/** The `status` lines: one `path: value` per scalar of the decoded session, in its order. */
export function sessionLines(value: unknown, path = ''): string[] {
  if (isScalar(value)) return [clip(`${path}: ${value}`, 1000)];
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    sessionLines(v, Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key),
  );
}

/** `platform displayName (accountId)`, one per connected account; ids alone when the API named none. */
export function accountLines(session: AuthSession | undefined, platform: string): string[] {
  if (session?.accounts?.length)
    return session.accounts.map((a) => clip(`${a.platform} ${a.displayName} (${a.accountId})`, 500));
  const ids = session?.accountIds ?? (session?.accountId ? [session.accountId] : []);
  return ids.map((id) => clip(`${platform} (${id})`, 500));
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
  const prefix = error instanceof AitoearnInputError && `Expected "${error.field}" to be`;
  if (command && prefix && error.message.startsWith(prefix)) {
    // The library names its option; the person typed a flag or set a variable.
    const word = {
      apiKey: keySource(command.key),
      baseUrl: command.baseUrlFrom ?? '--base-url',
      sessionId: '<sessionId>',
      groupId: '--group-id',
    }[error.field];
    if (word) return `${word} must be${error.message.slice(prefix.length).replace(/\.$/, '')}`;
  }
  return error instanceof Error ? error.message : String(error);
}
