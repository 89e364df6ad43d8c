import type { ResolvedWaitOptions } from './options.js';

type BackoffOptions = Pick<ResolvedWaitOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'jitter'>;

/**
 * The delay before check number `step + 1`, given `step` checks so far (step ≥ 1): `initialDelayMs`
 * grown by `factor` per step and capped at `maxDelayMs`, then shortened by up to `jitter` (a fraction),
 * so that many waiters started together spread out without ever waiting longer than the cap.
 */
export function backoffDelay(step: number, options: BackoffOptions, random: () => number): number {
  const grown = options.initialDelayMs * options.factor ** Math.max(0, step - 1);
  const capped = Math.min(options.maxDelayMs, grown);
  const drawn = random();
  // An injected random that returns NaN or runs out of [0, 1) must not collapse the schedule.
  const r = Number.isFinite(drawn) ? Math.min(1, Math.max(0, drawn)) : 0;
  return Math.round(capped * (1 - options.jitter * r));
}
