/**
 * Debian's Chromium for the real-browser tests (npm's browser downloads cannot reach their hosts from CI),
 * installed once with apt-get so that `npm test` alone is enough (as root, or through `sudo -n`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
/** apt-get on a slow mirror takes minutes: the caller's hook timeout must allow this. */
export const CHROMIUM_INSTALL_TIMEOUT_MS = 15 * 60_000;

export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const root = process.getuid?.() === 0;
  const run = (args: string[]) => {
    const [command, ...rest] = root ? args : ['sudo', '-n', ...args];
    execFileSync(command ?? 'apt-get', rest, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: CHROMIUM_INSTALL_TIMEOUT_MS,
    });
  };
  try {
    run(['apt-get', 'update']);
    run(['apt-get', 'install', '-y', 'chromium']);
  } catch (error) {
    throw new Error(
      `${CHROMIUM} is missing and installing it failed; run 'apt-get update && apt-get install -y chromium' as root`,
      { cause: error },
    );
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, but ${CHROMIUM} is still missing`);
  return CHROMIUM;
}
