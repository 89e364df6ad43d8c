import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  AitoearnInputError,
  AuthExpiredError,
  type AuthInstructions,
  type AuthProgress,
  type AuthSession,
  AuthTimeoutError,
  type ConnectedAccount,
  type ConnectStart,
  describeAuthErrorCode,
  type SelectableAccount,
} from 'aitoearn-auth';
import { z } from 'zod';

// Strings, not the spec's enums: a status or platform a newer API adds must still pass the output check
// (the waiter passes an unknown status through as it came). `satisfies` fails the build when the spec adds,
// drops or renames a field.
type Fields<T> = Record<keyof T, z.ZodType>;
const [string, optional] = [z.string(), z.string().optional()];
const account = {
  platform: string,
  platformUid: string,
  account: optional,
  displayName: string,
  avatarUrl: optional,
};
const connected = { accountId: string, ...account } satisfies Fields<ConnectedAccount>;
const selectable = { ...account, parentPlatformUid: optional } satisfies Fields<SelectableAccount>;
const session = z
  .object({
    sessionId: z.string(),
    status: z.string().describe('pending, completed or failed'),
    requiresSelection: z.boolean().describe('The person must choose accounts in their browser'),
    errorCode: z.number().optional().describe('Why a failed session failed'),
    expiresAt: z.string().optional(),
    accountId: z.string().optional(),
    accountIds: z.array(z.string()).optional(),
    accounts: z.array(z.object(connected)).optional().describe('The connected accounts, when completed'),
    selectableAccounts: z.array(z.object(selectable)).optional(),
  } satisfies Fields<AuthSession>)
  .describe('The authorization session, as the AiToEarn API reports it');
const instructions = { 'en-US': string, 'zh-CN': string } satisfies Fields<AuthInstructions>;

/** Output of connect_account: the session to wait for, and `session` once it completed (URL elicitation). */
export const connectOutput = {
  platform: z.string(),
  sessionId: z.string(),
  expiresAt: z.string().describe('When the session ends (ISO 8601)'),
  url: z.string().optional().describe('The consent page to show the person (absent for a QR code image)'),
  authInstructions: z.object(instructions).optional(),
  session: session.optional(),
};
/** Output of wait_for_auth and auth_status. */
export const sessionOutput = { platform: z.string(), session };

export type Language = 'zh-CN' | 'en-US';

/** `zh-CN` when the person's locale is Chinese (`LC_ALL`, then `LC_MESSAGES`, then `LANG`), as the command decides. */
export function personLanguage(env: NodeJS.ProcessEnv): Language {
  return /^zh\b|^zh[_-]/i.test(env.LC_ALL || env.LC_MESSAGES || env.LANG || '') ? 'zh-CN' : 'en-US';
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\p{Bidi_Control}\u2028\u2029]/gu;

/** `value` with each character that could act on a terminal or reorder a line replaced by a visible escape. */
const escapeUnsafe = (value: string) =>
  value.replace(UNSAFE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);

/** Text for the model, which hosts also print in terminals: lines of our own, server text escaped. */
export function text(lines: readonly string[]): CallToolResult['content'][number] {
  return { type: 'text', text: escapeUnsafe(lines.join('\n')) };
}

/** `douyin Name (accountId …)` for each connected account; the ids alone when the API named none. */
function accountNames(done: AuthSession): string[] {
  if (done.accounts?.length) {
    return done.accounts.map((a) => `${a.platform} ${a.displayName} (accountId ${a.accountId})`);
  }
  return (done.accountIds ?? (done.accountId ? [done.accountId] : [])).map((id) => `accountId ${id}`);
}

/** A completed session: the accounts in text, the session (and any `fields`) in `structuredContent`. */
export function completed(platform: string, done: AuthSession, fields = {}): CallToolResult {
  const names = accountNames(done);
  return {
    content: [text([`Connected ${names.length} ${platform} account(s):`, ...names.map((n) => `- ${n}`)])],
    structuredContent: { platform, ...fields, session: done },
  };
}

/** The session as `aitoearn-auth status` shows it: one `field: value` line per fact, accounts last. */
export function statusResult(platform: string, current: AuthSession): CallToolResult {
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
export function linkResult(platform: string, start: ConnectStart, language: Language): CallToolResult {
  const image = qrImage(start.url);
  const lines = image
    ? [
        `Show the person this QR code (the image below); they scan it in the ${platform} app to approve access.`,
      ]
    : [`Show the person this link; they open it and approve access to their ${platform} account:`, start.url];
  const instructions = start.authInstructions?.[language];
  if (instructions) lines.push(`Instructions for the person: ${instructions}`);
  const next = JSON.stringify({ platform, sessionId: start.sessionId });
  lines.push(
    `Once it is shown, call wait_for_auth with ${next}: it returns the connected accounts as soon as the person finishes (the session expires at ${start.expiresAt}).`,
  );
  return {
    content: [text(lines), ...(image ? [{ type: 'image' as const, ...image }] : [])],
    structuredContent: {
      platform,
      sessionId: start.sessionId,
      expiresAt: start.expiresAt,
      ...(image ? {} : { url: start.url }),
      ...(start.authInstructions ? { authInstructions: start.authInstructions } : {}),
    },
  };
}

const NEXT_STEP = [
  [AuthExpiredError, ' Call connect_account to start a new authorization.'],
  [AuthTimeoutError, ' The session may still be pending: call wait_for_auth again.'],
  [AitoearnInputError, ' Nothing was sent.'],
] as const;

/** A tool error in the package's words, with what the agent can do next. */
export function toolError(error: unknown): CallToolResult {
  const next = NEXT_STEP.find(([type]) => error instanceof type)?.[1] ?? '';
  return {
    isError: true,
    content: [text([`${error instanceof Error ? error.message : String(error)}${next}`])],
  };
}

/** The raster `data:image/…;base64` QR code some platforms answer instead of a page, as an image block. */
export function qrImage(url: string): { data: string; mimeType: string } | undefined {
  const match = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=]+)$/i.exec(url);
  return match ? { mimeType: (match[1] ?? '').toLowerCase(), data: match[2] ?? '' } : undefined;
}

/** What a progress notification says about the waiter's latest event. */
export function describeProgress(event: AuthProgress | undefined): string {
  if (event === undefined) return 'Waiting for the person to open the page and approve';
  if (event.type === 'retry') {
    return escapeUnsafe(`The API failed for a moment; retrying (${event.warning ?? 'a transient failure'})`);
  }
  if (event.selectionRequired) return 'The person is choosing which accounts to connect, in their browser';
  const left = Math.round(event.remainingMs / 1000);
  return escapeUnsafe(
    `Waiting for the person to approve (status ${event.status ?? 'unknown'}, ${left} s left)`,
  );
}
