import { API_CODES, type ApiCode, SUCCESS_MESSAGE } from '../codes.js';

/** The languages the real API answers in. */
export type Language = 'en' | 'zh';

/** A code the sandbox answers: success, or one whose real message the table holds. */
export type SandboxCode =
  | 0
  | { [C in ApiCode]: (typeof API_CODES)[C] extends { text: object } ? C : never }[ApiCode];

/** The real server's message for `code` in `language`. */
export function apiMessage(code: SandboxCode, language: Language): string {
  return code === 0 ? SUCCESS_MESSAGE : API_CODES[code].text[language];
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
