import { printable as sanitize } from '../text.js';

export { sanitize };

/**
 * One NDJSON line: every string value (server text included) sanitised, so that the line is valid JSON and
 * safe to show raw, and so that `jq -r` prints the same safe text a person sees.
 */
export function jsonLine(record: Record<string, unknown>): string {
  return JSON.stringify(record, (_key, value: unknown) =>
    typeof value === 'string' ? sanitize(value) : value,
  );
}
