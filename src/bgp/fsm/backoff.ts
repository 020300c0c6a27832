/**
 * Delay before the automatic restart that follows the n-th consecutive failure:
 * initial * 2^(n-1), capped at max, then scaled by a jitter factor in [0.75, 1.25) so a
 * mesh of nodes that failed together does not retry in lockstep. Bounded by 1.25 * max.
 */
export function restartDelayMs(failures: number, opts: { initial: number; max: number }, random: () => number): number {
  const n = Math.max(1, failures);
  const base = Math.min(opts.max, opts.initial * 2 ** Math.min(n - 1, 30));
  const r = Math.min(Math.max(random(), 0), 0.999999);
  return Math.round(base * (0.75 + 0.5 * r));
}

export const DEFAULT_IDLE_HOLD = { initial: 1_000, max: 60_000 };
