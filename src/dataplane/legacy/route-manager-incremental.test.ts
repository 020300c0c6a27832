import { describe, expect, it } from 'vitest';
import { applyManagers, type ApplyFailure } from '../driver.js';
import type { DataplaneMessage, RouteUpdate } from '../messages.js';
import { MemoryRouteKernel } from './memory-route-kernel.js';
import { TABBY_ROUTE_PROTOCOL as P, type KernelRoute, type ListRoutesFilter, type RouteKernel, type RouteWriteOp } from './route-kernel.js';
import { RouteManager } from './route-manager.js';
import { prng } from '../../../test/support/prng.js';

const learned = (dst: string, nextHop: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'bgp', nextHop, encap: 'none' });
const remote = (dst: string, nextHop: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'remote-block', nextHop, dstNode: 'n2', encap: 'none' });
const removal = (dst: string): DataplaneMessage => ({ type: 'RouteRemove', dst });
const inSync: DataplaneMessage = { type: 'InSync' };
/** Another daemon's route (protocol 3, boot), forwarding unlike any of ours. */
const foreignRoute = (dst: string): KernelRoute => ({ dst, type: 'unicast', gateway: '192.0.2.250', protocol: 3 });

/** A RouteKernel that counts every call it passes on, to show what an apply cost. */
class CountingKernel implements RouteKernel {
  lists = 0;
  batches: RouteWriteOp[][] = [];
  singles = 0;
  constructor(readonly inner: MemoryRouteKernel) {}
  listRoutes(filter: ListRoutesFilter): Promise<KernelRoute[]> {
    this.lists++;
    return this.inner.listRoutes(filter);
  }
  replaceRoute(route: KernelRoute): Promise<void> {
    this.singles++;
    return this.inner.replaceRoute(route);
  }
  deleteRoute(route: KernelRoute): Promise<void> {
    this.singles++;
    return this.inner.deleteRoute(route);
  }
  writeRoutes(ops: readonly RouteWriteOp[]) {
    this.batches.push([...ops]);
    return this.inner.writeRoutes(ops);
  }
  /** The ops of the last batch as `op dst`. */
  lastBatch(): string[] {
    return (this.batches.at(-1) ?? []).map((o) => `${o.op} ${o.route.dst}`);
  }
}

function setup() {
  const memory = new MemoryRouteKernel({ links: ['eth0'] });
  const kernel = new CountingKernel(memory);
  const infos: string[] = [];
  const logger = { info: (_o: object, m: string) => infos.push(m), warn: () => undefined, error: () => undefined };
  const mgr = new RouteManager({ kernel, hasIpipModule: async () => false, logger: logger as never });
  const send = (...msgs: DataplaneMessage[]) => msgs.forEach((m) => mgr.onUpdate(m));
  return { memory, kernel, mgr, send, infos };
}

/** One apply's failures, as the dataplane reports them (applyManagers). */
const failuresOf = async (mgr: RouteManager): Promise<ApplyFailure[]> => (await applyManagers([mgr], true)).failures;

