/**
 * The session statuses the waiter knows, checked against the spec in both directions:
 * - a new value in the spec's status enum (a new way for a session to end) is a type error here, naming it;
 * - a status widened to a plain `string` builds, and `narrowStatus` sorts the values out at run time.
 */
import type { AuthStatus } from '../types.js';

/** The statuses the waiter acts on: keep waiting, resolve, reject. */
export const KNOWN_STATUSES = ['pending', 'completed', 'failed'] as const;
export type KnownStatus = (typeof KNOWN_STATUSES)[number];

/**
 * The spec's status values the waiter has no case for: `never` when every declared value is known, or when
 * the spec declares a plain `string` (nothing to enumerate; `narrowStatus` handles it at run time).
 */
export type UnhandledStatus =
  string extends NonNullable<AuthStatus> ? never : Exclude<NonNullable<AuthStatus>, KnownStatus>;

/**
 * Fails the type check with `Type '"cancelled"' does not satisfy the constraint 'never'` when the spec
 * gains a status: decide what the waiter does with it, add it to `KNOWN_STATUSES`, and handle it there.
 */
function handlesEveryStatus<_Unhandled extends never>(): void {}
handlesEveryStatus<UnhandledStatus>();

const known: ReadonlySet<string> = new Set(KNOWN_STATUSES);

/**
 * The status as one the waiter knows, or `undefined` for any other value (the server may send a status
 * newer than this package, or the spec may stop enumerating or requiring them).
 *
 * @example
 * narrowStatus('completed'); // 'completed'
 * narrowStatus('cancelled'); // undefined
 */
export function narrowStatus(status: AuthStatus | (string & {}) | undefined): KnownStatus | undefined {
  return typeof status === 'string' && known.has(status) ? (status as KnownStatus) : undefined;
}
