import { AitoearnInputError } from '../errors.js';
import { LOOPBACK_HOST } from '../local-server.js';
import { checkApiKey, checkFunction, checkInteger, checkPositiveMs, show } from '../validate.js';
import type { SandboxRequest } from './server.js';

/** The API key the sandbox accepts unless {@link SandboxOptions.apiKeys} says otherwise. */
export const SANDBOX_API_KEY = 'sandbox-key';

/** Options of {@link startSandbox}. Every field is optional. */
export interface SandboxOptions {
  /** The TCP port to listen on; `0` picks a free one (read it from `Sandbox.url`). @default 0 */
  readonly port?: number;
  /**
   * The interface to bind. Anything but a loopback address puts the consent pages, which need no key, on the
   * network: `Sandbox.warnings` then says so. @default '127.0.0.1'
   */
  readonly host?: string;
  /**
   * More host names to accept in the `Host` header, besides loopback names (`localhost`, `127.0.0.1`,
   * `[::1]`), the bound address, and IP addresses when bound beyond loopback. Any other name is refused with
   * HTTP 403: that is what stops DNS rebinding (a web page whose name resolves to 127.0.0.1). @default []
   */
  readonly allowedHosts?: readonly string[];
  /** The `X-Api-Key` values the sandbox accepts; any other key gets code 401. @default ['sandbox-key'] */
  readonly apiKeys?: readonly string[];
  /** How long a session lives from its creation, in milliseconds (the real API: 5 minutes). @default 300000 */
  readonly sessionLifetimeMs?: number;
  /**
   * Platforms the start operation refuses with code 15032, as the real server refuses platforms that
   * authorize through a browser plugin. Platforms the spec does not name are refused too.
   * @default ['xhs', 'wxSph']
   */
  readonly unsupportedPlatforms?: readonly string[];
  /**
   * The account groups the start operation's `groupId` may name; any other gets code 12601. Omitting
   * `groupId` (or sending it empty) uses the default group, as on the real server. @default ['sandbox-group']
   */
  readonly groupIds?: readonly string[];
  /**
   * Called after each answer with what was answered and how long it took (the `--verbose` log of the
   * command). Never carries the API key. A callback that throws is ignored.
   */
  readonly onRequest?: (request: SandboxRequest) => void;
  /**
   * Called when the listening server fails after it started (for example `EMFILE` when out of file
   * descriptors); the sandbox keeps serving. @default a process warning (`process.emitWarning`)
   */
  readonly onError?: (error: Error) => void;
  /**
   * How many sessions may be stored at once; creating one more answers HTTP 429 until some expire.
   * @default 10000
   */
  readonly maxSessions?: number;
  /**
   * The wall clock, in epoch milliseconds. It drives `expiresAt`, the `Date` header and every state change,
   * so tests can advance a fake clock instead of sleeping.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** Defaults of {@link SandboxOptions}. */
export const sandboxDefaults = Object.freeze({
  port: 0,
  host: LOOPBACK_HOST,
  apiKeys: Object.freeze([SANDBOX_API_KEY]),
  sessionLifetimeMs: 300_000,
  unsupportedPlatforms: Object.freeze(['xhs', 'wxSph']),
  groupIds: Object.freeze(['sandbox-group']),
  allowedHosts: Object.freeze([] as string[]),
  maxSessions: 10_000,
  now: Date.now,
} as const);

/**
 * The default `onError`: one process warning per kind of failure. A server out of file descriptors fails
 * every accept until some are free; one warning says it, thousands would drown everything else.
 */
function warnOncePerCode(): (error: Error) => void {
  const seen = new Set<string>();
  return (error) => {
    const code = String((error as NodeJS.ErrnoException).code ?? error.name);
    if (seen.has(code)) return;
    seen.add(code);
    process.emitWarning(`The sandbox server failed (${error.message}); it keeps serving.`, 'SandboxWarning');
  };
}

/** {@link SandboxOptions} with defaults applied and every value checked. */
export interface SandboxConfig {
  readonly port: number;
  readonly host: string;
  readonly apiKeys: ReadonlySet<string>;
  readonly firstApiKey: string;
  readonly sessionLifetimeMs: number;
  readonly unsupportedPlatforms: ReadonlySet<string>;
  readonly groupIds: ReadonlySet<string>;
  /** Lower-cased host names accepted in `Host` besides the built-in ones. */
  readonly allowedHosts: ReadonlySet<string>;
  readonly maxSessions: number;
  readonly now: () => number;
  readonly onRequest: ((request: SandboxRequest) => void) | undefined;
  readonly onError: (error: Error) => void;
}

const HOST = /^[A-Za-z0-9.:-]{1,253}$/;

/** Applies the defaults and checks every option, naming the option and the value it refuses. */
export function resolveSandboxOptions(options: SandboxOptions | undefined): SandboxConfig {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new AitoearnInputError(
      'options',
      `Expected the sandbox options to be an object, got ${show(options)}.`,
    );
  }
  const given = options ?? {};
  const port = checkInteger('port', given.port ?? sandboxDefaults.port, 0, 65_535);

