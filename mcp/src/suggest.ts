import { PLATFORMS, printable } from 'aitoearn-auth';

/** The message for a platform not in the list, with the one most likely meant. */
export function unknownPlatform(input: unknown): string {
  const hint = typeof input === 'string' ? didYouMean(input, PLATFORMS) : undefined;
  const shown = typeof input === 'string' ? printable(JSON.stringify(input.slice(0, 40))) : typeof input;
  return `unknown platform ${shown}${hint ? `; did you mean "${hint}"?` : ''} (platforms: ${PLATFORMS.join(', ')})`;
}

/** What `word` most likely meant: the same letters in another case (`DOUYIN`), else the closest candidate
 * within a third of its length (1 to 3 edits, Levenshtein); undefined when none is close. */
function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 40) return undefined;
  const scored = candidates.map((c) => [c, distance(word.toLowerCase(), c.toLowerCase())] as const);
  const close = scored.filter(([c, d]) => d <= Math.min(3, Math.max(1, Math.floor(c.length / 3))));
  return close.sort((x, y) => x[1] - y[1])[0]?.[0];
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, substitute);
    }
    row = next;
  }
  return row[b.length] ?? 0;
}
