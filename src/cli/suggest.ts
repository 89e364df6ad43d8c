/** Edit distance counting an adjacent transposition as one edit: `wiat` is one edit from `wait`. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => i + j),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const swap =
        a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? at(i - 2, j - 2) + 1 : Number.POSITIVE_INFINITY;
      (d[i] ?? [])[j] = Math.min(
        at(i - 1, j) + 1,
        at(i, j - 1) + 1,
        at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1),
        swap,
      );
    }
  }
  return at(a.length, b.length);
}

/** The candidate `word` most likely meant: one equal but for case, else the closest within a third of its length. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 40) return undefined;
  const folded = word.toLowerCase();
  const scored = candidates.map((c) => ({
    c,
    d: distance(folded, c.toLowerCase()),
    allowed: Math.min(3, Math.max(1, Math.floor(c.length / 3))),
  }));
  const best = scored.filter((s) => s.d <= s.allowed).sort((x, y) => x.d - y.d)[0];
  return best?.c;
}
