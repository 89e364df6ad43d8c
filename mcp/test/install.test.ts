/**
 * A project that installs only `aitoearn-auth` gets no MCP SDK: in the committed lockfile (what `npm ci`
 * installs, so no network), the closure of the root package's `dependencies` holds none of the server's.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

type Deps = Record<string, Record<string, string> | undefined>;
const lock = readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8');
const { packages } = JSON.parse(lock) as { packages: Record<string, Deps> };

/** Every package installed along with the one at `root` (peers too: npm installs them), each found where Node
 * looks: the package's own node_modules, then each enclosing one. */
function closure(root: string, found = new Set<string>()): Set<string> {
  const bases = [root];
  for (let b = root; b.includes('/node_modules/'); bases.push(b))
    b = b.slice(0, b.lastIndexOf('/node_modules/'));
  const { dependencies, optionalDependencies, peerDependencies } = packages[root] ?? {};
  for (const name of Object.keys({ ...dependencies, ...optionalDependencies, ...peerDependencies })) {
    const paths = [...bases, ''].map((b) => `${b && `${b}/`}node_modules/${name}`);
    const at = paths.find((path) => packages[path]);
    if (at !== undefined && !found.has(at)) closure(at, found.add(at));
  }
  return found;
}

it('keeps the MCP SDK in the closure of aitoearn-auth-mcp, out of that of aitoearn-auth (a few packages)', () => {
  const [server, main] = [closure('mcp'), closure('')];
  for (const name of ['@modelcontextprotocol/sdk', 'zod', 'express'].map((n) => `node_modules/${n}`)) {
    expect(server).toContain(name);
    expect(main).not.toContain(name);
  }
  expect([...main]).toEqual(
    expect.arrayContaining(['node_modules/p-retry', 'node_modules/is-network-error']),
  );
  expect(main.size).toBeLessThan(25);
});
