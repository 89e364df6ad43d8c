/** The languages the real API answers in. */
export type Language = 'en' | 'zh';

/** The business codes the sandbox answers, with the messages the real API sends for them. */
const MESSAGES = {
  0: { en: 'Request succeeded', zh: '请求成功' },
  401: { en: 'Unauthorized', zh: '未认证或 API Key 无效' },
  10002: { en: 'Validation failed', zh: '参数验证失败' },
  15039: { en: 'Authorization session is invalid or expired', zh: '授权会话无效或已过期' },
  15040: { en: 'Authorization platform mismatch', zh: '授权平台不匹配' },
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
