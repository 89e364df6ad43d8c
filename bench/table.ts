/** One result table: printed to stdout and written into BENCHMARKS.md, and checked by test/bench.test.ts. */
export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  /** Cells as printed; numeric cells are also kept in `values` for the sanity check. */
  readonly rows: readonly (readonly string[])[];
  /** The numbers behind the cells, aligned with `columns` (`null` for a label cell), one array per row. */
  readonly values: readonly (readonly (number | null)[])[];
  readonly notes: readonly string[];
}

export type Cell = string | { readonly text: string; readonly value: number };

/** Builds a table from cells that are either labels or numbers with their printed form. */
export function table(
  title: string,
  columns: readonly string[],
  cells: readonly (readonly Cell[])[],
  notes: readonly string[] = [],
): Table {
  const rows = cells.map((row) => row.map((c) => (typeof c === 'string' ? c : c.text)));
  const values = cells.map((row) => row.map((c) => (typeof c === 'string' ? null : c.value)));
  return { title, columns, rows, values, notes };
}

export function num(value: number, decimals = 1, suffix = ''): Cell {
  return { text: Number.isFinite(value) ? `${value.toFixed(decimals)}${suffix}` : 'n/a', value };
}

/** Renders a Markdown table with padded columns (readable as plain text too). */
export function renderTable(t: Table): string {
  const widths = t.columns.map((c, i) => Math.max(c.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  const out = [`### ${t.title}`, '', line(t.columns), rule, ...t.rows.map(line)];
  if (t.notes.length > 0) out.push('', ...t.notes.map((n) => `- ${n}`));
  return out.join('\n');
}
