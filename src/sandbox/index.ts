/**
 * `aitoearn-auth/sandbox`: a local, stateful stand-in for the AiToEarn authorization API. A subpath of its
 * own, so that importing the client or the waiter never loads `node:http` or the consent page's HTML.
 */
export { SANDBOX_API_KEY } from './options.js';
export { formatSandboxRequest, SandboxListenError, startSandbox } from './server.js';
export { SandboxFullError } from './sessions.js';
export type {
  CreatedSandboxSession,
  Sandbox,
  SandboxAccounts,
  SandboxOptions,
  SandboxOutcome,
  SandboxRequest,
  SandboxSessionSpec,
} from './types.js';
