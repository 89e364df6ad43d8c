import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Table } from '../bench/table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPORT = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

function runQuickBench(): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--quick', '--json'],
      { cwd: ROOT, maxBuffer: 32 * 1024 * 1024, timeout: 170_000 },
      (error, stdout, stderr) =>
        error ? reject(Object.assign(error, { stderr })) : resolve({ stdout, stderr }),
    );
  });
}

// The benchmarks' speed is never asserted here: this only keeps the bench code from rotting.
describe('npm run bench -- --quick', () => {
  it('prints every table with rows of finite, non-negative numbers and leaves BENCHMARKS.md alone', async () => {
    const before = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : undefined;
    const { stdout } = await runQuickBench();
    const last = stdout.trim().split('\n').at(-1) ?? '';
    const { tables } = JSON.parse(last) as { tables: Table[] };

    const titles = tables.map((t) => t.title);
    for (const part of [
      'Size',
      'Noticing vs cost',
      'Per-request overhead',
      'Client CPU without a socket',
      'Many waits, defaults',
      'Many sessions at once',
      "The waiter's own memory",
      'Command start-up',
      'Targets',
    ]) {
      expect(
        titles.some((title) => title.startsWith(part)),
        `a table titled "${part}…"`,
      ).toBe(true);
    }
    for (const t of tables) {
      expect(t.rows.length, `rows of "${t.title}"`).toBeGreaterThan(0);
      for (const row of t.rows) expect(row).toHaveLength(t.columns.length);
      // Every printed table is also in stdout, as Markdown.
      expect(stdout).toContain(`### ${t.title}`);
      const values = t.values.flat();
      for (const value of values) {
        expect(Number.isFinite(value), `a number in "${t.title}": ${value}`).toBe(true);
        expect(value).toBeGreaterThanOrEqual(0);
      }
      if (t.title !== 'Targets')
        expect(
          values.some((v) => v > 0),
          `some positive number in "${t.title}"`,
        ).toBe(true);
    }
    const noticing = tables.find((t) => t.title.startsWith('Noticing vs cost'));
    expect(noticing?.rows.map((r) => r[0])).toEqual([
      'waitForAuth (defaults)',
      'fixed 2 s loop',
      'AWS waiter (2 s–120 s, 300 s)',
      'fixed 5 s loop',
      'p-retry (factor 2, 1 s)',
    ]);
    expect(existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : undefined).toBe(before);
  }, 180_000);
});
