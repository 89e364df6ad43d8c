import type { IncomingHttpHeaders } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * Which `Host` headers a sandbox accepts: its own port, with a loopback name (`localhost`, `*.localhost`,
 * `127.x.x.x`, `[::1]`), the address it is bound to, a name from `allowedHosts`, or — when it is bound
 * beyond loopback — any IP address. A web page reaching the sandbox through DNS rebinding sends its own
 * domain name and is refused, like Vite's and webpack-dev-server's `allowedHosts` check.
 */
export interface HostPolicy {
  readonly port: number;
  readonly names: ReadonlySet<string>;
  readonly anyIp: boolean;
}

const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/;

function isIpLiteral(hostname: string): boolean {
  return isIPv4(hostname) || (hostname.startsWith('[') && isIPv6(hostname.slice(1, -1)));
}

/** The host part of a URL for an address or name: IPv6 addresses in brackets, lower case. */
export function urlHost(host: string): string {
  return isIPv6(host) ? `[${host.toLowerCase()}]` : host.toLowerCase();
}

/** Whether binding `host` listens on every interface (`0.0.0.0`, `::`). */
export function isWildcard(host: string): boolean {
  if (host === '0.0.0.0') return true;
  return isIPv6(host) && new URL(`http://[${host}]`).hostname === '[::]';
}

/** Whether binding `host` keeps the sandbox on this machine. */
export function isLoopbackBind(host: string): boolean {
  const name = urlHost(host);
  return name === 'localhost' || name === '[::1]' || (isIPv4(name) && name.startsWith('127.'));
}

export function hostPolicy(boundHost: string, port: number, allowedHosts: ReadonlySet<string>): HostPolicy {
  const names = new Set(['localhost', ...allowedHosts]);
  if (!isWildcard(boundHost)) names.add(urlHost(boundHost));
  return { port, names, anyIp: !isLoopbackBind(boundHost) };
}

/** Whether a request's `Host` header names this sandbox. */
export function hostAllowed(header: string | undefined, policy: HostPolicy): boolean {
  const match = HOST_HEADER.exec((header ?? '').toLowerCase());
  if (!match) return false;
  const hostname = (match[1] ?? '').replace(/\.$/, '');
  const port = match[2] === undefined ? 80 : Number(match[2]);
  if (port !== policy.port) return false;
  if (policy.names.has(hostname) || hostname.endsWith('.localhost')) return true;
  if (hostname === '[::1]' || (isIPv4(hostname) && hostname.startsWith('127.'))) return true;
  return policy.anyIp && isIpLiteral(hostname);
}

/**
 * Why a state-changing request is refused as cross-site, or undefined when it may proceed. Browsers send
 * `Origin` with every cross-origin POST (and `Sec-Fetch-Site`), so a request without either comes from a
 * script or a tool such as curl, which could send anything anyway: it proceeds. A browser request must come
 * from the sandbox's own origin (`Origin: null`, from sandboxed frames and some redirects, is refused).
 */
export function crossSiteReason(headers: IncomingHttpHeaders): string | undefined {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return `Sec-Fetch-Site is ${JSON.stringify(site)}`;
  }
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  const host = (headers.host ?? '').toLowerCase();
  if (url?.protocol !== 'http:' || url.host !== host || url.origin !== origin.toLowerCase()) {
    return `Origin ${JSON.stringify(origin.slice(0, 100))} is not this sandbox`;
  }
  return undefined;
}