describe('RouteManager: incremental apply', () => {
  it('after one change does no dump and exactly one write, in one batch', async () => {
    const { kernel, mgr, send } = setup();
    for (let i = 0; i < 500; i++) send(learned(`198.18.${i >> 8}.${i & 255}/32`, '10.199.0.1'));
    send(inSync);
    await mgr.apply();
    expect(kernel.lists).toBe(1);
    expect(kernel.batches).toHaveLength(1);
    expect(kernel.batches[0]).toHaveLength(500);

    const step = async (...msgs: DataplaneMessage[]) => {
      const [lists, batches] = [kernel.lists, kernel.batches.length];
      send(...msgs);
      await mgr.apply();
      expect(kernel.lists - lists).toBe(0);
      expect(kernel.batches.length - batches).toBe(1);
      return kernel.lastBatch();
    };
    expect(await step(learned('198.18.0.7/32', '10.199.0.2'))).toEqual(['replace 198.18.0.7/32']);
    expect(await step(learned('203.0.113.0/24', '10.199.0.2'))).toEqual(['create 203.0.113.0/24']);
    expect(await step(removal('198.18.1.9/32'))).toEqual(['delete 198.18.1.9/32']);
    expect(kernel.singles).toBe(0);
    expect(kernel.inner.get('198.18.0.7/32')?.gateway).toBe('10.199.0.2');
    expect(kernel.inner.get('203.0.113.0/24')?.protocol).toBe(P);
    expect(kernel.inner.get('198.18.1.9/32')).toBeUndefined();

    // An update that forwards as before writes nothing at all.
    const batches = kernel.batches.length;
    send(learned('198.18.0.7/32', '10.199.0.2'));
    await mgr.apply();
    expect(kernel.batches.length).toBe(batches);
  });

  it('meets EEXIST from a route that appeared after the last dump with a fresh dump and the conflict/deferral rules, never an overwrite', async () => {
    const { memory, kernel, mgr, send, infos } = setup();
    send(learned('198.51.100.0/24', '10.199.0.1'), inSync);
    await mgr.apply();
    expect(kernel.lists).toBe(1);

    // Another daemon adds routes where the view saw nothing.
    memory.seed(foreignRoute('203.0.113.0/24'));
    memory.seed(foreignRoute('10.65.1.0/26'));
    const mark = memory.ops.length;
    send(learned('203.0.113.0/24', '10.199.0.1'), remote('10.65.1.0/26', '10.199.0.12'), learned('198.51.100.0/24', '10.199.0.2'));
    const failures = await failuresOf(mgr);
    expect(failures.map((f) => [f.item, f.code])).toEqual([['route 10.65.1.0/26', 'ROUTE_CONFLICT']]);
    expect(kernel.lists).toBe(2);
    expect(memory.get('203.0.113.0/24')).toMatchObject({ protocol: 3, gateway: '192.0.2.250' });
    expect(memory.get('10.65.1.0/26')).toMatchObject({ protocol: 3, gateway: '192.0.2.250' });
    expect(memory.get('198.51.100.0/24')).toMatchObject({ protocol: P, gateway: '10.199.0.2' });
    // The claims met EEXIST; the full pass that followed found nothing else to write.
    expect(memory.ops.slice(mark).map((o) => `${o.op} ${o.dst}`)).toEqual(['create 203.0.113.0/24', 'create 10.65.1.0/26', 'replace 198.51.100.0/24']);
    expect(infos.filter((m) => m.includes('203.0.113.0/24'))).toHaveLength(1);

    // The conflict is retried without a dump: still held, still reported, the route untouched.
    expect((await failuresOf(mgr)).map((f) => f.code)).toEqual(['ROUTE_CONFLICT']);
    expect(kernel.lists).toBe(2);
    expect(memory.get('10.65.1.0/26')?.protocol).toBe(3);

    // Once the operator deletes it, the retry claims the destination.
    await memory.deleteRoute(foreignRoute('10.65.1.0/26'));
    expect(await failuresOf(mgr)).toEqual([]);
    expect(memory.get('10.65.1.0/26')).toMatchObject({ protocol: P, gateway: '10.199.0.12' });
    expect(kernel.lists).toBe(2);
    expect(infos.filter((m) => m.includes('203.0.113.0/24'))).toHaveLength(1);
  });

  it('retries a failed write without a dump and reports it the same way until it clears', async () => {
    const { memory, kernel, mgr, send } = setup();
    send(inSync);
    await mgr.apply();
    memory.failOn('198.51.100.0/24', 'replace', 101);
    send(learned('198.51.100.0/24', '192.0.2.77'));
    const first = await failuresOf(mgr);
    expect(first).toEqual([expect.objectContaining({ item: 'route 198.51.100.0/24', code: 'ROUTE_REPLACE_FAILED' })]);
    expect(await failuresOf(mgr)).toEqual(first);
    memory.clearFaults();
    expect(await failuresOf(mgr)).toEqual([]);
    expect(memory.get('198.51.100.0/24')?.gateway).toBe('192.0.2.77');
    expect(kernel.lists).toBe(1);
    // Nothing pending, nothing failing: no kernel call at all.
    const batches = kernel.batches.length;
    await mgr.apply();
    expect(kernel.batches.length).toBe(batches);
  });
});


