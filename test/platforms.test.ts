/**
 * `src/platforms.ts` writes the spec's platforms once, as a runtime list, and checks it against the generated
 * types both ways. These tests change the generated types in a copy of the project, as a spec update would,
 * and type-check `src/platforms.ts` there: an added or a dropped platform must fail the build.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, test } from 'vitest';
import { isPlatform, PLATFORMS } from '../src/platforms.js';
import { collect } from './helpers/collect.js';
import { copyProject, GENERATED_FILE, type ProjectCopy, REPO_ROOT } from './helpers/project-copy.js';

const TSC = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
/** One type check takes seconds, many more on a loaded 2-core machine. */
const TSC_TIMEOUT_MS = 90_000;

let project: ProjectCopy;
let generated: string;

beforeAll(async () => {
  project = await copyProject();
  generated = await readFile(path.join(project.dir, GENERATED_FILE), 'utf8');
  // Only what platforms.ts pulls in (client.ts and the generated types), not the whole project.
  await writeFile(
    path.join(project.dir, 'tsconfig.platforms.json'),
    JSON.stringify({ extends: './tsconfig.json', include: ['src/platforms.ts'] }),
  );
});

afterAll(() => project?.cleanup());

async function typeCheck(types: string): Promise<{ code: number | null; output: string }> {
  await writeFile(path.join(project.dir, GENERATED_FILE), types);
  const child = spawn(
    process.execPath,
    [TSC, '-p', 'tsconfig.platforms.json', '--noEmit', '--pretty', 'false'],
    {
      cwd: project.dir,
    },
  );
  const { code, stdout, stderr } = await collect(child).closed;
  return { code, output: `${stdout}${stderr}` };
}

it(
  'type-checks against the generated types as they are',
  async () => {
    const { code, output } = await typeCheck(generated);
    expect(output).toBe('');
    expect(code).toBe(0);
  },
  TSC_TIMEOUT_MS,
);

test.each([
  ['the spec adds a platform', '"google_business";', '"google_business" | "mastodon";', 'mastodon'],
  ['the spec drops a platform', ' | "linkedin"', '', 'linkedin'],
])(
  'fails the build when %s, naming it in src/platforms.ts',
  async (_name, from, to, named) => {
    expect(generated).toContain(from);
    const { code, output } = await typeCheck(generated.replaceAll(from, to));
    expect(code).not.toBe(0);
    expect(output).toMatch(new RegExp(`src/platforms\\.ts\\(\\d+,\\d+\\): error TS\\d+: .*${named}`));
  },
  TSC_TIMEOUT_MS,
);

it('accepts each listed platform spelled exactly, and nothing else', () => {
  for (const platform of PLATFORMS) expect(isPlatform(platform)).toBe(true);
  for (const other of ['DouYin', 'Douyin', 'kwai', 'douyin ', '', 'constructor', 'toString', 42, undefined]) {
    expect(isPlatform(other)).toBe(false);
  }
});
