import { describe, expect, it } from 'vitest';
import { warmUpLearnedRoutes } from './warm-up.js';

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;

describe('BGP warm-up', () => {
  it('runs a table through speaker, calc, dataplane and the netlink encoder: every prefix written, withdrawn, written again and deleted when the peer goes', async () => {
    const before = timers();
    const r = await warmUpLearnedRoutes({ prefixes: 300, timeoutMs: 20_000 });
    // 300 announced, 300 withdrawn by UPDATEs, 300 announced, 300 gone with the session.
    expect(r.routes).toBe(1200);
    expect(r.ms).toBeGreaterThan(0);
    expect(r.cpuMs).toBeGreaterThan(0);
    // Speaker, sessions, apply loop: all stopped, no timer left behind.
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('gives up after its time limit with a message that says how far it got, and still stops everything', async () => {
    const before = timers();
    await expect(warmUpLearnedRoutes({ prefixes: 20_000, timeoutMs: 1 })).rejects.toThrow(/did not finish within 1 ms \(\d+ route writes\)/);
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
