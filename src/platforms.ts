import { STATUS_DATA } from './generated/checks.js';
import type { Platform } from './types.js';

/** The platforms the spec names (the `platform` enum of a connected account), in its order and spelling. */
export const PLATFORMS: readonly Platform[] = STATUS_DATA.properties.accounts.items.properties.platform.enum;

const KNOWN: ReadonlySet<string> = new Set(PLATFORMS);

/** Whether `value` is a platform the spec names, spelled exactly (platform ids are case-sensitive). */
export const isPlatform = (value: unknown): value is Platform =>
  typeof value === 'string' && KNOWN.has(value);
