import type { AuthInstructions } from '../types.js';

/**
 * The start operation's query, checked as the real server's zod schema checks it (`StartAuthQuerySchema`):
 * `callbackUrl` is any http(s) URL (loopback included), `redirectUri` an http(s) URL whose host is a domain
 * name (zod's `httpUrl()`: no IP address, no `localhost`), `groupId` any string, each given at most once.
 * Unknown parameters are ignored, as zod strips them.
 */

/** zod 4's `domain` pattern, which `z.httpUrl()` applies to the host name. */
const DOMAIN = /^([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$/;
/**
 * Stricter than upstream on purpose: the callback's origin goes into a Content-Security-Policy header, where
 * a `;` or a space in a host name (the URL parser allows both in some forms) would start another directive.
 */
const CSP_SAFE_HOST = /^([a-z0-9-]+(\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])$/;

export interface StartQuery {
  /** Normalised (`URL.href`), so the form's action and the CSP's origin agree. */
  readonly callbackUrl: string | undefined;
  readonly redirectUri: string | undefined;
  /** Undefined or empty: the default group. */
  readonly groupId: string | undefined;
}

function httpUrl(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
}

/** The checked query, or undefined when the real server would answer code 400. */
export function parseStartQuery(search: URLSearchParams): StartQuery | undefined {
  const one = (name: string): string | undefined | null => {
    const all = search.getAll(name);
    return all.length > 1 ? null : all[0];
  };
  const callback = one('callbackUrl');
  const redirect = one('redirectUri');
  const groupId = one('groupId');
  if (callback === null || redirect === null || groupId === null) return undefined;

  let callbackUrl: string | undefined;
  if (callback !== undefined) {
    const url = httpUrl(callback);
    if (!url || !CSP_SAFE_HOST.test(url.hostname)) return undefined;
    callbackUrl = url.href;
  }
  let redirectUri: string | undefined;
  if (redirect !== undefined) {
    const url = httpUrl(redirect);
    if (!url || !DOMAIN.test(url.hostname)) return undefined;
    redirectUri = url.href;
  }
  return { callbackUrl, redirectUri, groupId };
}

/** What the sandbox tells the person for every platform (the real server has one text per platform). */
export const SANDBOX_AUTH_INSTRUCTIONS: AuthInstructions = Object.freeze({
  'en-US': 'Open the link and approve or deny on the AiToEarn sandbox consent page.',
  'zh-CN': '请打开链接，在 AiToEarn 沙盒授权页面上批准或拒绝。',
});
