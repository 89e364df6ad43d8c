/**
 * The one escaper for text bound for a terminal, a log line or a message: C0/C1 controls and DEL (ESC starts
 * sequences; CR, LF and TAB break the line), format characters (bidi controls reorder a line; zero-width ones
 * hide in a key), the other default-ignorable characters, and U+2028/9, which `JSON.stringify` leaves raw.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2028\u2029]/gu;

function escapeChar(char: string): string {
  const hex = (char.codePointAt(0) ?? 0).toString(16);
  if (hex.length <= 2) return `\\x${hex.padStart(2, '0')}`;
  return hex.length <= 4 ? `\\u${hex.padStart(4, '0')}` : `\\u{${hex}}`;
}

/** `text` with every character that could act on a terminal, or hide in it, replaced by its escape (`\x1b`). */
export const printable = (text: string): string => text.replace(UNSAFE, escapeChar);

/** {@link printable}, cut to `max` characters first: server text may be a megabyte, a line should not be. */
export const clip = (text: string, max: number): string =>
  printable(text.length > max ? `${text.slice(0, max)}…` : text);

/** `text` with those characters removed but its line breaks: for prose, such as the platform's instructions. */
export const plain = (text: string): string => text.replace(UNSAFE, (char) => (char === '\n' ? char : ''));

/** A short, quoted, printable rendering of a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    const quoted = printable(JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value));
    return value.length > 60 ? `${quoted} (${value.length} characters)` : quoted;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'function') return 'a function';
  return Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}
