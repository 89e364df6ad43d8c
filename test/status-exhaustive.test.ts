import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  copyProject,
  type ProjectCopy,
  REPO_ROOT,
  runSpecUpdate,
  SPEC_FILE,
} from './helpers/project-copy.js';

type Spec = {
  components: { schemas: { AuthSessionStatusVo: { properties: { status: Record<string, unknown> } } } };
};

async function specWith(dir: string, change: (status: Record<string, unknown>) => void): Promise<string> {
  const spec = parse(await readFile(path.join(REPO_ROOT, SPEC_FILE), 'utf8')) as Spec;
  change(spec.components.schemas.AuthSessionStatusVo.properties.status);
  const file = path.join(dir, 'changed-spec.json');
  await writeFile(file, JSON.stringify(spec, null, 2));
  return file;
}

describe("the waiter's switch over status is exhaustive at the type level", () => {
  let project: ProjectCopy | undefined;
  afterEach(async () => {
    await project?.cleanup();
    project = undefined;
  });

  it.each([
    ['widened to a plain string', (s: Record<string, unknown>) => delete s.enum],
    ['given a new value', (s: Record<string, unknown>) => (s.enum as string[]).push('cancelled')],
  ])(
    'fails the type check at that switch when status is %s',
    async (_, change) => {
      project = await copyProject();
      const result = await runSpecUpdate(project.dir, await specWith(project.dir, change));
      const output = result.stdout + result.stderr;
      expect(result.code).not.toBe(0);
      expect(output).toMatch(
        /src\/poll\/wait-for-auth\.ts\(\d+,\d+\): error TS2322: Type '.*' is not assignable to type 'never'/,
      );
    },
    90_000,
  );

  it('type-checks when the spec is unchanged (the control case)', async () => {
    project = await copyProject();
    const result = await runSpecUpdate(project.dir, await specWith(project.dir, () => {}));
    expect(result.stderr + result.stdout).not.toContain('error TS');
    expect(result.code).toBe(0);
  }, 90_000);
});
