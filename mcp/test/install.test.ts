/**
 * A project that installs only `aitoearn-auth` gets no MCP SDK: in the committed lockfile, the dependency
 * closure of the root package's `dependencies` (what `npm pack` ships) holds none of the server's packages.
 * The lockfile is what `npm ci` installs, so this needs no network; by hand, with it: `npm pack`, then
 * `npm install ./aitoearn-auth-0.1.0.tgz` in an empty project and `npm ls --all` (18 packages, no SDK).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Locked {
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}
const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, Locked>;
};

/** Where Node finds `name` from the package at `from`: its own node_modules, then each enclosing one. */
function locate(from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!base.includes('node_modules/')) return base === '' ? undefined : locate('', name);
    base = base.slice(0, base.lastIndexOf('/node_modules/'));
  }
}

/** Every package installed along with the one at `root` (peers too: npm installs them). */
function closure(root: string, own: Record<string, string>): Set<string> {
  const found = new Set<string>();
  const visit = (from: string, names: string[]) => {
    for (const name of names) {
      const at = locate(from, name);
      if (at === undefined || found.has(at)) continue;
      found.add(at);
      const { dependencies = {}, optionalDependencies = {}, peerDependencies = {} } = lock.packages[at] ?? {};
      visit(at, Object.keys({ ...dependencies, ...optionalDependencies, ...peerDependencies }));
    }
  };
  visit(root, Object.keys(own));
  return found;
}

const SERVER_ONLY = ['node_modules/@modelcontextprotocol/sdk', 'node_modules/zod', 'node_modules/express'];

describe('the MCP SDK stays in the aitoearn-auth-mcp workspace', () => {
  it('is in the closure of aitoearn-auth-mcp', () => {
    const server = closure('mcp', lock.packages.mcp?.dependencies ?? {});
    for (const name of SERVER_ONLY) expect(server).toContain(name);
  });

  it('is not in the closure of aitoearn-auth, which installs only its own few packages', () => {
    const main = closure('', lock.packages['']?.dependencies ?? {});
    expect(main).toContain('node_modules/p-retry');
    expect(main).toContain('node_modules/is-network-error');
    for (const name of SERVER_ONLY) expect(main).not.toContain(name);
    expect(main.size).toBeLessThan(25);
  });
});
