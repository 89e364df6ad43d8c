/** The languages the real API answers in. */
export type Language = 'en' | 'zh';

/**
 * The business codes the sandbox answers, with the messages the real server sends for them (its
 * `libs/common` i18n table; 401 and 400 come from Nest's exceptions, which are English in both languages).
 * The success message is `请求成功` whatever the language: the real server's response interceptor hard-codes it.
 */
const MESSAGES = {
  0: { en: '请求成功', zh: '请求成功' },
  400: { en: 'Bad request', zh: 'Bad request' },
  401: { en: 'Unauthorized', zh: 'Unauthorized' },
  // Upstream's English text for 15032 really says this (one message shared by several operations).
  15032: { en: 'Platform not supported for update published post', zh: '暂不支持该平台' },
  12601: { en: 'Account group not found', zh: '账号分组未找到' },
  15039: { en: 'Invalid or expired authorization session', zh: '授权会话无效或已过期' },
  15040: { en: 'Authorization platform does not match', zh: '授权平台不匹配' },
} as const satisfies Record<number, Record<Language, string>>;

export type SandboxCode = keyof typeof MESSAGES;

export function apiMessage(code: SandboxCode, language: Language): string {
  return MESSAGES[code][language];
}

/**
 * The language of the best-ranked `en` or `zh` entry of an `Accept-Language` header (ties go to the
 * first listed); English when neither is acceptable or the header is missing.
 */
export function pickLanguage(header: string | undefined): Language {
  let best: Language = 'en';
  let bestQ = 0;
  for (const part of (header ?? '').split(',')) {
    const [tag = '', ...params] = part.trim().split(';');
    const primary = tag.trim().toLowerCase().split('-')[0];
    if (primary !== 'en' && primary !== 'zh') continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (Number.isFinite(q) && q > bestQ) {
      best = primary;
      bestQ = q;
    }
  }
  return best;
}
