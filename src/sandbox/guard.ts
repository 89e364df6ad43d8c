/**
 * What keeps a local server safe from the web pages a person has open: the `Host` check (DNS rebinding, as
 * Vite's `allowedHosts`), the cross-site check on POSTs, and the warnings when it is bound beyond loopback.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { LOOPBACK_HOST } from '../local-server.js';
import { isLoopbackHost } from '../validate.js';

/** The host part of a URL for an address or a name: IPv6 in brackets, lower case. */
export const urlHost = (host: string) => (isIPv6(host) ? `[${host}]` : host).toLowerCase();
const isWildcard = (host: string) =>
  host === '0.0.0.0' || (isIPv6(host) && new URL(`http://[${host}]`).hostname === '[::]');
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/;

/**
 * Whether a `Host` header names this sandbox: loopback names, the bound name and `allowedHosts`, on its
 * port; bound beyond loopback, any IP address too (a browser on the network uses one).
 */
export function hostGuard(bound: string, port: number, allowedHosts: ReadonlySet<string>) {
  const names = new Set([...allowedHosts, ...(isWildcard(bound) ? [] : [bound])].map(urlHost));
  const anyIp = !isLoopbackHost(urlHost(bound));
  return (header = ''): boolean => {
    const [, host = '', given = '80'] = HOST_HEADER.exec(header.toLowerCase()) ?? [];
    const name = host.replace(/\.$/, '');
    if (!name || Number(given) !== port) return false;
    if (names.has(name) || isLoopbackHost(name) || name.endsWith('.localhost')) return true;
    return anyIp && (isIPv4(name) || (name.startsWith('[') && isIPv6(name.slice(1, -1))));
  };
}

/**
 * Why a POST is refused as cross-site, or undefined. Browsers send `Origin` (and `Sec-Fetch-Site`) with every
 * cross-origin POST, `Origin: null` from sandboxed frames; a request with neither comes from a tool (curl).
 */
export function crossSiteReason({ origin, host = '', 'sec-fetch-site': site }: IncomingHttpHeaders) {
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `Sec-Fetch-Site is ${JSON.stringify(site)}`;
  const url = origin !== undefined && URL.canParse(origin) ? new URL(origin) : undefined;
  const own =
    url?.protocol === 'http:' && url.host === host.toLowerCase() && url.origin === origin?.toLowerCase();
  return origin === undefined || own
    ? undefined
    : `Origin ${JSON.stringify(origin.slice(0, 100))} is not this sandbox`;
}

/**
 * The URL to reach a sandbox bound to `host`, and what to warn about. Bound to every interface, it is
 * reached at loopback, which the client accepts over http; beyond loopback, its keyless pages are public.
 */
export function describeBinding(host: string, port: number): { url: string; warnings: string[] } {
  const wildcard = isWildcard(host);
  const url = `http://${wildcard ? (host.includes(':') ? '[::1]' : LOOPBACK_HOST) : urlHost(host)}:${port}`;
  if (isLoopbackHost(urlHost(host))) return { url, warnings: [] };
  const where = wildcard ? `every interface (${urlHost(host)})` : urlHost(host);
  const warnings = [
    `The sandbox listens on ${where}, port ${port}: anyone on the network who can reach it can open its consent pages, which need no key, and approve or deny sessions. Bind 127.0.0.1 unless that is what you want.`,
  ];
  if (wildcard) return { url, warnings };
  const http = `The client accepts plain http only to loopback addresses, so ${url} serves browsers but not aitoearn-auth; bind 0.0.0.0 to reach it at http://127.0.0.1:${port} as well.`;
  return { url, warnings: [...warnings, http] };
}
