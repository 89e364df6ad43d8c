/**
 * The waiter's status list against the spec, both ways. The type-level facts as they stand are in
 * test/types.test-d.ts; what only a compiler run can show is what happens when the generated types change,
 * so these edit a copy's generated types (as a spec update would) and type-check src/poll/status.ts there.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KNOWN_STATUSES, narrowStatus } from '../src/poll/status.js';
import { collect } from './helpers/collect.js';
import { copyProject, GENERATED_FILE, type ProjectCopy, REPO_ROOT } from './helpers/project-copy.js';

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

describe('the status enum, drift-proof both ways', () => {
  const ENUM = '"pending" | "completed" | "failed"';
  let project: ProjectCopy;
  let generated = '';

  beforeAll(async () => {
    project = await copyProject();
    generated = await readFile(path.join(project.dir, GENERATED_FILE), 'utf8');
  });
  afterAll(() => project?.cleanup());

  /** Type-checks src/poll/status.ts (and what it imports) against `types` as the generated file. */
  async function typeCheck(name: string, types: string) {
    expect(generated).toContain(`status: ${ENUM};`);
    const config = path.join(project.dir, `tsconfig.${name}.json`);
    await writeFile(config, JSON.stringify({ extends: './tsconfig.json', include: ['src/poll/status.ts'] }));
    await writeFile(path.join(project.dir, GENERATED_FILE), types);
    const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const child = spawn(process.execPath, [tsc, '-p', config, '--noEmit', '--pretty', 'false'], {
      cwd: project.dir,
    });
    const { code, stdout, stderr } = await collect(child).closed;
    return { code, output: `${stdout}${stderr}` };
  }

  it('a new status value fails the type check at the waiter, naming the value', async () => {
    const { code, output } = await typeCheck('added', generated.replace(ENUM, `${ENUM} | "cancelled"`));
    expect(code).not.toBe(0);
    expect(output).toMatch(
      /src\/poll\/status\.ts\(\d+,\d+\): error TS2344: Type '"cancelled"' does not satisfy the constraint 'never'/,
    );
  });

  it('a status widened to a plain string builds (narrowStatus sorts it out at run time)', async () => {
    const { code, output } = await typeCheck(
      'widened',
      generated.replace(`status: ${ENUM};`, 'status: string;'),
    );
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
