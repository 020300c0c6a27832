import { describe, expect, it } from 'vitest';
import type { CniDeps } from './deps.js';
import { serialReleases } from './serial-releases.js';

/** A fake IPAM that records how many releases run at once; `gate` holds each until released. */
function fakeIpam() {
  let inFlight = 0;
  let maxInFlight = 0;
  const order: string[] = [];
  const pending: Array<() => void> = [];
  const ipam = {
    store: {} as CniDeps['ipam']['store'],
    autoAssign: async () => [],
    releaseByHandle: async (handle: string) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((r) => pending.push(r));
      inFlight--;
      order.push(handle);
      if (handle === 'bad') throw new Error('etcd unavailable');
      return [`ip-of-${handle}`];
    },
  } as unknown as CniDeps['ipam'];
  return { ipam, order, pending, max: () => maxInFlight };
}

describe('serialReleases', () => {
  it('runs releases one at a time, in arrival order, and a failed one does not block the rest', async () => {
    const f = fakeIpam();
    const ipam = serialReleases(f.ipam);
    const all = ['a', 'bad', 'c', 'd'].map((h) => ipam.releaseByHandle(h).then((r) => r, (e: Error) => e.message));
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r));
      expect(f.pending).toHaveLength(1); // the next one starts only after this one is done
      f.pending.shift()!();
    }
    expect(await Promise.all(all)).toEqual([['ip-of-a'], 'etcd unavailable', ['ip-of-c'], ['ip-of-d']]);
    expect(f.order).toEqual(['a', 'bad', 'c', 'd']);
    expect(f.max()).toBe(1);
  });
});
