/** Sessions: a spec checked, the state at an instant (from timestamps: no timer), a person's answer. */
import { randomInt } from 'node:crypto';
import { CONSENT_DENIED } from '../codes.js';
import { isPlatform, PLATFORMS } from '../platforms.js';
import { checkInteger, checkNumber, checkPositiveMs, MAX_TIMER_MS, refuse } from '../validate.js';
import type { SandboxOutcome } from './options.js';

const NANOID = 'useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict';
const random = (length: number, alphabet: string) =>
  Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
/** `nanoid(16)` as the real server's ids, but never starting with `-` (a command line reads that as an option). */
export const newSessionId = () => random(1, NANOID.replace('-', '')) + random(15, NANOID);
/** 21 characters of `[0-9a-z]`, as the real server's request ids. */
export const newRequestId = () => random(21, '0123456789abcdefghijklmnopqrstuvwxyz');
export const iso = (ms: number) => new Date(ms).toISOString();

/** A request the sandbox refuses, with the HTTP status (and any headers) to answer. */
export class Refused extends Error {
  declare readonly httpStatus: number;
  declare readonly headers: Readonly<Record<string, string>>;
  constructor(httpStatus: number, message: string, headers = {}) {
    super(message);
    Object.assign(this, { httpStatus, headers });
  }
}

const OUTCOME_FIELDS: Readonly<Record<SandboxOutcome['type'], readonly string[]>> = {
  complete: ['afterMs', 'accounts'],
  fail: ['afterMs', 'errorCode'],
  select: ['accounts', 'afterMs'],
  never: [],
  manual: ['accounts'],
};
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// A typo such as "afterMS" would otherwise be ignored, and the session would silently do something else.
function onlyFields(prefix: string, value: Record<string, unknown>, known: readonly string[]): void {
  const extra = Object.keys(value).find((key) => !known.includes(key));
  const only = `"${prefix}${known.join(`", "${prefix}`)}"`;
  if (extra !== undefined) refuse(prefix + extra, `absent, as only ${only} are known`, value[extra]);
}

function accountNames(value: unknown = 1): string[] {
  const [field, max] = ['outcome.accounts', 50];
  if (typeof value === 'number')
    return Array.from({ length: checkInteger(field, value, 1, max) }, (_, i) => `Sandbox account ${i + 1}`);
  if (!Array.isArray(value) || value.length === 0 || value.length > max)
    refuse(field, `a count from 1 to ${max} or an array of 1 to ${max} display names`, value);
  return value.map((name: unknown, i) => {
    if (typeof name === 'string' && name.trim() && name.length <= 100 && !/\p{Cc}/u.test(name)) return name;
    return refuse(`${field}[${i}]`, 'a display name of 1 to 100 characters without control characters', name);
  });
}

/** Checks a spec from JSON or a caller; a bad one throws `AitoearnInputError` naming the field and value. */
export function parseSessionSpec(value: unknown) {
  if (!isRecord(value)) refuse('body', 'an object such as {"platform":"douyin"}', value);
  onlyFields('', value, ['platform', 'outcome', 'lifetimeMs']);
  const { platform, outcome = { type: 'manual' }, lifetimeMs } = value;
  if (!isPlatform(platform)) refuse('platform', `one of ${PLATFORMS.join(', ')}`, platform);
  if (!isRecord(outcome)) refuse('outcome', 'an object such as {"type":"complete","afterMs":3000}', outcome);
  const { type, afterMs, errorCode, accounts } = outcome;
  if (typeof type !== 'string' || !Object.hasOwn(OUTCOME_FIELDS, type))
    refuse('outcome.type', `one of "${Object.keys(OUTCOME_FIELDS).join('", "')}"`, type);
  const kind = type as SandboxOutcome['type'];
  onlyFields('outcome.', outcome, ['type', ...OUTCOME_FIELDS[kind]]);
  if (kind === 'select' && accounts === undefined) {
    const expected = 'the accounts to choose among, a count such as 2 or display names ("select" needs them)';
    refuse('outcome.accounts', expected, accounts);
  }
  if (kind === 'fail' && !(Number.isSafeInteger(errorCode) && (errorCode as number) > 0))
    refuse('outcome.errorCode', 'a positive integer such as 15045', errorCode);
  // Undefined: never by itself (a person decides, or nobody does).
  const after = afterMs ?? (kind === 'complete' || kind === 'fail' ? 0 : undefined);
  const outcomeChecked = {
    type: kind,
    afterMs: after === undefined ? after : checkNumber('outcome.afterMs', after, 0, MAX_TIMER_MS),
    accounts: accountNames(accounts),
    errorCode: Number(errorCode),
    chosen: undefined as readonly number[] | undefined, // a person's choice, as indexes into `accounts`
  };
  const lifetime = lifetimeMs === undefined ? undefined : checkPositiveMs('lifetimeMs', lifetimeMs);
  return { platform, outcome: outcomeChecked, lifetimeMs: lifetime };
}

