/** `npm run demo` past its build step (which `pretest` did), unattended, as the npm script runs it. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { collect } from './helpers/collect.js';
import { childEnv, ROOT } from './helpers/run-cli.js';

it('npm run demo connects a douyin account through the callback and exits 0 with the account', async () => {
  const { scripts } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8'));
  expect(scripts.demo).toBe('npm run build && tsx scripts/demo.ts');
  const env = childEnv({ AITOEARN_API_KEY: undefined });
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: ROOT, env });
  child.stdin.end();
  const { code, stdout, stderr } = await collect(child).closed;

  expect(code, stderr).toBe(0);
  expect(stdout).toMatch(
    /^\$ AITOEARN_BASE_URL=\S+ AITOEARN_API_KEY=\S+ aitoearn-auth connect douyin --no-open$/m,
  );
  // The command's own output (not a terminal here: no QR code, one progress line per change).
  expect(stderr).toMatch(/^Open this page to authorize douyin:\n {2}http:\/\/127\.0\.0\.1:\d+\/\S+$/m);
  expect(stderr).toMatch(/^aitoearn-auth: pending · /m);
  expect(stderr).toMatch(
    /\[demo\] approved on the consent page \(HTTP 200\); the page's form posted the callback to the command \(HTTP 200\)/,
  );
  expect(stderr).toMatch(/^aitoearn-auth: completed after \d+s; 1 account connected \(session \S+\)$/m);
  expect(stdout).toMatch(/^douyin Sandbox account 1 \(\S+\)$/m);
  expect(stdout).toMatch(/\[demo\] the command's last check reached the sandbox \d+ ms after the approval/);
  expect(stdout).toMatch(/aitoearn-auth connect exited with code 0 \(completed\)/);
});
