import { AitoearnInputError } from '../errors.js';
import { checkApiKey, checkFunction, checkInteger, checkPositiveMs, show } from '../validate.js';

/** The API key the sandbox accepts unless {@link SandboxOptions.apiKeys} says otherwise. */
export const SANDBOX_API_KEY = 'sandbox-key';

/** Options of {@link startSandbox}. Every field is optional. */
export interface SandboxOptions {
  /** The TCP port to listen on; `0` picks a free one (read it from `Sandbox.url`). @default 0 */
  readonly port?: number;
  /** The interface to bind. Anything but a loopback address exposes the sandbox to the network. @default '127.0.0.1' */
  readonly host?: string;
  /** The `X-Api-Key` values the sandbox accepts; any other key gets code 401. @default ['sandbox-key'] */
  readonly apiKeys?: readonly string[];
  /** How long a session lives from its creation, in milliseconds (the real API: 5 minutes). @default 300000 */
  readonly sessionLifetimeMs?: number;
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
  host: '127.0.0.1',
  apiKeys: Object.freeze([SANDBOX_API_KEY]),
  sessionLifetimeMs: 300_000,
  maxSessions: 10_000,
  now: Date.now,
} as const);

/** {@link SandboxOptions} with defaults applied and every value checked. */
export interface SandboxConfig {
  readonly port: number;
  readonly host: string;
  readonly apiKeys: ReadonlySet<string>;
  readonly firstApiKey: string;
  readonly sessionLifetimeMs: number;
  readonly maxSessions: number;
  readonly now: () => number;
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
    maxSessions,
    now,
  };
}
