/**
 * The one escaper for text bound for a terminal, a log line or a message: whatever the server, a spec or a
 * person typed. It replaces, visibly, everything that could act on a terminal or hide in it:
 * - C0 controls, DEL and C1 controls (ESC and U+009B start sequences that clear the screen or set a title;
 *   CR, LF and TAB break the one-line-per-event layout);
 * - every format character (Unicode category Cf): bidi controls reorder a line; zero-width characters,
 *   the soft hyphen, U+FEFF, U+2060 and tag characters are invisible, so a key with one inside looks whole;
 *   so are the other default-ignorable characters (Hangul fillers, variation selectors, U+034F);
 * - U+2028/U+2029, line breaks to some readers that `JSON.stringify` leaves raw.
 * Each becomes `\xNN` (up to U+00FF) or `\uNNNN`/`\u{NNNNN}`, so a person sees that something was there.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2028\u2029]/gu;

function escapeChar(char: string): string {
  const hex = (char.codePointAt(0) ?? 0).toString(16);
  if (hex.length <= 2) return `\\x${hex.padStart(2, '0')}`;
  return hex.length <= 4 ? `\\u${hex.padStart(4, '0')}` : `\\u{${hex}}`;
}

/** `text` with every character that could act on a terminal, or hide in it, replaced by its escape. */
export function printable(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** `text` with those characters removed: for prose shown as it is, such as the platform's instructions. */
export function plain(text: string): string {
  return text.replace(UNSAFE, '');
}

const SHOWN = 60;

/** A short, quoted, printable rendering of a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    const cut = value.length > SHOWN;
    const quoted = printable(JSON.stringify(cut ? `${value.slice(0, SHOWN)}…` : value));
    return cut ? `${quoted} (${value.length} characters)` : quoted;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'function') return 'a function';
  return Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}
