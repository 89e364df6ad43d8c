// The package as users get it: what its entry points load and export, what `npm pack` ships, and a node16
// consumer of the packed package as ESM and as CommonJS. Needs `npm run build` first.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { startSandbox } from '../src/sandbox/index.js';
import { collect } from './helpers/collect.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = pathToFileURL(join(ROOT, 'dist')).href;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const dataUrl = (code: string) => `data:text/javascript,${encodeURIComponent(code)}`;

/** The URLs a fresh Node process resolves while importing `specifier`, logged by a module resolve hook. */
async function modulesLoadedBy(specifier: string): Promise<string[]> {
  const log = JSON.stringify(join(home, `${specifier.replace('/', '+')}.loaded`));
  const hooks = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${log}, result.url + '\\n');
  return result;
}`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(dataUrl(hooks))});`;
  const args = ['--import', dataUrl(register), '--input-type=module', '-e', `await import('${specifier}');`];
  await run(process.execPath, args, { cwd: ROOT });
  return readFileSync(JSON.parse(log), 'utf8').trim().split('\n');
}

it.concurrent('importing the package loads the client and the waiter, and neither node:http nor the sandbox', async () => {
  const loaded = await modulesLoadedBy('aitoearn-auth');
  expect(loaded).toEqual(expect.arrayContaining([`${DIST}/index.js`, `${DIST}/poll/wait-for-auth.js`]));
  expect(loaded.filter((url) => /^node:(http|https|net)$|\/dist\/sandbox\//.test(url))).toEqual([]);
});

it.concurrent('the aitoearn-auth/sandbox subpath loads the sandbox (and so node:http)', async () => {
  const loaded = await modulesLoadedBy('aitoearn-auth/sandbox');
  expect(loaded).toEqual(expect.arrayContaining(['node:http', `${DIST}/sandbox/index.js`]));
});

it.concurrent('exports only what a user needs', async () => {
  expect(Object.keys(await import(`${DIST}/index.js`)).sort()).toEqual(
    `AitoearnApiError AitoearnError AitoearnInputError AitoearnResponseError AitoearnTransportError
      AitoearnUnavailableError AuthExpiredError AuthFailedError AuthTimeoutError PLATFORMS apiErrorKind
      connectAccount createAitoearnClient describeAuthErrorCode getAuthStatus isPlatform isTransient printable
      startAuth waitForAuth watchAuth`.split(/\s+/),
  );
  expect(Object.keys(await import(`${DIST}/sandbox/index.js`)).sort()).toEqual(
    'SANDBOX_API_KEY SandboxFullError SandboxListenError formatSandboxRequest startSandbox'.split(' '),
  );
});

// One `npm pack` for both: its JSON lists what ships, and the tarball is installed into a consumer project.
let home = '';
let files: string[] = [];
beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist/index.js')), 'dist is missing: run `npm run build`').toBe(true);
  // Under the repository's node_modules, so the packed package's own dependencies resolve by walking up.
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  home = mkdtempSync(join(ROOT, 'node_modules/.cache/aitoearn-auth-consumer-'));
  const packing = ['pack', '--ignore-scripts', '--json', '--pack-destination', home];
  const [packed] = JSON.parse((await run('npm', packing, { cwd: ROOT })).stdout);
  files = packed.files.map((f: { path: string }) => f.path);
  const installed = join(home, 'node_modules/aitoearn-auth');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', join(home, packed.filename), '-C', installed, '--strip-components=1']);
}, 120_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

it('ships the MIT LICENSE that package.json names, and every file the exports map points to', () => {
  expect(pkg.license).toBe('MIT');
  expect(files).toContain('LICENSE');
  expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(
    /^MIT License\n\nCopyright \(c\) \d{4} [\s\S]*THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/,
  );
  const exports: Record<string, string | Record<string, string>> = pkg.exports;
  const targets = Object.values(exports).flatMap((t) => (typeof t === 'string' ? t : Object.values(t)));
  expect(targets.length).toBeGreaterThan(4);
  for (const target of targets) expect(files).toContain(target.replace(/^\.\//, ''));
});

it('ships source maps that carry their sources, since src/ is not shipped', () => {
  expect(files.filter((f) => f.startsWith('src/'))).toEqual([]);
  const maps = files.filter((f) => f.endsWith('.js.map'));
  expect(maps.length).toBeGreaterThan(10);
  for (const map of maps) {
    const { sources, sourcesContent = [] } = JSON.parse(readFileSync(join(ROOT, map), 'utf8'));
    const kinds = sourcesContent.map((c: unknown) => typeof c);
    expect(kinds, map).toEqual(sources.map(() => 'string'));
  }
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

/** The README's one watchAuth code block, pointed at `AITOEARN_BASE_URL` (the sandbox) instead of a site. */
function readmeExample(): string {
  const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((match) => match[1] as string)
    .filter((block) => block.includes('watchAuth(client') && block.includes("site: 'cn'"));
  expect(blocks).toHaveLength(1);
  return (blocks[0] as string).replace("site: 'cn'", "baseUrl: process.env.AITOEARN_BASE_URL ?? ''");
}

// One project and one tsc run: with node16 resolution a .mts file is an ES module and a .cts file CommonJS.
it("a consumer with TypeScript node16 resolution type-checks it and the README's watchAuth example, and runs it as ESM and as CommonJS", async () => {
  const dir = join(home, 'consumer');
  mkdirSync(dir, { recursive: true });
  const strict = { strict: true, exactOptionalPropertyTypes: true };
  const compilerOptions = { ...strict, module: 'node16', target: 'es2022', types: ['node'], outDir: 'out' };
  for (const [file, text] of Object.entries({
    'package.json': JSON.stringify({ name: 'consumer', private: true }),
    'tsconfig.json': JSON.stringify({ compilerOptions, files: ['esm.mts', 'cjs.cts', 'readme.mts'] }),
    'readme.mts': readmeExample(),
    'esm.mts': `import { type AuthSession, AuthFailedError, createAitoearnClient, waitForAuth } from 'aitoearn-auth';
import { type Sandbox, startSandbox } from 'aitoearn-auth/sandbox';
${flow}`,
    'cjs.cts': `import type { AuthSession } from 'aitoearn-auth' with { 'resolution-mode': 'import' };
import type { Sandbox } from 'aitoearn-auth/sandbox' with { 'resolution-mode': 'import' };
async function main(): Promise<void> {
  const { AuthFailedError, createAitoearnClient, waitForAuth } = await import('aitoearn-auth');
  const { startSandbox } = await import('aitoearn-auth/sandbox');
${flow}
}
main().catch((error: unknown) => { console.error(error); process.exitCode = 1; });
// Node >= 20.19 also loads the ES module with a plain require(), as the README says.
console.log(typeof require('aitoearn-auth').waitForAuth, typeof require('aitoearn-auth/sandbox').startSandbox);`,
  }))
    writeFileSync(join(dir, file), text);
  const tsc = [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir];
  const compiled = await run(process.execPath, tsc).catch((error) => ({
    stdout: `tsc failed:\n${error.stdout}`,
  }));
  expect(compiled.stdout).toBe('');
  const ran = (file: string) => run(process.execPath, [join(dir, 'out', file)], { cwd: dir });
  const [esm, cjs] = await Promise.all([ran('esm.mjs'), ran('cjs.cjs')]);
  expect([esm.stdout, cjs.stdout]).toEqual([
    'completed 1 AuthFailedError\n',
    `function function\n${esm.stdout}`,
  ]);
}, 180_000);

// Plain JavaScript too: run from the consumer project, it imports the packed package.
it('the README\'s watchAuth example runs to completion and exits by itself while stdin stays open, with no "undefined"', async () => {
  const sandbox = await startSandbox();
  onTestFinished(() => sandbox.close());
  const outcome = { type: 'complete', afterMs: 2500 } as const;
  const { sessionId } = sandbox.createSession({ platform: 'douyin', outcome });
  writeFileSync(join(home, 'readme.mjs'), readmeExample());
  const env = { ...process.env, AITOEARN_API_KEY: sandbox.apiKey, AITOEARN_BASE_URL: sandbox.url };
  // stdin is a pipe this test keeps open, as a terminal would be.
  const child = spawn(process.execPath, ['readme.mjs', sessionId], { cwd: home, env, timeout: 55_000 });
  const result = await collect(child).closed.finally(() => child.stdin.destroy());
  expect(result.signal, `stderr: ${result.stderr}`).toBeNull();
  expect(result.code).toBe(0);
  const lines = result.stderr.trim().split('\n');
  // Pending (or, on a loaded machine, retrying) lines before the end; the session completes after 2.5 s.
  for (const line of lines.slice(0, -1)) expect(line).toMatch(/, next check in \d+ ms$/);
  expect(lines.at(-1)).toBe('completed');
  expect(result.stderr).not.toContain('undefined');
});
