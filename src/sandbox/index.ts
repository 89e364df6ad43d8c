/**
 * `aitoearn-auth/sandbox`: a local, stateful stand-in for the AiToEarn authorization API. A subpath of its
 * own, so that importing the client or the waiter never loads `node:http` or the consent page's HTML.
 */
export type { SandboxOptions } from './options.js';
export { SANDBOX_API_KEY } from './options.js';
export type { CreatedSandboxSession, Sandbox, SandboxRequest } from './server.js';
export { formatSandboxRequest, SandboxListenError, startSandbox } from './server.js';
export type { SandboxAccounts, SandboxOutcome, SandboxSessionSpec } from './session-spec.js';
export { SandboxFullError } from './store.js';
