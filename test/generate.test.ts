/**
 * scripts/generate-checks.ts: the decoder's field table follows the spec (a spec change moves the runtime
 * checks with the types), and `--check` fails when the committed table is stale.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { CHECKS_FILE, generateChecks, SPEC_FILE } from '../scripts/generate-checks.js';
import { copyProject, REPO_ROOT } from './helpers/project-copy.js';

const spec = await readFile(path.join(REPO_ROOT, SPEC_FILE), 'utf8');

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
  [
    'a new status',
    '            - failed\n',
    '            - failed\n            - cancelled\n',
    '"failed",\n        "cancelled"',
  ],
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

it('--check fails when the spec moved without regenerating, and passes when it did not', async () => {
  const project = await copyProject();
  try {
    await mkdir(path.join(project.dir, 'scripts'));
    await writeFile(
      path.join(project.dir, 'scripts/generate-checks.ts'),
      await readFile(path.join(REPO_ROOT, 'scripts/generate-checks.ts')),
    );
    const check = () =>
      spawnSync(
        process.execPath,
        [path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/generate-checks.ts', '--check'],
        {
          cwd: project.dir,
          encoding: 'utf8',
        },
      );
    expect(check().status).toBe(0);
    await writeFile(
      path.join(project.dir, SPEC_FILE),
      spec.replace('            - failed\n', '            - failed\n            - cancelled\n'),
    );
    const stale = check();
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain(`${CHECKS_FILE} is stale: run \`npm run generate\`.`);
  } finally {
    await project.cleanup();
  }
});
