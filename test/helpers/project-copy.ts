/**
 * A throwaway copy of the project (`openapi/`, `src/`, `tsconfig.json`, `package.json`, with `node_modules`
 * linked) for tests that rewrite the spec or the generated types without touching the real files.
 */
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** Relative to a project root. */
export const SPEC_FILE = 'openapi/aitoearn.openapi.yaml';
export const GENERATED_FILE = 'src/generated/aitoearn.ts';

export interface ProjectCopy {
  readonly dir: string;
  /** Removes the copy (the `node_modules` symlink goes, its target stays). */
  cleanup(): Promise<void>;
}

export async function copyProject(): Promise<ProjectCopy> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aitoearn-auth-project-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    for (const entry of ['openapi', 'src', 'tsconfig.json', 'package.json'])
      await cp(path.join(REPO_ROOT, entry), path.join(dir, entry), { recursive: true });
    await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { dir, cleanup };
}
