/**
 * The waiter's status list at run time. The type-level side (every status the spec declares is handled;
 * a new one is a type error at the waiter) is test/types.test-d.ts, inside `npm run typecheck`.
 */
import { expect, it } from 'vitest';
import { KNOWN_STATUSES, narrowStatus } from '../src/poll/status.js';

it.each(KNOWN_STATUSES)('narrowStatus keeps %s', (status) => {
  expect(narrowStatus(status)).toBe(status);
});

it.each(['cancelled', 'Completed', '', 'constructor', '__proto__', 'pending ', undefined])(
  'narrowStatus turns %j into undefined (the waiter then keeps waiting)',
  (status) => {
    expect(narrowStatus(status)).toBeUndefined();
  },
);
