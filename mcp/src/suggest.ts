import { PLATFORMS } from 'aitoearn-auth';

/** The message for a platform not in the list, with the one most likely meant (see {@link didYouMean}). */
export function unknownPlatform(input: unknown): string {
  const hint = typeof input === 'string' ? didYouMean(input, PLATFORMS) : undefined;
  const shown = typeof input === 'string' ? JSON.stringify(input.slice(0, 40)) : typeof input;
  return `unknown platform ${shown}${hint ? `; did you mean "${hint}"?` : ''} (platforms: ${PLATFORMS.join(', ')})`;
}

/**
 * The candidate `word` was most likely meant to be: the same letters in another case (`DOUYIN`), else the
 * closest one within a third of its length (1 to 3 edits, Levenshtein); undefined when none is close.
 */
function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 40) return undefined;
  let best: { candidate: string; d: number } | undefined;
  for (const candidate of candidates) {
    const [a, b] = [word.toLowerCase(), candidate.toLowerCase()];
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) {
        const substitute = (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
        next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, substitute);
      }
      row = next;
    }
    const d = row[b.length] ?? 0;
    const close = d <= Math.min(3, Math.max(1, Math.floor(candidate.length / 3)));
    if (close && d < (best?.d ?? Number.POSITIVE_INFINITY)) best = { candidate, d };
  }
  return best?.candidate;
}
