/** The sandbox's public types, in a file of their own so that its modules share them without a cycle. */
import type { Platform } from '../types.js';

/** Options of `startSandbox`. */
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

/** One request the sandbox answered. */
export interface SandboxRequest {
  readonly method: string;
  /** Without the query; an accepted API key in it is replaced by `[redacted]`. */
  readonly path: string;
  /** When it arrived, epoch ms on the sandbox's clock. */
  readonly at: number;
  readonly httpStatus: number;
  /** The business `code` of an API answer. */
  readonly code?: number;
  /** How long the answer took, in ms (monotonic clock). */
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
