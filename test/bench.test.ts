import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import type { Table } from '../bench/table.js';
import { ROOT } from './helpers/run-cli.js';

const TITLES =
  `Size; Noticing vs cost; Per-request overhead; Client CPU without a socket; Many waits, defaults;
  Many sessions at once; The waiter's own memory; Command start-up; Targets`.split(/;\s+/);

// The benchmarks' speed is never asserted here: this only keeps the bench code from rotting.
it('npm run bench -- --quick prints every table with finite, non-negative numbers and leaves BENCHMARKS.md alone', async () => {
  const report = () => readFileSync(`${ROOT}/BENCHMARKS.md`, 'utf8');
  const before = report();
  const args = ['--import', 'tsx', 'bench/run.ts', '--quick', '--json'];
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: ROOT, maxBuffer: 2 ** 25 });
  const { tables } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { tables: Table[] };
  const titles = TITLES.map((part) => expect.stringMatching(new RegExp(`^${part}`)));
  expect(tables.map((t) => t.title)).toEqual(expect.arrayContaining(titles));
  for (const t of tables) {
    expect(stdout).toContain(`### ${t.title}`);
    expect(t.rows.length, t.title).toBeGreaterThan(0);
    for (const row of t.rows) expect(row).toHaveLength(t.columns.length);
    // A memory figure is a difference of two samples: negative when the OS took pages back meanwhile.
    const signed = t.columns.map((c) => /RSS|heap/.test(c) && t.title.startsWith('Many sessions'));
    const cells = t.values.flatMap((row) =>
      row.map((v, i) => ({ v, column: t.columns[i], signed: signed[i] })),
    );
    const bad = cells.filter(({ v, signed }) => v !== null && !(Number.isFinite(v) && (signed || v >= 0)));
    expect(bad, t.title).toEqual([]);
    const values = cells.flatMap(({ v }) => (v === null ? [] : [v]));
    if (t.title !== 'Targets') expect(Math.max(...values), t.title).toBeGreaterThan(0);
  }
  expect(tables.find((t) => t.title.startsWith('Noticing vs cost'))?.rows.map((r) => r[0])).toEqual([
    ...['waitForAuth (defaults)', 'fixed 2 s loop', 'AWS waiter (2 s–120 s, 300 s)', 'fixed 5 s loop'],
    'p-retry (factor 2, 1 s)',
  ]);
  expect(report()).toBe(before);
}, 240_000);
