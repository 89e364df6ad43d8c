import type { AuthStatus } from '../types.js';

/** The statuses the waiter acts on: keep waiting, resolve, reject. */
export const KNOWN_STATUSES = ['pending', 'completed', 'failed'] as const;
export type KnownStatus = (typeof KNOWN_STATUSES)[number];

/** The spec's statuses the waiter has no case for: `never` when all are known, or for a plain `string`. */
export type UnhandledStatus<S = AuthStatus> =
  string extends NonNullable<S> ? never : Exclude<NonNullable<S>, KnownStatus>;

/**
 * Fails the type check with `Type '"cancelled"' does not satisfy the constraint 'never'` when the spec
 * gains a status: decide what the waiter does with it, add it to `KNOWN_STATUSES`, and handle it there.
 */
function handlesEveryStatus<_Unhandled extends never>(): void {}
handlesEveryStatus<UnhandledStatus>();

/** The status as one the waiter knows, or `undefined` for a status newer than this package. */
export const narrowStatus = (status: AuthStatus | (string & {}) | undefined): KnownStatus | undefined =>
  KNOWN_STATUSES.includes(status as KnownStatus) ? (status as KnownStatus) : undefined;
