/**
 * The one sanitiser for text the server sent (messages, request ids, session fields, account names) on its
 * way to a terminal or a pipe, in every output mode. It replaces, visibly:
 * - C0 controls, DEL and C1 controls: ESC and U+009B (CSI) start sequences that clear the screen, set the
 *   window title or move the cursor; CR, LF and TAB would break the one-line-per-event layout;
 * - bidirectional controls (LRM, RLM, ALM, embeddings, overrides, isolates): they reorder what is shown;
 * - U+2028/U+2029: line breaks to some readers, and left raw by `JSON.stringify`.
 * Each becomes `\xNN` (up to U+00FF) or `\uNNNN`, so a person sees that something was there.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\p{Bidi_Control}\u2028\u2029]/gu;

function escapeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every character that could act on a terminal or reorder a line replaced by its escape. */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * One NDJSON line: every string value (server text included) sanitised, so that the line is valid JSON and
 * safe to show raw, and so that `jq -r` prints the same safe text a person sees.
 */
export function jsonLine(record: Record<string, unknown>): string {
  return JSON.stringify(record, (_key, value: unknown) =>
    typeof value === 'string' ? sanitize(value) : value,
  );
}
