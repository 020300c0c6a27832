import { describe, expect, it } from 'vitest';
import { ConntrackGcTimer } from './conntrack-gc-timer.js';

/** A manual timer: tests fire what is due. */
function manualClock() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    pending,
    setTimeout: (fn: () => void, ms: number) => {
      pending.set(next, { fn, ms });
      return next++;
    },
    clearTimeout: (h: unknown) => void pending.delete(h as number),
    fire() {
      const [[id, t]] = [...pending];
      pending.delete(id);
      t.fn();
    },
  };
}

describe('ConntrackGcTimer', () => {
  it('sweeps every interval, survives a failing sweep, and stops', () => {
    const clock = manualClock();
    let calls = 0;
    const swept: number[] = [];
    const warnings: string[] = [];
    const timer = new ConntrackGcTimer({
      dataplane: {
        collectConntrack: () => {
          calls += 1;
          if (calls === 2) throw new Error('not loaded');
          return { scanned: 10, expired: calls };
        },
      },
      clock,
      intervalMs: 10_000,
      onSweep: (r) => swept.push(r.expired),
      logger: { debug: () => undefined, warn: (_o: unknown, m: string) => void warnings.push(m) },
    });
    timer.start();
    expect([...clock.pending.values()].map((t) => t.ms)).toEqual([10_000]);
    clock.fire();
    clock.fire();
    clock.fire();
    expect(calls).toBe(3);
    expect(swept).toEqual([1, 3]);
    expect(warnings).toHaveLength(1);
    timer.stop();
    expect(clock.pending.size).toBe(0);
  });
});
