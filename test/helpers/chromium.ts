// Debian's Chromium for the real-browser tests (npm's browser downloads cannot reach their hosts from CI),
// installed once with apt-get so that `npm test` alone is enough (as root, or through `sudo -n`).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
/** apt-get on a slow mirror takes minutes: the caller's hook timeout must allow this. */
export const CHROMIUM_INSTALL_TIMEOUT_MS = 15 * 60_000;

export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const sudo = process.getuid?.() === 0 ? '' : 'sudo -n ';
  try {
    execFileSync('sh', ['-c', `${sudo}apt-get update && ${sudo}apt-get install -y chromium`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: CHROMIUM_INSTALL_TIMEOUT_MS,
    });
  } catch (cause) {
    const message = `${CHROMIUM} is missing and apt-get failed; run 'apt-get install -y chromium' as root`;
    throw new Error(message, { cause });
  }
  return CHROMIUM;
}
