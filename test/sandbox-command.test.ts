/**
 * `aitoearn-auth sandbox`, the built command spawned as users run it (run `npm run build` first; `npm test`
 * does): a busy port, `--lifetime`, `--verbose`. Issue 11, items 21 and 23; issue 10's `--lifetime`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../src/sandbox/index.js';
import { type Collected, collect } from './helpers/collect.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const KEY = 'sandbox-key';

/** Spawns the command with a clean environment (no colour, no inherited API settings). */
function spawnCli(args: readonly string[]) {
  const { AITOEARN_API_KEY: _k, AITOEARN_BASE_URL: _u, AITOEARN_SITE: _s, ...env } = process.env;
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, output: collect(child) };
}

/** Resolves once `pattern` appears in the output; rejects if the process ends first. */
async function waitFor(
  output: Collected,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
): Promise<RegExpExecArray> {
  for (;;) {
    const match = pattern.exec(output[stream]);
    if (match) return match;
    const ended = await Promise.race([
      output.closed.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 20)),
    ]);
    if (ended && !pattern.test(output[stream])) {
      throw new Error(`exited before ${pattern}: ${output.stdout}${output.stderr}`);
    }
  }
}

let other: Sandbox;
beforeAll(async () => {
  expect(existsSync(CLI), 'dist/cli/main.js is missing: run `npm run build`').toBe(true);
  other = await startSandbox();
});
afterAll(async () => {
  await other.close();
});

describe('aitoearn-auth sandbox', () => {
  it('exits 6 on a busy port, naming the address and the cause, and does not call it a usage error', async () => {
    const port = new URL(other.url).port;
    const { output } = spawnCli(['sandbox', '--port', port]);
    const result = await output.closed;
    expect(result.code).toBe(6);
    expect(result.stderr).toBe(
      `aitoearn-auth: Cannot listen on 127.0.0.1:${port}: the port is already in use (choose another port, or port 0 for a free one) (EADDRINUSE).\n`,
    );
    expect(result.stdout).toBe('');
  });

  it('--lifetime makes started sessions expire that many seconds after the start', async () => {
    const { child, output } = spawnCli(['sandbox', '--lifetime', '2', '--quiet']);
    try {
      const url = (await waitFor(output, 'stdout', /^Sandbox listening on (\S+)$/m))[1];
      const res = await fetch(`${url}/api/v2/channels/accounts/auth/douyin`, {
        headers: { 'X-Api-Key': KEY },
      });
      const { data } = (await res.json()) as { data: { expiresAt: string } };
      // The Date header and expiresAt come from the same clock reading; Date drops the milliseconds.
      const started = Date.parse(res.headers.get('date') ?? '');
      const lifetime = Date.parse(data.expiresAt) - started;
      expect(lifetime).toBeGreaterThanOrEqual(2000);
      expect(lifetime).toBeLessThan(3000);
    } finally {
      child.kill('SIGTERM');
      await output.closed;
    }
  });

  it('refuses a --lifetime that is not a positive number of seconds, and --lifetime for wait', async () => {
    const bad = await spawnCli(['sandbox', '--lifetime', '-5']).output.closed;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--lifetime');
    const misplaced = await spawnCli(['wait', 'douyin', 'abc', '--lifetime', '5']).output.closed;
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain('--lifetime does not apply to wait');
  });

  it('--verbose logs one stderr line per request (method, path, status, code, ms), never the key', async () => {
    const { child, output } = spawnCli(['sandbox', '--verbose', '--quiet']);
    try {
      const url = (await waitFor(output, 'stdout', /^Sandbox listening on (\S+)$/m))[1];
      await fetch(`${url}/api/v2/channels/accounts/auth/douyin?callbackUrl=http://127.0.0.1:9/t`, {
        headers: { 'X-Api-Key': KEY },
      });
      await fetch(`${url}/api/v2/channels/accounts/auth/douyin/status/${KEY}`, {
        headers: { 'X-Api-Key': KEY },
      });
      await fetch(`${url}/nowhere`, { method: 'DELETE' });
      await waitFor(output, 'stderr', /^DELETE \/nowhere 404 \d+ms$/m);
      const lines = output.stderr.trimEnd().split('\n');
      expect(lines).toEqual([
        expect.stringMatching(/^GET \/api\/v2\/channels\/accounts\/auth\/douyin 200 code=0 \d+ms$/),
        expect.stringMatching(
          /^GET \/api\/v2\/channels\/accounts\/auth\/douyin\/status\/\[redacted\] 200 code=15039 \d+ms$/,
        ),
        expect.stringMatching(/^DELETE \/nowhere 404 \d+ms$/),
      ]);
    } finally {
      child.kill('SIGTERM');
      await output.closed;
    }
  });

  it('logs nothing per request without --verbose', async () => {
    const { child, output } = spawnCli(['sandbox', '--quiet']);
    try {
      const url = (await waitFor(output, 'stdout', /^Sandbox listening on (\S+)$/m))[1];
      expect((await fetch(`${url}/nowhere`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
      await output.closed;
    }
    expect(output.stderr).toBe('');
  });
});
