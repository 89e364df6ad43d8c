import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  copyProject,
  GENERATED_FILE,
  type ProjectCopy,
  REPO_ROOT,
  SPEC_FILE,
} from './helpers/project-copy.js';

const CLI = path.join(REPO_ROOT, 'node_modules/openapi-typescript/bin/cli.js');

function generate(dir: string, ...extra: string[]) {
  return spawnSync(process.execPath, [CLI, SPEC_FILE, '-o', GENERATED_FILE, ...extra], {
    cwd: dir,
    encoding: 'utf8',
  });
}

let project: ProjectCopy;
beforeAll(async () => {
  project = await copyProject();
});
afterAll(() => project.cleanup());

it('generates the committed file, byte for byte, every time', async () => {
  const committed = await readFile(path.join(REPO_ROOT, GENERATED_FILE));
  for (let run = 0; run < 2; run++) {
    expect(generate(project.dir).status).toBe(0);
    expect((await readFile(path.join(project.dir, GENERATED_FILE))).equals(committed)).toBe(true);
  }
  expect(generate(project.dir, '--check').status).toBe(0);
});

it('fails the drift check when the spec is edited without regenerating', async () => {
  const spec = path.join(project.dir, SPEC_FILE);
  const text = await readFile(spec, 'utf8');
  await writeFile(spec, text.replace('description: 是否需要选择二级账号', 'description: 需要选择账号'));
  const check = generate(project.dir, '--check');
  expect(check.status).not.toBe(0);
});
