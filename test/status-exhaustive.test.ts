import { spawn } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { STATUS_PATH } from '../src/operations.js';
import { KNOWN_STATUSES, narrowStatus } from '../src/poll/status.js';
import { collect } from './helpers/collect.js';
import {
  copyProject,
  GENERATED_FILE,
  type ProjectCopy,
  REPO_ROOT,
  runSpecUpdate,
  SPEC_FILE,
} from './helpers/project-copy.js';

// Generous: each case runs spec:update (with a type check) and vitest on a shared 2-core machine.
const SPAWN_TIMEOUT_MS = 240_000;
const VITEST_CLI = path.join(REPO_ROOT, 'node_modules/vitest/vitest.mjs');

describe('narrowStatus', () => {
  it.each(KNOWN_STATUSES)('keeps %s', (status) => {
    expect(narrowStatus(status)).toBe(status);
  });

  it.each(['cancelled', 'Completed', '', 'constructor', '__proto__', 'pending ', undefined])(
    'turns %j into undefined (the waiter then keeps waiting)',
    (status) => {
      expect(narrowStatus(status)).toBeUndefined();
    },
  );
});

type Json = Record<string, unknown>;

function withoutColor(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { FORCE_COLOR: _force, ...rest } = env;
  return rest;
}

/** The vendored spec with the status operation's `data.status` schema edited, wherever a $ref puts it. */
async function specWith(dir: string, name: string, change: (status: Json) => void): Promise<string> {
  const spec = YAML.parse(await readFile(path.join(REPO_ROOT, SPEC_FILE), 'utf8'));
  let data = spec.paths[STATUS_PATH].get.responses['200'].content['application/json'].schema.properties.data;
  if (typeof data.$ref === 'string') data = spec.components.schemas[data.$ref.split('/').at(-1)];
  change(data.properties.status);
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify(spec, null, 2));
  return file;
}

/** A snapshot of what spec:update may write, to show that a failed run put it back. */
async function written(dir: string): Promise<string[]> {
  return Promise.all([SPEC_FILE, GENERATED_FILE].map((file) => readFile(path.join(dir, file), 'utf8')));
}

// One copy, with the waiter's unit tests in it (so the type check covers them too), walked in order.
describe('the status enum, drift-proof both ways', () => {
  let project: ProjectCopy;
  let before: string[];

  beforeAll(async () => {
    project = await copyProject();
    for (const entry of ['test/helpers', 'test/wait-for-auth.test.ts']) {
      await cp(path.join(REPO_ROOT, entry), path.join(project.dir, entry), { recursive: true });
    }
    before = await written(project.dir);
  });
  afterAll(async () => {
    await project?.cleanup();
  });

  it(
    'a new status value is refused, and with --adopt fails the type check at the waiter, naming the value (--keep keeps it)',
    async () => {
      const spec = await specWith(project.dir, 'cancelled.json', (status) =>
        (status.enum as string[]).push('cancelled'),
      );
      const refused = await runSpecUpdate(project.dir, spec);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain(
        '! answer data.status: enum value cancelled added (a new status the waiter does not handle)',
      );
      expect(refused.stderr).toContain('Refused: 1 breaking change');

      const adopted = await runSpecUpdate(project.dir, spec, ['--adopt', '--keep']);
      expect(adopted.code).toBe(1);
      expect(adopted.stderr).toMatch(
        /src\/poll\/status\.ts\(\d+,\d+\): error TS2344: Type '"cancelled"' does not satisfy the constraint 'never'\.\n {4}← upstream: GET \/api\/v2\/channels\/accounts\/auth\/\{platform\}\/status\/\{sessionId\}: answer data\.status: enum value cancelled added/,
      );
      // --keep leaves the new spec and types for the user to fix the code against; put them back by hand.
      expect(adopted.stderr).toContain(`Kept the new ${SPEC_FILE} and ${GENERATED_FILE} (--keep)`);
      const [keptSpec, keptGenerated] = await written(project.dir);
      expect(keptSpec).toContain('- cancelled');
      expect(keptGenerated).toContain('"pending" | "completed" | "failed" | "cancelled"');
      await writeFile(path.join(project.dir, SPEC_FILE), before[0] ?? '');
      await writeFile(path.join(project.dir, GENERATED_FILE), before[1] ?? '');
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'a status widened to a plain string builds with --adopt, and the waiter still treats an unknown status as pending',
    async () => {
      const spec = await specWith(project.dir, 'widened.json', (status) => delete status.enum);
      const refused = await runSpecUpdate(project.dir, spec);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain(
        '! answer data.status: enum (pending, completed, failed) dropped, now any string (the waiter narrows it at run time',
      );

      const adopted = await runSpecUpdate(project.dir, spec, ['--adopt']);
      expect(adopted.stderr).toBe('');
      expect(adopted.code).toBe(0);
      expect(adopted.stdout).toContain('Type check passed.');
      const generated = await readFile(path.join(project.dir, GENERATED_FILE), 'utf8');
      expect(generated).not.toContain('"pending" | "completed" | "failed"');
      expect(generated).toMatch(/\bstatus: string;/);

      // The waiter's own unit test, run against the copy's sources built on the widened types.
      const child = spawn(
        process.execPath,
        [VITEST_CLI, 'run', 'test/wait-for-auth.test.ts', '-t', 'treats an unknown status as pending'],
        {
          cwd: project.dir,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...withoutColor(process.env), NO_COLOR: '1' },
        },
      );
      const result = await collect(child).closed;
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/Tests\s+1 passed/);
    },
    SPAWN_TIMEOUT_MS,
  );
});
