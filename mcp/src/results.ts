import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type * as api from 'aitoearn-auth';
import {
  AitoearnInputError,
  AuthExpiredError,
  AuthTimeoutError,
  describeAuthErrorCode,
  printable,
} from 'aitoearn-auth';
import { z } from 'zod';

// Strings, not the spec's enums: a status or platform a newer API adds must still pass the output check
// (the waiter passes an unknown status through as it came). `satisfies` fails the build when the spec adds,
// drops or renames a field.
type Fields<T> = Record<keyof T, z.ZodType>;
const [string, maybe] = [z.string(), z.string().optional()];
const named = { platform: string, platformUid: string, displayName: string };
const account = { ...named, account: maybe, avatarUrl: maybe };
const connected = { accountId: string, ...account } satisfies Fields<api.ConnectedAccount>;
const selectable = { ...account, parentPlatformUid: maybe } satisfies Fields<api.SelectableAccount>;
const session = z
  .object({
    sessionId: string,
    status: z.string().describe('pending, completed or failed'),
    requiresSelection: z.boolean().describe('The person must choose accounts in their browser'),
    errorCode: z.number().optional().describe('Why a failed session failed'),
    expiresAt: maybe,
    accountId: maybe,
    accountIds: z.array(string).optional(),
    accounts: z.array(z.object(connected)).optional().describe('The connected accounts, when completed'),
    selectableAccounts: z.array(z.object(selectable)).optional(),
  } satisfies Fields<api.AuthSession>)
  .describe('The authorization session, as the AiToEarn API reports it');
const instructions = { 'en-US': string, 'zh-CN': string } satisfies Fields<api.AuthInstructions>;

/** Output of connect_account: the session to wait for, and `session` once it completed (URL elicitation). */
export const connectOutput = {
  platform: string,
  sessionId: string,
  expiresAt: z.string().describe('When the session ends (ISO 8601)'),
  url: maybe.describe('The consent page to show the person (absent for a QR code image)'),
  authInstructions: z.object(instructions).optional(),
  session: session.optional(),
};
/** Output of wait_for_auth and auth_status. */
export const sessionOutput = { platform: string, session };

export type Language = 'zh-CN' | 'en-US';

/** `zh-CN` when the person's locale is Chinese (`LC_ALL`, then `LC_MESSAGES`, then `LANG`), as the command decides. */
export const personLanguage = (env: NodeJS.ProcessEnv): Language =>
  /^zh\b|^zh[_-]/i.test(env.LC_ALL || env.LC_MESSAGES || env.LANG || '') ? 'zh-CN' : 'en-US';

// Text for the model, which hosts also print in terminals: the package's escaper on each line, cut (a hostile
// answer may carry a megabyte in one field); a line break the server sent is escaped, never a new line.
const escapeUnsafe = (value: string) => printable(value.length > 2000 ? `${value.slice(0, 2000)}…` : value);
const text = (lines: readonly string[]) => ({
  type: 'text' as const,
  text: lines.map(escapeUnsafe).join('\n'),
});

/** `douyin Name (accountId …)` for each connected account; the ids alone when the API named none. */
const accountNames = (done: api.AuthSession) =>
  done.accounts?.length
    ? done.accounts.map((a) => `${a.platform} ${a.displayName} (accountId ${a.accountId})`)
    : (done.accountIds ?? (done.accountId ? [done.accountId] : [])).map((id) => `accountId ${id}`);

export function completed(platform: string, done: api.AuthSession, fields = {}): CallToolResult {
  const names = accountNames(done).map((n) => `- ${n}`);
  const content = [text([`Connected ${names.length} ${platform} account(s):`, ...names])];
  return { content, structuredContent: { platform, ...fields, session: done } };
}

