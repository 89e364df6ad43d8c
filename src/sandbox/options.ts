/** The sandbox's public types, its options and their check, in one leaf that its modules share. */
import { LOOPBACK_HOST } from '../local-server.js';
import type { Platform } from '../types.js';
import * as v from '../validate.js';

/** The API key the sandbox accepts unless `apiKeys` says otherwise. */
export const SANDBOX_API_KEY = 'sandbox-key';

export interface SandboxOptions {
  /** The TCP port; `0` picks a free one (read it from `Sandbox.url`). @default 0 */
  readonly port?: number;
  /** The interface to bind; beyond loopback its keyless pages are on the network. @default '127.0.0.1' */
  readonly host?: string;
  /** More `Host` names to accept besides loopback and the bound address (DNS-rebinding guard). @default [] */
  readonly allowedHosts?: readonly string[];
  /** The `X-Api-Key` values accepted; any other key gets code 401. @default [SANDBOX_API_KEY] */
  readonly apiKeys?: readonly string[];
  /** How long a session lives from its creation, in ms (the real API: 5 minutes). @default 300000 */
  readonly sessionLifetimeMs?: number;
  /** Platforms `start` refuses with 15032, besides those the spec does not name. @default ['xhs', 'wxSph'] */
  readonly unsupportedPlatforms?: readonly string[];
  /** The groups `start`'s `groupId` may name; any other gets 12601. @default ['sandbox-group'] */
  readonly groupIds?: readonly string[];
  /** Called after each answer (the `--verbose` log); never carries the key; a throw is ignored. */
  readonly onRequest?: (request: SandboxRequest) => void;
  /** A failure of the server after start-up (`EMFILE`); it keeps serving. @default one warning per kind */
  readonly onError?: (error: Error) => void;
  /** How many unexpired sessions may be stored; one more answers HTTP 429. @default 10000 */
  readonly maxSessions?: number;
  /** The clock in epoch ms, for `expiresAt`, `Date` and every state change. @default Date.now */
  readonly now?: () => number;
  /** Aborted before it listens, `startSandbox` rejects with its reason, leaving no server; later, it closes. */
  readonly signal?: AbortSignal;
}

/** One answered request: `path` without query or key (`[redacted]`); `at` on the sandbox's clock, in ms. */
export interface SandboxRequest {
  readonly method: string;
  readonly path: string;
  readonly at: number;
  readonly httpStatus: number;
  /** The business code, when it answered an API operation. */
  readonly code?: number;
  readonly durationMs: number;
}

/** What creating a session returns (`POST /sandbox/sessions` answers the same JSON). */
export interface CreatedSandboxSession {
  readonly sessionId: string;
  readonly platform: Platform;
  /** When the session stops being readable, ISO 8601. */
  readonly expiresAt: string;
  /** The page where a person approves, denies or picks accounts. */
  readonly consentUrl: string;
}

/** A running sandbox; it keeps the process alive until {@link Sandbox.close}. */
export interface Sandbox {
  /** The origin to use as `baseUrl`; bound to every interface, the loopback address. */
  readonly url: string;
  /** Set when it listens beyond loopback, where its pages (which need no key) are on the network. */
  readonly warnings: readonly string[];
  /** The first accepted API key. */
  readonly apiKey: string;
  /** Creates a session in-process, as `POST /sandbox/sessions` does; a bad spec throws `AitoearnInputError`. */
  createSession(spec: SandboxSessionSpec): CreatedSandboxSession;
  /** The last 1000 requests answered, oldest first (a copy). */
  readonly requests: readonly SandboxRequest[];
  /** How many requests have been answered since the start. */
  readonly requestCount: number;
  /** Stops listening, closes every connection, resolves when closed. Safe to call twice. */
  close(): Promise<void>;
}

/** Connected or selectable accounts: how many (named "Sandbox account 1"…), or their display names. */
export type SandboxAccounts = number | readonly string[];

