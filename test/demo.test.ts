/**
 * `npm run demo` is `npm run build && tsx scripts/demo.ts`. The build is what `pretest` (or the beforeAll
 * below) already did; this runs the rest of it, unattended, exactly as the npm script does.
 */

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { collect } from './helpers/collect.js';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }
});

it('npm run demo approves a sandbox session by itself and exits 0 with the connected account', async () => {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  expect(scripts.demo).toBe('npm run build && tsx scripts/demo.ts');

  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('AITOEARN_')) delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: ROOT, env });
  child.stdin.end();
  const { code, stdout, stderr } = await collect(child).closed;

  expect(code, stderr).toBe(0);
  expect(stdout).toMatch(/^Consent page: http:\/\/127\.0\.0\.1:\d+\/sandbox\/consent\/\S+$/m);
  // The connected account, as the real command prints it on stdout.
  expect(stdout).toMatch(/^douyin Sandbox account 1 \(\S+\)$/m);
  expect(stdout).toMatch(/aitoearn-auth wait exited with code 0 \(completed\)/);
  // The command's live progress (not a terminal here: one line per change) and the demo's approval.
  expect(stderr).toMatch(/^aitoearn-auth: pending · /m);
  expect(stderr).toMatch(/\[demo\] approved on the consent page \(HTTP 200\)/);
  expect(stderr).toMatch(/^aitoearn-auth: completed after \d+s; 1 account connected$/m);
});
