/**
 * A throwaway copy of the project for tests that run `scripts/spec-update.ts` (which rewrites the spec,
 * regenerates `src/generated/` and type-checks `src/`) without touching the real files.
 *
 * @example
 * const project = await copyProject();
 * try {
 *   const { code, stdout } = await runSpecUpdate(project.dir, specPath);
 *   expect(code).toBe(0);
 * } finally {
 *   await project.cleanup();
 * }
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect } from './collect.js';

/** The real repository this test file lives in. */
export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** Where the vendored spec and the generated types live, relative to a project root. */
export const SPEC_FILE = 'openapi/aitoearn.openapi.yaml';
export const GENERATED_FILE = 'src/generated/aitoearn.ts';

const COPIED = ['openapi', 'src', 'tsconfig.json', 'package.json'] as const;
const TSX_CLI = path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs');
const SPEC_UPDATE = path.join(REPO_ROOT, 'scripts/spec-update.ts');

export interface ProjectCopy {
  /** The temporary project root: copies of `openapi/`, `src/`, `tsconfig.json`, `package.json`. */
  readonly dir: string;
  /** Removes the copy (the `node_modules` symlink goes, its target stays). */
  cleanup(): Promise<void>;
}

/** Copies the project into a fresh temporary directory, with `node_modules` linked to the real one. */
export async function copyProject(): Promise<ProjectCopy> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aitoearn-auth-project-'));
  try {
    for (const entry of COPIED) {
      await cp(path.join(REPO_ROOT, entry), path.join(dir, entry), { recursive: true });
    }
    await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface RunResult {
  /** The exit code, or `null` when the process was killed by a signal. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real `scripts/spec-update.ts` against the project in `dir` (`--root dir`), with tsx's CLI
 * under the current Node binary. Leave out `specPath` to run it without a spec; `extraArgs` go last.
 */
export function runSpecUpdate(
  dir: string,
  specPath?: string,
  extraArgs: readonly string[] = [],
): Promise<RunResult> {
  const args = [
    TSX_CLI,
    SPEC_UPDATE,
    ...(specPath === undefined ? [] : [specPath]),
    '--root',
    dir,
    ...extraArgs,
  ];
  // Without npm's markers the script resolves a relative spec path against `cwd`, as a direct call would.
  const { npm_lifecycle_event: _event, INIT_CWD: _initCwd, ...env } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    collect(child).closed.then(({ code, stdout, stderr }) => resolve({ code, stdout, stderr }), reject);
  });
}
