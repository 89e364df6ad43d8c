/** A distinctive API key, and every string view of a value in which a leaked key could show up. */
import { inspect } from 'node:util';
import { expect } from 'vitest';

export const CANARY = 'CANARY-9f3c-SECRET';
/** What a leak check looks for. */ export const NEEDLE = '9f3c';

export function views(value: unknown, depth = 0): string[] {
  if (value === null || value === undefined || depth > 5) return [];
  const show = (v: unknown) => (typeof v === 'string' ? v : inspect(v, { depth: 10, showHidden: true }));
  const out = [String(value), show(value)];
  try {
    out.push(JSON.stringify(value) ?? '');
  } catch {
    // Circular or BigInt content: inspect above still covers it.
  }
  if (typeof value === 'object') {
    for (const key of Reflect.ownKeys(value))
      out.push(String(key), show((value as Record<PropertyKey, unknown>)[key]));
    if (value instanceof Error) out.push(value.message, value.stack ?? '', ...views(value.cause, depth + 1));
  }
  return out;
}

export function expectNoKey(...values: unknown[]): void {
  for (const value of values) for (const view of views(value)) expect(view).not.toContain(NEEDLE);
}
