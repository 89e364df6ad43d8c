import { type AddressInfo, Server as NetServer } from 'node:net';

const handles = () => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();

/** The listening `net.Server` behind a URL of ours, found among the process's live handles by its port:
 * how a test reaches a server that its module keeps private (to emit an `'error'` on it, say). */
export function liveServerAt(url: string): NetServer {
  const port = Number(new URL(url).port);
  const found = handles().find(
    (h): h is NetServer => h instanceof NetServer && (h.address() as AddressInfo | null)?.port === port,
  );
  if (!found) throw new Error(`no live server on port ${port}`);
  return found;
}

/** An `'error'` as a listening server emits it when the process runs out of file descriptors. */
export const emfile = () =>
  Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', errno: -24, syscall: 'accept' });

/** How many `net.Server`s of this process are listening (a closed one stops counting at once). */
export const listeningServers = () => handles().filter((h) => h instanceof NetServer && h.listening).length;
