/**
 * The waiter's status list at run time. The type-level side (every status the spec declares is handled;
 * a new one is a type error at the waiter) is test/types.test-d.ts, inside `npm run typecheck`.
 */
import { expect, it } from 'vitest';
import { KNOWN_STATUSES, narrowStatus } from '../src/poll/status.js';

// An unknown status is undefined: the waiter then keeps waiting.
const UNKNOWN = ['cancelled', 'Completed', '', 'constructor', '__proto__', 'pending ', undefined];
it.each([...KNOWN_STATUSES.map((s) => [s, s]), ...UNKNOWN.map((s) => [s, undefined])])(
  'narrowStatus(%j) is %j',
  (status, expected) => expect(narrowStatus(status)).toBe(expected),
);