/** The session as `aitoearn-auth status` shows it: one `field: value` line per fact, accounts last. */
export function statusResult(platform: string, current: api.AuthSession): CallToolResult {
  const { sessionId, status, expiresAt, requiresSelection, errorCode } = current;
  const lines = [`sessionId: ${sessionId}`, `platform: ${platform}`, `status: ${status}`];
  if (expiresAt !== undefined) lines.push(`expiresAt: ${expiresAt}`);
  lines.push(`requiresSelection: ${requiresSelection}`);
  if (errorCode !== undefined) lines.push(`errorCode: ${errorCode} (${describeAuthErrorCode(errorCode)})`);
  for (const a of current.selectableAccounts ?? []) lines.push(`selectable: ${a.platform} ${a.displayName}`);
  if (status === 'completed') lines.push(...accountNames(current).map((n) => `account: ${n}`));
  return { content: [text(lines)], structuredContent: { platform, session: current } };
}

/** Link mode: what the model must show the person (the page, or a QR code image), and what to call next. */
export function linkResult(platform: string, start: api.ConnectStart, language: Language): CallToolResult {
  const { sessionId, expiresAt, url, authInstructions } = start;
  const image = qrImage(url);
  const lines = image
    ? [
        `Show the person this QR code (the image below); they scan it in the ${platform} app to approve access.`,
      ]
    : [`Show the person this link; they open it and approve access to their ${platform} account:`, url];
  const said = authInstructions?.[language]?.split('\n').slice(0, 20) ?? [];
  if (said.length > 0) lines.push('Instructions for the person:', ...said);
  lines.push(
    `Once it is shown, call wait_for_auth with ${JSON.stringify({ platform, sessionId })}: it returns the connected accounts as soon as the person finishes (the session expires at ${expiresAt}).`,
  );
  const content = [text(lines), ...(image ? [{ type: 'image' as const, ...image }] : [])];
  const shown = { ...(image ? {} : { url }), ...(authInstructions && { authInstructions }) };
  return { content, structuredContent: { platform, sessionId, expiresAt, ...shown } };
}

export const consent = (platform: string, language: Language) =>
  language === 'zh-CN'
    ? `请打开此页面并同意授权，以连接您的 ${platform} 账号。`
    : `Open this page and approve access, to connect your ${platform} account.`;

/** Why connect_account ended without a session when the person would not open the page. */
export const declined = (platform: string, sessionId: string, action: 'decline' | 'cancel') =>
  `The person ${action === 'decline' ? 'declined' : 'dismissed'} the request to open the ${platform} consent page; nothing was connected (session ${sessionId} abandoned). Call connect_account again if they change their mind.`;

const NEXT_STEP = [
  [AuthExpiredError, ' Call connect_account to start a new authorization.'],
  [AuthTimeoutError, ' The session may still be pending: call wait_for_auth again.'],
  [AitoearnInputError, ' Nothing was sent.'],
] as const;

export function toolError(error: unknown): CallToolResult {
  const next = NEXT_STEP.find(([type]) => error instanceof type)?.[1] ?? '';
  return { isError: true, content: [text([`${(error as Error)?.message ?? error}${next}`])] };
}

/** The raster `data:image/…;base64` QR code some platforms answer instead of a page, as an image block. */
export function qrImage(url: string): { data: string; mimeType: string } | undefined {
  const match = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=]+)$/i.exec(url);
  return match ? { mimeType: (match[1] ?? '').toLowerCase(), data: match[2] ?? '' } : undefined;
}

export const describeProgress = (event: api.AuthProgress | undefined) =>
  escapeUnsafe(
    event === undefined
      ? 'Waiting for the person to open the page and approve'
      : event.type === 'retry'
        ? `The API failed for a moment; retrying (${event.warning ?? 'a transient failure'})`
        : event.selectionRequired
          ? 'The person is choosing which accounts to connect, in their browser'
          : `Waiting for the person to approve (status ${event.status ?? 'unknown'}, ${Math.round(event.remainingMs / 1000)} s left)`,
  );
