/**
 * The API's business codes, written once: what each means and whether retrying may help (the errors and the
 * command read both), and the real server's texts, which the sandbox answers with (English from its i18n
 * table; Nest's 400/401 English). The texts are joined to the facts lazily: a client bundle, which reads only
 * the facts, leaves them out.
 */
type CodeFacts = { kind: string; meaning: string; transient?: true };
type Text = { readonly en: string; readonly zh: string };

const FACTS = {
  400: { kind: 'validation', meaning: 'validation failed' },
  401: { kind: 'unauthorized', meaning: 'missing or invalid API key' },
  429: { kind: 'rate-limited', meaning: 'rate limited', transient: true },
  500: { kind: 'internal', meaning: 'internal server error', transient: true },
  10002: { kind: 'validation', meaning: 'validation failed' },
  12601: { kind: 'group-not-found', meaning: 'account group not found' },
  15032: { kind: 'platform-unsupported', meaning: 'platform not supported' },
  15039: { kind: 'session-invalid', meaning: 'session invalid or expired' },
  15040: { kind: 'platform-mismatch', meaning: 'session belongs to another platform' },
} as const satisfies Readonly<Record<number, CodeFacts>>;

const TEXTS = {
  400: { en: 'Bad request', zh: 'Bad request' },
  401: { en: 'Unauthorized', zh: 'Unauthorized' },
  12601: { en: 'Account group not found', zh: '账号分组未找到' },
  // Upstream's English text really says this (one message shared by several operations).
  15032: { en: 'Platform not supported for update published post', zh: '暂不支持该平台' },
  15039: { en: 'Invalid or expired authorization session', zh: '授权会话无效或已过期' },
  15040: { en: 'Authorization platform does not match', zh: '授权平台不匹配' },
} as const satisfies Readonly<Partial<Record<keyof typeof FACTS, Text>>>;

type Code = keyof typeof FACTS;
type Facts = (typeof FACTS)[Code];
type WithText<C extends Code> = (typeof FACTS)[C] & (C extends keyof typeof TEXTS ? { text: Text } : unknown);

/** Every code with its facts, and the server's text where the sandbox answers with it. */
export const API_CODES = /* @__PURE__ */ (() => {
  const codes: Record<string, CodeFacts & { text?: Text }> = { ...FACTS };
  for (const [code, text] of Object.entries(TEXTS)) codes[code] = { ...(codes[code] as CodeFacts), text };
  return codes as { readonly [C in Code]: WithText<C> };
})();

/** The success message, whatever `Accept-Language` says: the real server hard-codes it. */
export const SUCCESS_MESSAGE = '请求成功';

/** What a non-zero business `code` means, so callers need not compare numbers. */
export type AitoearnApiErrorKind = Facts['kind'] | 'unknown';

export const codeFacts = (code: number): (Facts & CodeFacts) | undefined =>
  (FACTS as Record<number, Facts>)[code];

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
