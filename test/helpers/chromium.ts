/**
 * The real-browser test drives Debian's Chromium (the npm browser downloads cannot reach their hosts from
 * CI). On a fresh machine it is not there yet: install it with apt-get, once, so that `npm test` alone is
 * enough (CI runs as root; elsewhere `sudo -n` is tried, and a clear error says what to run).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
/** apt-get update and install on a slow mirror take minutes; the caller's hook timeout must allow this. */
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
