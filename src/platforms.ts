import type { Platform } from './types.js';

/**
 * The platforms the spec names (the `platform` enum of a connected account), in the spec's order and
 * spelling. Written once here; the checks below fail the build when the spec adds, drops or renames one.
 */
export const PLATFORMS = [
  'douyin',
  'xhs',
  'wxSph',
  'KWAI',
  'youtube',
  'wxGzh',
  'bilibili',
  'twitter',
  'tiktok',
  'facebook',
  'instagram',
  'threads',
  'pinterest',
  'linkedin',
  'google_business',
] as const satisfies readonly Platform[];

// The other direction: a platform the spec has and the list lacks is named in the compiler's error.
type Unlisted = Exclude<Platform, (typeof PLATFORMS)[number]>;
const _everyPlatformListed: [Unlisted] extends [never] ? true : { unlisted: Unlisted } = true;

const KNOWN: ReadonlySet<string> = new Set(PLATFORMS);

/** Whether `value` is a platform the spec names, spelled exactly (the API's platform ids are case-sensitive). */
export function isPlatform(value: unknown): value is Platform {
  return typeof value === 'string' && KNOWN.has(value);
}
