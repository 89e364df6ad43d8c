/** Types from the spec's two operations, never from its named schemas (upstream may orphan those). A leaf. */
import type { paths } from './generated/aitoearn.js';
import type { START_PATH, STATUS_PATH } from './operations.js';

type AnswerData<P extends typeof START_PATH | typeof STATUS_PATH> = NonNullable<
  paths[P]['get']['responses'][200]['content']['application/json']['data']
>;

/** An authorization session, as `GET …/auth/{platform}/status/{sessionId}` reports it. */
export type AuthSession = AnswerData<typeof STATUS_PATH>;
/** `pending`, `completed` or `failed`, as the spec declares them. */
export type AuthStatus = AuthSession['status'];
/** A connected account of a completed session. */
export type ConnectedAccount = NonNullable<AuthSession['accounts']>[number];
/** An account the user may choose while `requiresSelection` is true. */
export type SelectableAccount = NonNullable<AuthSession['selectableAccounts']>[number];
/** A platform identifier the spec knows, such as `douyin` or `youtube`. */
export type Platform = ConnectedAccount['platform'];
type StartData = AnswerData<typeof START_PATH>;
/** Text to show the person while they authorize, in whichever of English and Chinese the API sent. */
export type AuthInstructions = Partial<NonNullable<StartData['authInstructions']>>;
/** A started authorization: the page to open, the session, its expiry. */
export type AuthStart = Omit<StartData, 'authInstructions'> & { authInstructions?: AuthInstructions };
