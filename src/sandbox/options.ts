import { LOOPBACK_HOST } from '../local-server.js';
import {
  checkApiKey,
  checkFunction,
  checkInteger,
  checkObject,
  checkPathParam,
  checkPositiveMs,
  checkSignal,
  refuse,
} from '../validate.js';
import type { SandboxOptions } from './types.js';

/** The API key the sandbox accepts unless `apiKeys` says otherwise. */
export const SANDBOX_API_KEY = 'sandbox-key';

const HOST = /^[A-Za-z0-9.:-]{1,253}$/;

/** A set of names (group ids, hosts), each checked as the client checks an id it puts in a path. */
function names(field: string, value: unknown, host = false): Set<string> {
  if (!Array.isArray(value)) refuse(field, 'an array of names', value);
  for (const [i, name] of value.entries()) {
    checkPathParam(`${field}[${i}]`, name);
    if (host && !HOST.test(name)) refuse(`${field}[${i}]`, 'a host name such as "sandbox.test"', name);
  }
  return new Set(value);
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

/** Applies the defaults and checks every option before anything listens, naming the option and the value. */
export function resolveSandboxOptions(options: SandboxOptions = {}) {
  checkObject('options', options);
  const { host = LOOPBACK_HOST, apiKeys = [SANDBOX_API_KEY], now = Date.now, onRequest } = options;
  if (typeof host !== 'string' || !HOST.test(host)) {
    refuse('host', 'a host name or IP address such as "127.0.0.1"', host);
  }
  if (!Array.isArray(apiKeys) || apiKeys.length === 0)
    refuse('apiKeys', 'a non-empty array of strings', apiKeys);
  for (const [i, key] of apiKeys.entries()) checkApiKey(key, `apiKeys[${i}]`);
  const sample: unknown = checkFunction('now', now)();
  if (typeof sample !== 'number' || !Number.isFinite(sample)) {
    refuse('now', 'a clock returning finite epoch milliseconds', sample, 'that is what it returned');
  }
  return {
    port: checkInteger('port', options.port ?? 0, 0, 65_535),
    host,
    apiKeys: new Set<string>(apiKeys),
    apiKey: apiKeys[0] as string,
    sessionLifetimeMs: checkPositiveMs('sessionLifetimeMs', options.sessionLifetimeMs ?? 300_000),
    unsupportedPlatforms: names('unsupportedPlatforms', options.unsupportedPlatforms ?? ['xhs', 'wxSph']),
    groupIds: names('groupIds', options.groupIds ?? ['sandbox-group']),
    allowedHosts: names('allowedHosts', options.allowedHosts ?? [], true),
    maxSessions: checkInteger('maxSessions', options.maxSessions ?? 10_000, 1, 1e6),
    now,
    onRequest: onRequest === undefined ? undefined : checkFunction('onRequest', onRequest),
    onError: options.onError === undefined ? warnOncePerCode() : checkFunction('onError', options.onError),
    signal: checkSignal(options.signal),
  };
}