describe('RouteManager: incremental apply against a randomized history', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`keeps the kernel right through updates, removals, InSync, resyncs and tampering (seed ${seed})`, async () => {
      const random = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      const dsts = Array.from({ length: 40 }, (_, i) => `10.${60 + (i % 4)}.${i}.0/24`);
      const memory = new MemoryRouteKernel();
      const mgr = new RouteManager({ kernel: memory, hasIpipModule: async () => false });

      // The test's model: what the manager was told, and what others put in the kernel.
      const desired = new Map<string, { bgp: boolean; gateway: string }>();
      const foreign = new Set<string>();
      const faulty = new Set<string>();
      /** Changes not yet seen in the kernel (kept while a fault blocks them). */
      const owed = new Set<string>();
      /** Our routes deleted behind the manager's back since its last dump. */
      const tampered = new Set<string>();
      let synced = false;
      let gw = 0;

      // A restart: routes a previous run left (some stale) and other owners' routes.
      for (const dst of dsts) {
        const r = random();
        if (r < 0.2) memory.seed({ dst, type: 'unicast', gateway: '10.199.9.9', protocol: P });
        else if (r < 0.3) {
          memory.seed(foreignRoute(dst));
          foreign.add(dst);
        }
      }

      const expectRight = (dst: string) => {
        const have = memory.get(dst);
        const want = desired.get(dst);
        if (foreign.has(dst)) expect(have, dst).toMatchObject({ protocol: 3, gateway: '192.0.2.250' });
        else if (want) expect(have, dst).toMatchObject({ protocol: P, gateway: want.gateway });
        else if (synced) expect(have, dst).toBeUndefined();
      };

      const apply = async (resync: boolean) => {
        if (resync) mgr.requestResync();
        const failures = await failuresOf(mgr);
        const failed = new Set(failures.map((f) => f.item));
        for (const dst of dsts) {
          // Other owners' routes are never overwritten.
          if (foreign.has(dst)) expect(memory.get(dst), dst).toMatchObject({ protocol: 3 });
        }
        // A cluster route held by another owner is a conflict; a learned one defers quietly.
        const check = resync ? dsts : [...owed];
        for (const dst of check) {
          if (faulty.has(dst)) continue;
          expectRight(dst);
          const want = desired.get(dst);
          if (want && foreign.has(dst)) expect(failed.has(`route ${dst}`), dst).toBe(!want.bgp);
          owed.delete(dst);
        }
        if (resync) tampered.clear();
      };

      for (let step = 0; step < 300; step++) {
        const r = random();
        const dst = pick(dsts);
        if (r < 0.45) {
          const bgp = random() < 0.5;
          const gateway = `10.199.0.${1 + (gw++ % 250)}`;
          desired.set(dst, { bgp, gateway });
          mgr.onUpdate(bgp ? learned(dst, gateway) : remote(dst, gateway));
          owed.add(dst);
        } else if (r < 0.6) {
          if (desired.delete(dst)) owed.add(dst);
          mgr.onUpdate(removal(dst));
        } else if (r < 0.63) {
          synced = true;
          mgr.onUpdate(inSync);
        } else if (r < 0.67) {
          await apply(true);
        } else if (r < 0.72) {
          // Someone deletes one of our routes.
          if (memory.get(dst)?.protocol === P) {
            await memory.deleteRoute({ dst, type: 'unicast', protocol: P });
            tampered.add(dst);
          }
        } else if (r < 0.77) {
          // Another owner's route appears where nothing is (and the manager believes nothing is).
          if (!memory.get(dst) && !tampered.has(dst)) {
            memory.seed(foreignRoute(dst));
            foreign.add(dst);
          }
        } else if (r < 0.8) {
          if (foreign.delete(dst)) await memory.deleteRoute(foreignRoute(dst));
        } else if (r < 0.83) {
          memory.failOn(dst, 'replace', 101);
          faulty.add(dst);
        } else if (r < 0.86) {
          memory.clearFaults();
          faulty.clear();
        } else {
          await apply(false);
        }
      }
      memory.clearFaults();
      faulty.clear();
      synced = true;
      mgr.onUpdate(inSync);
      await apply(false);
      await apply(true);
      expect(memory.dump().filter((r) => r.protocol === P).map((r) => `${r.dst} ${r.gateway}`)).toEqual(
        [...desired].filter(([d]) => !foreign.has(d)).map(([d, w]) => `${d} ${w.gateway}`).sort((a, b) => a.localeCompare(b)),
      );
    });
  }
});
