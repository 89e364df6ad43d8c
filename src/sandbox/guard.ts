/** What keeps a local server safe from pages a person has open: `Host` (DNS rebinding), cross-site POSTs. */
import type { IncomingHttpHeaders } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { LOOPBACK_HOST } from '../local-server.js';
import { isLoopbackHost } from '../validate.js';

/** The host part of a URL for an address or a name: IPv6 in brackets, lower case. */
export const urlHost = (host: string) => (isIPv6(host) ? `[${host}]` : host).toLowerCase();
const isWildcard = (host: string) =>
  host === '0.0.0.0' || (isIPv6(host) && new URL(`http://[${host}]`).hostname === '[::]');
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/;

/** Whether `Host` is this sandbox's: loopback, bound or allowed name (beyond loopback, any IP), its port. */
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
  if (origin !== undefined && origin.toLowerCase() !== `http://${host.toLowerCase()}`)
    return `Origin ${JSON.stringify(origin.slice(0, 100))} is not this sandbox`;
  return undefined;
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
  const open = `The sandbox listens on ${where}, port ${port}: anyone on the network who can reach it can open its consent pages, which need no key, and approve or deny sessions. Bind 127.0.0.1 unless that is what you want.`;
  if (wildcard) return { url, warnings: [open] };
  const http = `The client accepts plain http only to loopback addresses, so ${url} serves browsers but not aitoearn-auth; bind 0.0.0.0 to reach it at http://127.0.0.1:${port} as well.`;
  return { url, warnings: [open, http] };
}