  const host = given.host ?? sandboxDefaults.host;
  if (typeof host !== 'string' || !HOST.test(host)) {
    throw new AitoearnInputError(
      'host',
      `Expected "host" to be a host name or IP address such as "127.0.0.1", got ${show(host)}.`,
    );
  }

  const apiKeys = given.apiKeys ?? sandboxDefaults.apiKeys;
  if (!Array.isArray(apiKeys) || apiKeys.length === 0) {
    throw new AitoearnInputError(
      'apiKeys',
      `Expected "apiKeys" to be a non-empty array of strings, got ${show(apiKeys)}.`,
    );
  }
  for (const [index, key] of apiKeys.entries()) checkApiKey(key, `apiKeys[${index}]`);

  const sessionLifetimeMs = checkPositiveMs(
    'sessionLifetimeMs',
    given.sessionLifetimeMs ?? sandboxDefaults.sessionLifetimeMs,
  );
  const unsupportedPlatforms = checkNames(
    'unsupportedPlatforms',
    given.unsupportedPlatforms ?? sandboxDefaults.unsupportedPlatforms,
  );
  const groupIds = checkNames('groupIds', given.groupIds ?? sandboxDefaults.groupIds);
  const allowedHosts = checkNames('allowedHosts', given.allowedHosts ?? sandboxDefaults.allowedHosts);
  for (const [index, name] of allowedHosts.entries()) {
    if (!HOST.test(name)) {
      throw new AitoearnInputError(
        `allowedHosts[${index}]`,
        `Expected "allowedHosts[${index}]" to be a host name such as "sandbox.test", got ${show(name)}.`,
      );
    }
  }
  const onRequest = given.onRequest === undefined ? undefined : checkFunction('onRequest', given.onRequest);
  const onError = given.onError === undefined ? warnOncePerCode() : checkFunction('onError', given.onError);
  const maxSessions = checkInteger('maxSessions', given.maxSessions ?? sandboxDefaults.maxSessions, 1, 1e6);

  const now = checkFunction('now', given.now ?? sandboxDefaults.now);
  const sample: unknown = now();
  if (typeof sample !== 'number' || !Number.isFinite(sample)) {
    throw new AitoearnInputError(
      'now',
      `Expected "now" to return epoch milliseconds as a finite number, got ${show(sample)}.`,
    );
  }

  return {
    port,
    host,
    apiKeys: new Set(apiKeys),
    firstApiKey: apiKeys[0] as string,
    sessionLifetimeMs,
    unsupportedPlatforms: new Set(unsupportedPlatforms),
    groupIds: new Set(groupIds),
    allowedHosts: new Set(allowedHosts.map((name) => name.toLowerCase())),
    maxSessions,
    now,
    onRequest,
    onError,
  };
}

/** An array of short, non-empty strings without whitespace or control characters. */
function checkNames(field: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) {
    throw new AitoearnInputError(field, `Expected "${field}" to be an array of names, got ${show(value)}.`);
  }
  for (const [index, name] of value.entries()) {
    if (
      typeof name !== 'string' ||
      name.length === 0 ||
      name.length > 256 ||
      /[\s\p{Cc}\p{Cf}]/u.test(name)
    ) {
      throw new AitoearnInputError(
        `${field}[${index}]`,
        `Expected "${field}[${index}]" to be a non-empty name without whitespace or control characters, got ${show(name)}.`,
      );
    }
  }
  return value as readonly string[];
}
