/** aitoearn-auth: start and await AiToEarn account authorizations. The sandbox is `aitoearn-auth/sandbox`. */
export type {
  AitoearnClient,
  AitoearnClientOptions,
  AuthStartResult,
  AuthStatusResult,
  GetAuthStatusParams,
  Site,
  StartAuthParams,
} from './client.js';
export { createAitoearnClient, getAuthStatus, startAuth } from './client.js';
export { type ConnectAccountOptions, type ConnectStart, connectAccount } from './connect/connect-account.js';
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
export { isPlatform, PLATFORMS } from './platforms.js';
export type { AuthProgress, WaitClock, WaitForAuthOptions } from './poll/options.js';
export { waitForAuth } from './poll/wait-for-auth.js';
export { type AuthWatch, watchAuth } from './poll/watch-auth.js';
export { printable } from './text.js';
export type {
  AuthInstructions,
  AuthSession,
  AuthStart,
  AuthStatus,
  ConnectedAccount,
  Platform,
  SelectableAccount,
} from './types.js';
