import { LOOPBACK_HOST } from '../local-server.js';
import {
  checkApiKey,
  checkFunction,
  checkInteger,
  checkPathParam,
  checkPositiveMs,
  refuse,
} from '../validate.js';
import type { SandboxOptions } from './types.js';

/** The API key the sandbox accepts unless `apiKeys` says otherwise. */
export const SANDBOX_API_KEY = 'sandbox-key';

const HOST = /^[A-Za-z0-9.:-]{1,253}$/;

/** Names such as group ids, checked as the client checks an id it puts in a path. */
function names(field: string, value: unknown, pattern?: RegExp): string[] {
  if (!Array.isArray(value)) refuse(field, 'an array of names', value);
  return value.map((name: unknown, i) => {
    checkPathParam(`${field}[${i}]`, name);
    if (pattern && !pattern.test(name as string))
      refuse(`${field}[${i}]`, 'a host name such as "sandbox.test"', name);
    return name as string;
  });
}

/** A server out of file descriptors fails every accept until some are free: one warning per kind says it. */
function warnOncePerCode(): (error: Error) => void {
  const seen = new Set<unknown>();
  return (error) => {
    const code = (error as NodeJS.ErrnoException).code ?? error.name;
    if (seen.has(code)) return;
    seen.add(code);
    process.emitWarning(`The sandbox server failed (${error.message}); it keeps serving.`, 'SandboxWarning');
  };
}

export type SandboxConfig = ReturnType<typeof resolveSandboxOptions>;

/** Applies the defaults and checks every option before anything listens, naming the option and the value. */
export function resolveSandboxOptions(options: SandboxOptions = {}) {
  if (typeof options !== 'object' || options === null) refuse('options', 'an object', options);
  const host = options.host ?? LOOPBACK_HOST;
  if (typeof host !== 'string' || !HOST.test(host)) {
    refuse('host', 'a host name or IP address such as "127.0.0.1"', host);
  }
  const apiKeys = options.apiKeys ?? [SANDBOX_API_KEY];
  if (!Array.isArray(apiKeys) || apiKeys.length === 0)
    refuse('apiKeys', 'a non-empty array of strings', apiKeys);
  for (const [i, key] of apiKeys.entries()) checkApiKey(key, `apiKeys[${i}]`);
  const now = checkFunction('now', options.now ?? Date.now);
  const sample: unknown = now();
  if (typeof sample !== 'number' || !Number.isFinite(sample)) {
    refuse('now', 'a clock returning finite epoch milliseconds', sample, 'that is what it returned');
  }
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) refuse('signal', 'an AbortSignal', signal);
  return {
    port: checkInteger('port', options.port ?? 0, 0, 65_535),
    host,
    apiKeys: new Set<string>(apiKeys),
    apiKey: apiKeys[0] as string,
    sessionLifetimeMs: checkPositiveMs('sessionLifetimeMs', options.sessionLifetimeMs ?? 300_000),
    unsupportedPlatforms: new Set(
      names('unsupportedPlatforms', options.unsupportedPlatforms ?? ['xhs', 'wxSph']),
    ),
    groupIds: new Set(names('groupIds', options.groupIds ?? ['sandbox-group'])),
    allowedHosts: new Set(
      names('allowedHosts', options.allowedHosts ?? [], HOST).map((n) => n.toLowerCase()),
    ),
    maxSessions: checkInteger('maxSessions', options.maxSessions ?? 10_000, 1, 1e6),
    now,
    onRequest: options.onRequest === undefined ? undefined : checkFunction('onRequest', options.onRequest),
    onError: options.onError === undefined ? warnOncePerCode() : checkFunction('onError', options.onError),
    signal,
  };
}
