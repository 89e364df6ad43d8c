export type {
  AitoearnClient,
  AitoearnClientOptions,
  AuthInstructions,
  AuthSession,
  AuthStart,
  AuthStartResult,
  AuthStatus,
  AuthStatusResult,
  ConnectedAccount,
  GetAuthStatusParams,
  Platform,
  SelectableAccount,
  Site,
  StartAuthParams,
} from './client.js';
export { clientDefaults, createAitoearnClient, getAuthStatus, SITES, startAuth } from './client.js';
export type { ConnectAccountOptions, ConnectStart } from './connect/connect-account.js';
export { connectAccount } from './connect/connect-account.js';
export type { AitoearnApiErrorKind, ResponseFacts, TransportFailure } from './errors.js';
export {
  AitoearnApiError,
  AitoearnError,
  AitoearnInputError,
  AitoearnResponseError,
  AitoearnTransportError,
  AitoearnUnavailableError,
  AuthExpiredError,
  AuthFailedError,
  AuthTimeoutError,
  apiErrorKind,
  describeAuthErrorCode,
  isTransient,
} from './errors.js';
export type { AuthProgress, WaitClock, WaitForAuthOptions } from './poll/options.js';
export { waitDefaults } from './poll/options.js';
export { waitForAuth } from './poll/wait-for-auth.js';
export type { AuthWatch } from './poll/watch-auth.js';
export { watchAuth } from './poll/watch-auth.js';
export type {
  CreatedSandboxSession,
  Sandbox,
  SandboxAccounts,
  SandboxOptions,
  SandboxOutcome,
  SandboxRequest,
  SandboxSessionSpec,
} from './sandbox/index.js';
export { SANDBOX_API_KEY, SandboxFullError, sandboxDefaults, startSandbox } from './sandbox/index.js';
export { VERSION } from './version.js';
