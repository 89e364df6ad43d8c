/**
 * What keeps a local development server safe from the web pages a person has open: the `Host` check (DNS
 * rebinding, like Vite's `allowedHosts`), the cross-site check on POSTs, and what to say when it is bound
 * beyond loopback.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { LOOPBACK_HOST } from '../local-server.js';
import { isLoopbackHost } from '../validate.js';

/** The host part of a URL for an address or a name: IPv6 in brackets, lower case. */
export const urlHost = (host: string) => (isIPv6(host) ? `[${host}]` : host).toLowerCase();
const isWildcard = (host: string) =>
  host === '0.0.0.0' || (isIPv6(host) && new URL(`http://[${host}]`).hostname === '[::]');

/** Which `Host` headers name this sandbox. */
export interface HostPolicy {
  readonly port: number;
  /** The bound name and `allowedHosts`, lower case; loopback names are always accepted. */
  readonly names: ReadonlySet<string>;
  /** Bound beyond loopback, any IP address is accepted (a browser on the network uses one). */
  readonly anyIp: boolean;
}

export function hostPolicy(bound: string, port: number, allowedHosts: ReadonlySet<string>): HostPolicy {
  const names = new Set(allowedHosts);
  if (!isWildcard(bound)) names.add(urlHost(bound));
  return { port, names, anyIp: !isLoopbackHost(urlHost(bound)) };
}

const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/;

/** Whether a `Host` header names this sandbox: a page reached through a name of its own sends its own. */
export function hostAllowed(header: string | undefined, policy: HostPolicy): boolean {
  const match = HOST_HEADER.exec((header ?? '').toLowerCase());
  if (!match || Number(match[2] ?? 80) !== policy.port) return false;
  const name = (match[1] ?? '').replace(/\.$/, '');
  if (policy.names.has(name) || isLoopbackHost(name) || name.endsWith('.localhost')) return true;
  return policy.anyIp && (isIPv4(name) || (name.startsWith('[') && isIPv6(name.slice(1, -1))));
}

/**
 * Why a POST is refused as cross-site, or undefined. Browsers send `Origin` (and `Sec-Fetch-Site`) with
 * every cross-origin POST; a request with neither comes from a tool such as curl, which could send anything
 * anyway. `Origin: null` (sandboxed frames, some redirects) is refused.
 */
export function crossSiteReason(headers: IncomingHttpHeaders): string | undefined {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return `Sec-Fetch-Site is ${JSON.stringify(site)}`;
  }
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  const url = URL.canParse(origin) ? new URL(origin) : undefined;
  if (
    url?.protocol !== 'http:' ||
    url.host !== (headers.host ?? '').toLowerCase() ||
    url.origin !== origin.toLowerCase()
  ) {
    return `Origin ${JSON.stringify(origin.slice(0, 100))} is not this sandbox`;
  }
  return undefined;
}

/**
 * The URL to reach a sandbox bound to `host`, and what to warn about. Bound to every interface, it is
 * reached at loopback, which the client accepts over http; beyond loopback, its keyless pages are public.
 */
export function describeBinding(host: string, port: number): { url: string; warnings: readonly string[] } {
  const wildcard = isWildcard(host);
  const url = `http://${wildcard ? (host.includes(':') ? '[::1]' : LOOPBACK_HOST) : urlHost(host)}:${port}`;
  if (isLoopbackHost(urlHost(host))) return { url, warnings: [] };
  const where = wildcard ? `every interface (${urlHost(host)})` : urlHost(host);
  const warnings = [
    `The sandbox listens on ${where}, port ${port}: anyone on the network who can reach it can open its consent pages, which need no key, and approve or deny sessions. Bind 127.0.0.1 unless that is what you want.`,
  ];
  if (!wildcard) {
    warnings.push(
      `The client accepts plain http only to loopback addresses, so ${url} serves browsers but not aitoearn-auth; bind 0.0.0.0 to reach it at http://127.0.0.1:${port} as well.`,
    );
  }
  return { url, warnings };
}
