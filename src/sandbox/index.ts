export type { SandboxOptions } from './options.js';
export { SANDBOX_API_KEY, sandboxDefaults } from './options.js';
export type { CreatedSandboxSession, Sandbox, SandboxRequest } from './server.js';
export { startSandbox } from './server.js';
export type { SandboxAccounts, SandboxOutcome, SandboxSessionSpec } from './session-spec.js';
export { SandboxFullError } from './store.js';
