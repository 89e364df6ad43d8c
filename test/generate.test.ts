/**
 * scripts/generate-checks.ts: the decoder's field table follows the spec (a spec change moves the runtime
 * checks with the types), and `--check` fails when the committed table is stale.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it, vi } from 'vitest';
import { CHECKS_FILE, generateChecks, run, SPEC_FILE } from '../scripts/generate-checks.js';

const spec = readFileSync(new URL(`../${SPEC_FILE}`, import.meta.url), 'utf8');
const NEW_STATUS = ['            - failed\n', '            - failed\n            - cancelled\n'] as const;

it.each([
  [
    'a new field',
    'requiresSelection:\n          type: boolean',
    'requiresSelection:\n          type: boolean\n        region:\n          type: string',
    '"region": {\n      "type": "string"\n    }',
  ],
  [
    'a field made required',
    '      required:\n        - sessionId\n        - status',
    '      required:\n        - sessionId\n        - expiresAt\n        - status',
    '"sessionId",\n    "expiresAt",\n    "status"',
  ],
  ['a new status', ...NEW_STATUS, '"failed",\n        "cancelled"'],
  ['a changed format', '          format: date-time', '          format: date', '"format": "date"\n'],
])('puts %s of the spec into the table', (_name, from, to, shows) => {
  expect(spec).toContain(from);
  expect(generateChecks(spec)).not.toContain(shows);
  expect(generateChecks(spec.replace(from, to))).toContain(shows);
});

it('refuses an answer schema that contains itself, naming the cycle (not a RangeError)', () => {
  const from = 'requiresSelection:\n          type: boolean';
  const recursive = spec.replace(
    from,
    `${from}\n        previous:\n          $ref: '#/components/schemas/AuthSessionStatusVo'`,
  );
  expect(recursive).not.toBe(spec);
  expect(() => generateChecks(recursive)).toThrow(
    /the answer schema is recursive \(.*AuthSessionStatusVo → /,
  );
});

it('--check fails when the spec moved without regenerating, and passes when it did not', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aitoearn-checks-'));
  try {
    mkdirSync(path.join(dir, 'openapi'));
    mkdirSync(path.join(dir, 'src/generated'), { recursive: true });
    writeFileSync(path.join(dir, SPEC_FILE), spec);
    expect(run(dir, true)).toBe(1);
    expect(run(dir, false)).toBe(0);
    expect(run(dir, true)).toBe(0);
    writeFileSync(path.join(dir, SPEC_FILE), spec.replace(NEW_STATUS[0], NEW_STATUS[1]));
    const said = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(run(dir, true)).toBe(1);
    expect(said).toHaveBeenCalledWith(`${CHECKS_FILE} is stale: run \`npm run generate\`.`);
  } finally {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true });
  }
});