/** The start operation's query: where the browser goes after an approval. */
export type BrowserTargets = { readonly [K in 'callbackUrl' | 'redirectUri']?: string | undefined };

export interface StoredSession extends ReturnType<typeof parseSessionSpec>, BrowserTargets {
  readonly id: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** The accounts a person may connect, as the consent page and `selectableAccounts` show them. */
export const candidates = ({ platform, outcome }: StoredSession) =>
  outcome.accounts.map((displayName, i) => ({ platform, platformUid: `sandbox-uid-${i + 1}`, displayName }));

/** The session as the status operation reports it at `now`: its outcome once `afterMs` has passed. */
export function view(session: StoredSession, now: number) {
  const { type, afterMs = Number.POSITIVE_INFINITY, errorCode, chosen } = session.outcome;
  const base = { sessionId: session.id, expiresAt: iso(session.expiresAt), requiresSelection: false };
  const offered = candidates(session);
  const selecting = type === 'select' && { requiresSelection: true, selectableAccounts: offered };
  if (now < session.createdAt + afterMs) return { ...base, status: 'pending', ...selecting } as const;
  if (type === 'fail') return { ...base, status: 'failed', errorCode } as const;
  // Stable ids: connecting the same platform account again yields the same ids, as on the real service.
  const accounts = (chosen ?? (type === 'select' ? [0] : offered.map((_, i) => i))).map((i) => ({
    accountId: `sandbox-${session.platform}-${i + 1}`,
    ...(offered[i] as (typeof offered)[number]),
  }));
  const accountIds = accounts.map((a) => a.accountId);
  return { ...base, status: 'completed', accountId: accountIds[0] ?? '', accountIds, accounts } as const;
}

/** A person's answer, which replaces the scripted outcome from `now` on; {@link Refused} when impossible. */
export function decide(session: StoredSession, action: string, now: number, platformUids: unknown) {
  const [{ id }, { status, requiresSelection: selecting }] = [session, view(session, now)];
  if (status !== 'pending') throw new Refused(409, `Session ${id} is no longer pending: it is ${status}.`);
  if (action !== 'deny' && (action === 'select') !== selecting) {
    const select = `requires choosing accounts: POST /sandbox/sessions/${id}/select with {"platformUids": [...]}`;
    throw new Refused(409, `Session ${id} ${selecting ? select : 'asks for no choice: approve or deny it'}.`);
  }
  const chosen = action === 'select' ? choose(session, platformUids) : undefined;
  const [type, afterMs] = [action === 'deny' ? 'fail' : 'complete', now - session.createdAt] as const;
  session.outcome = { ...session.outcome, type, afterMs, errorCode: CONSENT_DENIED, chosen };
  return view(session, now);
}

function choose(session: StoredSession, platformUids: unknown): number[] {
  const offered = candidates(session).map((c) => c.platformUid);
  const expected = `offered account uids (${offered.map((u) => JSON.stringify(u)).join(', ')})`;
  if (!Array.isArray(platformUids) || platformUids.length === 0)
    refuse('platformUids', `a non-empty array of ${expected}`, platformUids);
  const chosen = platformUids.map((uid, i) => {
    const index = offered.indexOf(uid);
    return index === -1 ? refuse(`platformUids[${i}]`, `one of the ${expected}`, uid) : index;
  });
  return [...new Set(chosen)];
}
