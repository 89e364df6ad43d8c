/**
 * Type-level facts, checked by `npm run typecheck` (tsconfig includes test/): nothing here runs.
 * The runtime checks (src/generated/checks.ts) and the types (src/generated/aitoearn.ts) come from the
 * same spec; these make the compiler say so.
 */
import { expectTypeOf } from 'vitest';
import type { START_DATA, STATUS_DATA } from '../src/generated/checks.js';
import type { AuthInstructions, AuthSession, AuthStart, AuthStatus, Platform } from '../src/index.js';
import type { PLATFORMS } from '../src/platforms.js';
import type { KnownStatus, UnhandledStatus } from '../src/poll/status.js';

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type Status = typeof STATUS_DATA;
type Account = Status['properties']['accounts']['items'];

// The runtime table and the types agree on every required key, field and enum.
expectTypeOf<Status['required'][number]>().toEqualTypeOf<RequiredKeys<AuthSession>>();
expectTypeOf<keyof Status['properties']>().toEqualTypeOf<keyof AuthSession>();
expectTypeOf<(typeof START_DATA)['required'][number]>().toEqualTypeOf<RequiredKeys<AuthStart>>();
expectTypeOf<Status['properties']['status']['enum'][number]>().toEqualTypeOf<AuthStatus>();
expectTypeOf<Account['properties']['platform']['enum'][number]>().toEqualTypeOf<Platform>();

// The platform list is the spec's enum, and the waiter handles every status the spec declares.
expectTypeOf<(typeof PLATFORMS)[number]>().toEqualTypeOf<Platform>();
expectTypeOf<UnhandledStatus>().toEqualTypeOf<never>();
// What a spec change would make of it: a new status is named (and fails the guard in status.ts); a status
// widened to any string has nothing to enumerate.
expectTypeOf<UnhandledStatus<AuthStatus | 'cancelled'>>().toEqualTypeOf<'cancelled'>();
expectTypeOf<UnhandledStatus<string>>().toEqualTypeOf<never>();
expectTypeOf<AuthStatus>().toEqualTypeOf<KnownStatus>();

// Issue 16 item 7: instructions in one language are instructions.
expectTypeOf<{ readonly 'zh-CN': string }>().toExtend<AuthInstructions>();
// @ts-expect-error a language is text, nothing else
expectTypeOf<{ readonly 'zh-CN': number }>().toExtend<AuthInstructions>();
