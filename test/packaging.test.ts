/**
 * The package as users get it (issue 11, items 24 and 25): what `import 'aitoearn-auth'` loads, the
 * `aitoearn-auth/sandbox` subpath, what `npm pack` ships, the source maps, and a consumer project type-checked
 * with TypeScript's node16 resolution, as ESM and as CommonJS, against the packed package.
 * Needs `npm run build` first (`npm test` runs it).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;

beforeAll(() => {
  expect(existsSync(join(DIST, 'index.js')), 'dist is missing: run `npm run build`').toBe(true);
});

/**
 * The URLs of every module a fresh Node process resolves while it imports `specifier` from the package root,
 * recorded by a module resolve hook that appends each one to a file before the import goes on.
 */
async function modulesLoadedBy(specifier: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'aitoearn-auth-loads-'));
  try {
    const log = join(dir, 'loaded.txt');
    const hooks = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}`;
    const register = `import { register } from 'node:module';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    await run(
      process.execPath,
      [
        '--import',
        `data:text/javascript,${encodeURIComponent(register)}`,
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(specifier)});`,
      ],
      { cwd: ROOT },
    );
    return readFileSync(log, 'utf8').trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('entry points (item 24)', () => {
  it('importing the package loads the client and the waiter, and neither node:http nor the sandbox', async () => {
    const loaded = await modulesLoadedBy('aitoearn-auth');
    const ours = loaded.filter((url) => url.startsWith(pathToFileURL(DIST).href));
    // The hook saw the package itself: an empty or broken log cannot pass this test.
    expect(ours).toContain(pathToFileURL(join(DIST, 'index.js')).href);
    expect(ours).toContain(pathToFileURL(join(DIST, 'poll/wait-for-auth.js')).href);
    expect(loaded.filter((url) => /^node:(http|https|net)$/.test(url))).toEqual([]);
    expect(ours.filter((url) => url.includes('/dist/sandbox/'))).toEqual([]);
  });

  it('the aitoearn-auth/sandbox subpath loads the sandbox (and so node:http)', async () => {
    const loaded = await modulesLoadedBy('aitoearn-auth/sandbox');
    expect(loaded).toContain('node:http');
    expect(loaded).toContain(pathToFileURL(join(DIST, 'sandbox/index.js')).href);
  });

  it('exports only what a user needs from the main entry point', async () => {
    const main = await import(pathToFileURL(join(DIST, 'index.js')).href);
    expect(Object.keys(main).sort()).toEqual([
      'AitoearnApiError',
      'AitoearnError',
      'AitoearnInputError',
      'AitoearnResponseError',
      'AitoearnTransportError',
      'AitoearnUnavailableError',
      'AuthExpiredError',
      'AuthFailedError',
      'AuthTimeoutError',
      'PLATFORMS',
      'apiErrorKind',
      'connectAccount',
      'createAitoearnClient',
      'describeAuthErrorCode',
      'getAuthStatus',
      'isPlatform',
      'isTransient',
      'startAuth',
      'waitForAuth',
      'watchAuth',
    ]);
    const sandbox = await import(pathToFileURL(join(DIST, 'sandbox/index.js')).href);
    expect(Object.keys(sandbox).sort()).toEqual([
      'SANDBOX_API_KEY',
      'SandboxFullError',
      'SandboxListenError',
      'formatSandboxRequest',
      'startSandbox',
    ]);
  });
});

// One `npm pack` for both: its JSON lists what ships, and the tarball is installed into a consumer project.
let home = '';
let files: string[] = [];
beforeAll(async () => {
  // Under the repository's node_modules, so the packed package's own dependencies resolve by walking up.
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  home = mkdtempSync(join(ROOT, 'node_modules/.cache/aitoearn-auth-consumer-'));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', home], {
    cwd: ROOT,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  files = packed?.files.map((f) => f.path) ?? [];
  const installed = join(home, 'node_modules/aitoearn-auth');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', join(home, packed?.filename ?? ''), '-C', installed, '--strip-components=1']);
}, 60_000);
afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('what npm ships (item 25)', () => {
  it('ships the MIT LICENSE that package.json names', () => {
    expect(pkg.license).toBe('MIT');
    expect(files).toContain('LICENSE');
    const text = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
    expect(text).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });

  it('ships every file the exports map points to', () => {
    const targets = Object.values(pkg.exports as Record<string, string | Record<string, string>>).flatMap(
      (t) => (typeof t === 'string' ? [t] : Object.values(t)),
    );
    expect(targets.length).toBeGreaterThan(4);
    for (const target of targets) expect(files).toContain(target.replace(/^\.\//, ''));
  });

  it('ships source maps that carry their sources, since src/ is not shipped', () => {
    expect(files.some((f) => f.startsWith('src/'))).toBe(false);
    const maps = files.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(ROOT, map), 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      expect(sourcesContent?.length, map).toBe(sources.length);
      for (const content of sourcesContent ?? []) expect(typeof content, map).toBe('string');
    }
  });
});

// The same flow in both: the sandbox from its subpath, a typed client and waiter from the main entry.
const flow = `
  const sandbox: Sandbox = await startSandbox();
  const client = createAitoearnClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
  const { sessionId } = sandbox.createSession({ platform: 'douyin', outcome: { type: 'complete' } });
  const session: AuthSession = await waitForAuth(client, { platform: 'douyin', sessionId });
  const failed: typeof AuthFailedError = AuthFailedError;
  console.log(session.status, session.accounts?.length, failed.name);
  await sandbox.close();`;

// One project and one tsc run: with node16 resolution a .mts file is an ES module and a .cts file CommonJS.
it('a consumer with TypeScript node16 resolution type-checks and runs it as ESM and as CommonJS (item 25)', async () => {
  const dir = join(home, 'consumer');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const compilerOptions = {
    module: 'node16',
    target: 'es2022',
    strict: true,
    types: ['node'],
    outDir: 'out',
  };
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions, files: ['esm.mts', 'cjs.cts'] }),
  );
  writeFileSync(
    join(dir, 'esm.mts'),
    `import { type AuthSession, AuthFailedError, createAitoearnClient, waitForAuth } from 'aitoearn-auth';
import { type Sandbox, startSandbox } from 'aitoearn-auth/sandbox';
${flow}
`,
  );
  writeFileSync(
    join(dir, 'cjs.cts'),
    `import type { AuthSession } from 'aitoearn-auth' with { 'resolution-mode': 'import' };
import type { Sandbox } from 'aitoearn-auth/sandbox' with { 'resolution-mode': 'import' };

async function main(): Promise<void> {
  const { AuthFailedError, createAitoearnClient, waitForAuth } = await import('aitoearn-auth');
  const { startSandbox } = await import('aitoearn-auth/sandbox');
${flow}
}
main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
// Node >= 20.19 also loads the ES module with a plain require(), as the README says.
console.log(typeof require('aitoearn-auth').waitForAuth, typeof require('aitoearn-auth/sandbox').startSandbox);
`,
  );
  const compiled = await run(process.execPath, [TSC, '-p', dir]).catch((error: { stdout?: string }) => ({
    stdout: `tsc failed:\n${error.stdout ?? String(error)}`,
  }));
  expect(compiled.stdout).toBe('');
  for (const [file, printed] of [
    ['esm.mjs', 'completed 1 AuthFailedError\n'],
    ['cjs.cjs', 'function function\ncompleted 1 AuthFailedError\n'],
  ] as const) {
    expect((await run(process.execPath, [join(dir, 'out', file)], { cwd: dir })).stdout).toBe(printed);
  }
}, 60_000);