/** What a session does by itself; `afterMs` counts from its creation. A person may still approve or deny. */
export type SandboxOutcome =
  /** Completes after `afterMs` (@default 0) with `accounts` (@default 1). */
  | { readonly type: 'complete'; readonly afterMs?: number; readonly accounts?: SandboxAccounts }
  /** Fails after `afterMs` (@default 0) with `errorCode`, e.g. 15045 (consent denied). */
  | { readonly type: 'fail'; readonly afterMs?: number; readonly errorCode: number }
  /** Pending with `requiresSelection` among `accounts` (required); with `afterMs`, picks the first then. */
  | { readonly type: 'select'; readonly accounts: SandboxAccounts; readonly afterMs?: number }
  /** Pending until the session expires (a user who walked away). */
  | { readonly type: 'never' }
  /** Waits for a person on the consent page; approving connects `accounts` (@default 1). */
  | { readonly type: 'manual'; readonly accounts?: SandboxAccounts };

/** What `POST /sandbox/sessions` and `Sandbox.createSession()` take. */
export interface SandboxSessionSpec {
  readonly platform: Platform;
  /** @default { type: 'manual' } */
  readonly outcome?: SandboxOutcome;
  /** How long this session lives, in ms. @default the sandbox's `sessionLifetimeMs` */
  readonly lifetimeMs?: number;
}

const HOST = /^[A-Za-z0-9.:-]{1,253}$/;

/** A set of names (group ids, hosts), each checked as the client checks an id it puts in a path. */
function names(field: string, value: unknown, host = false): Set<string> {
  if (!Array.isArray(value)) v.refuse(field, 'an array of names', value);
  for (const [i, name] of value.entries()) {
    v.checkPathParam(`${field}[${i}]`, name);
    if (host && !HOST.test(name)) v.refuse(`${field}[${i}]`, 'a host name such as "sandbox.test"', name);
  }
  return new Set(value);
}

/** Applies the defaults and checks every option before anything listens, naming the option and the value. */
export function resolveSandboxOptions(options: SandboxOptions = {}) {
  v.checkObject('options', options);
  const { host = LOOPBACK_HOST, apiKeys = [SANDBOX_API_KEY], now = Date.now, onRequest, onError } = options;
  if (typeof host !== 'string' || !HOST.test(host)) v.refuse('host', 'a host name or IP address', host);
  if (!Array.isArray(apiKeys) || !apiKeys.length)
    v.refuse('apiKeys', 'a non-empty array of strings', apiKeys);
  for (const [i, key] of apiKeys.entries()) v.checkApiKey(key, `apiKeys[${i}]`);
  const sample: unknown = v.checkFunction('now', now)();
  if (typeof sample !== 'number' || !Number.isFinite(sample))
    v.refuse('now', 'a clock returning finite epoch milliseconds', sample, 'that is what it returned');
  // Out of descriptors, every accept fails until some are free: warn once per kind (a new one grows the set).
  const seen = new Set<string>();
  const warnOnce = ({ code, name, message }: NodeJS.ErrnoException) =>
    seen.size < seen.add(code ?? name).size &&
    process.emitWarning(`The sandbox server failed (${message}); it keeps serving.`, 'SandboxWarning');
  return {
    port: v.checkInteger('port', options.port ?? 0, 0, 65_535),
    host,
    apiKeys: new Set<string>(apiKeys),
    apiKey: apiKeys[0] as string,
    sessionLifetimeMs: v.checkPositiveMs('sessionLifetimeMs', options.sessionLifetimeMs ?? 300_000),
    unsupportedPlatforms: names('unsupportedPlatforms', options.unsupportedPlatforms ?? ['xhs', 'wxSph']),
    groupIds: names('groupIds', options.groupIds ?? ['sandbox-group']),
    allowedHosts: names('allowedHosts', options.allowedHosts ?? [], true),
    maxSessions: v.checkInteger('maxSessions', options.maxSessions ?? 10_000, 1, 1e6),
    now,
    onRequest: onRequest === undefined ? undefined : v.checkFunction('onRequest', onRequest),
    onError: onError === undefined ? warnOnce : v.checkFunction('onError', onError),
    signal: v.checkSignal(options.signal),
  };
}
