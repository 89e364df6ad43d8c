/**
 * `aitoearn-auth/sandbox`: a local, stateful stand-in for the AiToEarn authorization API. A subpath of its
 * own, so that importing the client or the waiter never loads `node:http` or the consent page's HTML.
 */
export {
  type CreatedSandboxSession,
  SANDBOX_API_KEY,
  type Sandbox,
  type SandboxAccounts,
  type SandboxOptions,
  type SandboxOutcome,
  type SandboxRequest,
  type SandboxSessionSpec,
} from './options.js';
export { formatSandboxRequest, SandboxFullError, SandboxListenError, startSandbox } from './server.js';
