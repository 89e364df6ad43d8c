import { AitoearnInputError } from '../errors.js';
import { isPlatform, PLATFORMS } from '../platforms.js';
import type { Platform } from '../types.js';
import { checkInteger, checkNumber, checkPositiveMs, MAX_TIMER_MS, refuse } from '../validate.js';

/** Connected or selectable accounts: how many (named "Sandbox account 1"…), or their display names. */
export type SandboxAccounts = number | readonly string[];

/**
 * What a sandbox session does by itself. A person on the consent page can still approve or deny any
 * pending session; `afterMs` counts from the session's creation on the sandbox's clock.
 */
export type SandboxOutcome =
  /** Completes after `afterMs` (@default 0) with `accounts` (@default 1). */
  | { readonly type: 'complete'; readonly afterMs?: number; readonly accounts?: SandboxAccounts }
  /** Fails after `afterMs` (@default 0) with `errorCode`, e.g. 15045 (consent denied). */
  | { readonly type: 'fail'; readonly afterMs?: number; readonly errorCode: number }
  /** Stays pending with `requiresSelection` until a person picks; with `afterMs`, picks the first account then. */
  | { readonly type: 'select'; readonly accounts: SandboxAccounts; readonly afterMs?: number }
  /** Stays pending until the session expires (a user who walked away). */
  | { readonly type: 'never' }
  /** Waits for a person on the consent page; approving connects `accounts` (@default 1). */
  | { readonly type: 'manual'; readonly accounts?: SandboxAccounts };

/** What `POST /sandbox/sessions` and `Sandbox.createSession()` take. */
export interface SandboxSessionSpec {
  /** The platform of the session; one of the spec's platform values, e.g. `douyin`. */
  readonly platform: Platform;
  /** What the session does by itself. @default { type: 'manual' } */
  readonly outcome?: SandboxOutcome;
  /** How long this session lives, in milliseconds. @default the sandbox's `sessionLifetimeMs` */
  readonly lifetimeMs?: number;
}

/** A checked outcome with its defaults applied; account lists are display names. */
export type ParsedOutcome =
  | { readonly type: 'complete'; readonly afterMs: number; readonly accounts: readonly string[] }
  | { readonly type: 'fail'; readonly afterMs: number; readonly errorCode: number }
  | { readonly type: 'select'; readonly afterMs: number | undefined; readonly accounts: readonly string[] }
  | { readonly type: 'never' }
  | { readonly type: 'manual'; readonly accounts: readonly string[] };

export interface ParsedSessionSpec {
  readonly platform: Platform;
  readonly outcome: ParsedOutcome;
  readonly lifetimeMs: number | undefined;
}

/** The most accounts one session may offer or connect. */
export const MAX_ACCOUNTS = 50;
const MAX_NAME_LENGTH = 100;
const OUTCOME_TYPES = ['complete', 'fail', 'select', 'never', 'manual'] as const;
const OUTCOME_FIELDS: Readonly<Record<ParsedOutcome['type'], readonly string[]>> = {
  complete: ['type', 'afterMs', 'accounts'],
  fail: ['type', 'afterMs', 'errorCode'],
  select: ['type', 'accounts', 'afterMs'],
  never: ['type'],
  manual: ['type', 'accounts'],
};
const SPEC_FIELDS = ['platform', 'outcome', 'lifetimeMs'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Typos such as "afterMS" would otherwise be ignored silently and the session would do something else.
function refuseUnknownFields(prefix: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new AitoearnInputError(
        `${prefix}${key}`,
        `Unexpected field "${prefix}${key}"; expected only ${known.map((k) => `"${prefix}${k}"`).join(', ')}.`,
      );
    }
  }
}

function parseAfterMs(value: unknown): number {
  return checkNumber('outcome.afterMs', value, 0, MAX_TIMER_MS);
}

function parseAccounts(value: unknown): string[] {
  const field = 'outcome.accounts';
  if (typeof value === 'number') {
    const count = checkInteger(field, value, 1, MAX_ACCOUNTS);
    return Array.from({ length: count }, (_, i) => `Sandbox account ${i + 1}`);
  }
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ACCOUNTS) {
    refuse(
      field,
      `a count from 1 to ${MAX_ACCOUNTS} or an array of 1 to ${MAX_ACCOUNTS} display names`,
      value,
    );
  }
  return value.map((name: unknown, i) => {
    if (
      typeof name !== 'string' ||
      name.trim() === '' ||
      name.length > MAX_NAME_LENGTH ||
      /\p{Cc}/u.test(name)
    ) {
      refuse(
        `${field}[${i}]`,
        `a display name of 1 to ${MAX_NAME_LENGTH} characters without control characters`,
        name,
      );
    }
    return name;
  });
}

function parseOutcome(value: unknown): ParsedOutcome {
  if (value === undefined) return { type: 'manual', accounts: parseAccounts(1) };
  if (!isRecord(value)) refuse('outcome', 'an object such as {"type":"complete","afterMs":3000}', value);
  const type = value.type;
  if (!OUTCOME_TYPES.includes(type as ParsedOutcome['type'])) {
    refuse('outcome.type', `one of ${OUTCOME_TYPES.map((t) => `"${t}"`).join(', ')}`, type);
  }
  const kind = type as ParsedOutcome['type'];
  refuseUnknownFields('outcome.', value, OUTCOME_FIELDS[kind]);
  switch (kind) {
    case 'complete':
      return {
        type: kind,
        afterMs: parseAfterMs(value.afterMs ?? 0),
        accounts: parseAccounts(value.accounts ?? 1),
      };
    case 'fail': {
      const errorCode = value.errorCode;
      if (typeof errorCode !== 'number' || !Number.isSafeInteger(errorCode) || errorCode <= 0) {
        refuse('outcome.errorCode', 'a positive integer such as 15045', errorCode);
      }
      return { type: kind, afterMs: parseAfterMs(value.afterMs ?? 0), errorCode };
    }
    case 'select':
      if (value.accounts === undefined) {
        refuse('outcome.accounts', 'the accounts to choose from (a count or display names)', undefined);
      }
      return {
        type: kind,
        afterMs: value.afterMs === undefined ? undefined : parseAfterMs(value.afterMs),
        accounts: parseAccounts(value.accounts),
      };
    case 'never':
      return { type: kind };
    case 'manual':
      return { type: kind, accounts: parseAccounts(value.accounts ?? 1) };
  }
}

/**
 * Checks a session spec from JSON or from a caller, throwing {@link AitoearnInputError} that names the
 * field (`"outcome.afterMs"`) and the value it refuses.
 */
export function parseSessionSpec(value: unknown): ParsedSessionSpec {
  if (!isRecord(value)) refuse('body', 'an object such as {"platform":"douyin"}', value);
  refuseUnknownFields('', value, SPEC_FIELDS);
  if (!isPlatform(value.platform)) refuse('platform', `one of ${PLATFORMS.join(', ')}`, value.platform);
  const outcome = parseOutcome(value.outcome);
  const lifetimeMs =
    value.lifetimeMs === undefined ? undefined : checkPositiveMs('lifetimeMs', value.lifetimeMs);
  return { platform: value.platform, outcome, lifetimeMs };
}
