/**
 * The API's business codes, written once: what each means and whether retrying may help (the errors and the
 * command read both), and the real server's texts, which the sandbox answers with (English from its i18n
 * table; Nest's 400/401 English).
 */
type CodeFacts = { kind: string; meaning: string; transient?: true; text?: { en: string; zh: string } };
const nest = (en: string) => ({ en, zh: en });

export const API_CODES = {
  400: { kind: 'validation', meaning: 'validation failed', text: nest('Bad request') },
  401: { kind: 'unauthorized', meaning: 'missing or invalid API key', text: nest('Unauthorized') },
  429: { kind: 'rate-limited', meaning: 'rate limited', transient: true },
  500: { kind: 'internal', meaning: 'internal server error', transient: true },
  10002: { kind: 'validation', meaning: 'validation failed' },
  12601: {
    kind: 'group-not-found',
    meaning: 'account group not found',
    text: { en: 'Account group not found', zh: '账号分组未找到' },
  },
  15032: {
    kind: 'platform-unsupported',
    meaning: 'platform not supported',
    // Upstream's English text really says this (one message shared by several operations).
    text: { en: 'Platform not supported for update published post', zh: '暂不支持该平台' },
  },
  15039: {
    kind: 'session-invalid',
    meaning: 'session invalid or expired',
    text: { en: 'Invalid or expired authorization session', zh: '授权会话无效或已过期' },
  },
  15040: {
    kind: 'platform-mismatch',
    meaning: 'session belongs to another platform',
    text: { en: 'Authorization platform does not match', zh: '授权平台不匹配' },
  },
} as const satisfies Readonly<Record<number, CodeFacts>>;

/** The success message, whatever `Accept-Language` says: the real server hard-codes it. */
export const SUCCESS_MESSAGE = '请求成功';

type Facts = (typeof API_CODES)[keyof typeof API_CODES];

/** What a non-zero business `code` means, so callers need not compare numbers. */
export type AitoearnApiErrorKind = Facts['kind'] | 'unknown';

export const codeFacts = (code: number): (Facts & CodeFacts) | undefined =>
  (API_CODES as Record<number, Facts>)[code];

/** The `errorCode` of a session whose person denied consent. */
export const CONSENT_DENIED = 15045;

/** What a `failed` session's `errorCode` means (the platform callback failed). */
export const AUTH_ERROR_CODES: Readonly<Record<number, string>> = {
  [CONSENT_DENIED]: 'the user denied consent, or the platform returned no code',
  15042: 'state mismatch',
  15013: 'permission denied',
  15010: 'the platform did not issue an access token',
  15047: 'the platform user id is missing',
  15048: 'access was revoked',
  15082: 'the account is already connected to another user',
  15083: 'account selection problem',
  15084: 'account selection problem',
  400: 'bad request',
  500: 'internal error',
};
