/**
 * Learned (bgp) kernel routes across a restart, at the dataplane level, in both
 * compositions: LegacyDataplane (cluster manager on 84 + learned manager on 85) and
 * withLearnedKernelRoutes (bpf mode: a sweeper of 84 + the learned manager on 85).
 * A "restart" is a fresh dataplane on a MemoryRouteKernel seeded with what the previous
 * run left.
 */
import { describe, expect, it } from 'vitest';
import type { Dataplane } from '../driver.js';
import type { DataplaneMessage, RouteUpdate } from '../messages.js';
import { LearnedRoutesManager, withLearnedKernelRoutes, type LearnedRoutesDataplane } from './learned-routes.js';
import { LegacyDataplane } from './legacy-dataplane.js';
import { MemoryRouteKernel } from './memory-route-kernel.js';
import { TABBY_LEARNED_ROUTE_PROTOCOL as LEARNED, TABBY_ROUTE_PROTOCOL as CLUSTER, TABBY_RT_PROTOS_LINE, type KernelRoute } from './route-kernel.js';

const learned = (dst: string, nextHop: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'bgp', nextHop, encap: 'none' });
const block = (dst: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'local-block', encap: 'none' });
const inSync: DataplaneMessage = { type: 'InSync' };

/** A learned route as the kernel holds it (no device: the kernel resolves the next hop). */
const kernelLearned = (dst: string, gateway: string, protocol = LEARNED): KernelRoute => ({ dst, type: 'unicast', gateway, scope: 'universe', protocol });

const idleInner = (): Dataplane & { requestResync(): void } => ({ send: () => undefined, apply: async () => ({ inSync: true, failures: [] }), requestResync: () => undefined });

const modes: Array<[string, (kernel: MemoryRouteKernel) => LearnedRoutesDataplane]> = [
  ['legacy', (kernel) => LegacyDataplane.create({ routeKernel: kernel, hasIpipModule: async () => false, uplinkIfName: 'eth0' })],
  ['bpf (withLearnedKernelRoutes)', (kernel) => withLearnedKernelRoutes(idleInner(), { routeKernel: kernel })],
];

/** What the previous run left: two learned routes (85) and a cluster route nobody wants any more (84). */
function restartedKernel(): MemoryRouteKernel {
  const kernel = new MemoryRouteKernel({ links: ['eth0'] });
  kernel.seed({ dst: '0.0.0.0/0', type: 'unicast', gateway: '10.0.0.1', ifName: 'eth0', protocol: 3 });
  kernel.seed(kernelLearned('198.51.100.0/24', '10.0.0.254'));
  kernel.seed(kernelLearned('203.0.113.0/24', '10.0.0.254'));
  kernel.seed({ dst: '10.65.9.0/26', type: 'blackhole', protocol: CLUSTER });
  return kernel;
}

const opsOn = (kernel: MemoryRouteKernel, dst: string, from = 0) => kernel.ops.slice(from).filter((o) => o.dst === dst);

describe.each(modes)('learned routes across a restart: %s', (_mode, create) => {
  it('keeps the previous run\'s learned routes across InSync until BGP converged, while stale cluster routes go at InSync', async () => {
    const kernel = restartedKernel();
    const dp = create(kernel);
    dp.send([block('10.65.0.0/26')]);
    await dp.apply();
    dp.send([inSync]);
    const report = await dp.apply();
    // The datastore's InSync is what the report (and so readiness) follows.
    expect(report).toEqual({ inSync: true, failures: [] });
    expect(kernel.get('10.65.9.0/26')).toBeUndefined();
    expect(kernel.get('198.51.100.0/24')).toMatchObject({ protocol: LEARNED, gateway: '10.0.0.254' });
    expect(kernel.get('203.0.113.0/24')).toMatchObject({ protocol: LEARNED, gateway: '10.0.0.254' });
    // Periodic resyncs do not sweep them either while BGP is still coming up.
    dp.requestResync();
    await dp.apply();
    expect(kernel.get('203.0.113.0/24')).toBeDefined();
    expect(kernel.get('0.0.0.0/0')).toMatchObject({ protocol: 3 });
  });

  it('after convergence removes what BGP did not bring back and leaves what it did untouched (no write)', async () => {
    const kernel = restartedKernel();
    const dp = create(kernel);
    const start = kernel.ops.length;
    dp.send([block('10.65.0.0/26'), inSync]);
    await dp.apply();
    // The session comes up and brings one of the two back, with the same next hop.
    dp.send([learned('198.51.100.0/24', '10.0.0.254')]);
    await dp.apply();
    expect(kernel.get('203.0.113.0/24')).toBeDefined();
    dp.onBgpConverged();
    await dp.apply();
    expect(kernel.get('203.0.113.0/24')).toBeUndefined();
    expect(kernel.get('198.51.100.0/24')).toMatchObject({ protocol: LEARNED, gateway: '10.0.0.254' });
    expect(opsOn(kernel, '198.51.100.0/24', start)).toEqual([]);
    // From now on a withdrawal removes the route at once.
    dp.send([{ type: 'RouteRemove', dst: '198.51.100.0/24' }]);
    await dp.apply();
    expect(kernel.get('198.51.100.0/24')).toBeUndefined();
  });

  it('a withdrawal before convergence is applied at once; what the previous run left still waits', async () => {
    const kernel = restartedKernel();
    const dp = create(kernel);
    dp.send([learned('192.0.2.0/24', '10.0.0.254'), inSync]);
    await dp.apply();
    expect(kernel.get('192.0.2.0/24')).toMatchObject({ protocol: LEARNED });
    // Learned and withdrawn in this run: BGP said so, no reason to wait.
    dp.send([{ type: 'RouteRemove', dst: '192.0.2.0/24' }]);
    await dp.apply();
    expect(kernel.get('192.0.2.0/24')).toBeUndefined();
    // Never heard of in this run: kept until convergence.
    expect(kernel.get('198.51.100.0/24')).toMatchObject({ protocol: LEARNED });
    dp.onBgpConverged();
    await dp.apply();
    expect(kernel.get('198.51.100.0/24')).toBeUndefined();
  });

  it('convergence before the datastore\'s InSync still waits for InSync to sweep', async () => {
    const kernel = restartedKernel();
    const dp = create(kernel);
    dp.onBgpConverged();
    dp.send([learned('198.51.100.0/24', '10.0.0.254')]);
    await dp.apply();
    expect(kernel.get('203.0.113.0/24')).toBeDefined();
    dp.send([inSync]);
    await dp.apply();
    expect(kernel.get('203.0.113.0/24')).toBeUndefined();
    expect(kernel.get('198.51.100.0/24')).toMatchObject({ protocol: LEARNED });
  });

  it('upgrade: an older agent\'s protocol-84 learned route is swept at InSync and programmed again as 85 once learned', async () => {
    const kernel = new MemoryRouteKernel({ links: ['eth0'] });
    kernel.seed(kernelLearned('198.51.100.0/24', '10.0.0.254', CLUSTER));
    kernel.seed(kernelLearned('203.0.113.0/24', '10.0.0.254', CLUSTER));
    const dp = create(kernel);
    // BGP brought one back before InSync: the 84 route holds the slot, the learned manager defers.
    dp.send([learned('198.51.100.0/24', '10.0.0.254')]);
    expect((await dp.apply()).failures).toEqual([]);
    expect(kernel.get('198.51.100.0/24')).toMatchObject({ protocol: CLUSTER });
    // InSync: the 84 routes go, and the learned one is claimed as 85 in the same apply.
    dp.send([inSync]);
    expect((await dp.apply()).failures).toEqual([]);
    expect(kernel.get('198.51.100.0/24')).toMatchObject({ protocol: LEARNED, gateway: '10.0.0.254' });
    // The other was not learned yet: gone until BGP brings it (the one-time upgrade cost).
    expect(kernel.get('203.0.113.0/24')).toBeUndefined();
    dp.send([learned('203.0.113.0/24', '10.0.0.254')]);
    await dp.apply();
    expect(kernel.get('203.0.113.0/24')).toMatchObject({ protocol: LEARNED });
  });
});

describe('LegacyDataplane with two route protocols', () => {
  it('programs cluster routes as 84 and learned ones as 85, and neither manager touches the other\'s routes', async () => {
    const kernel = new MemoryRouteKernel({ links: ['eth0'] });
    const dp = LegacyDataplane.create({ routeKernel: kernel, hasIpipModule: async () => false, uplinkIfName: 'eth0' });
    dp.send([block('10.65.0.0/26'), learned('198.51.100.0/24', '10.0.0.254'), inSync]);
    dp.onBgpConverged();
    await dp.apply();
    expect(kernel.dump().map((r) => `${r.dst} ${r.protocol}`)).toEqual(['10.65.0.0/26 84', '198.51.100.0/24 85']);
    // Full passes of both (resync) keep both.
    dp.requestResync();
    expect(await dp.apply()).toEqual({ inSync: true, failures: [] });
    expect(kernel.dump().map((r) => `${r.dst} ${r.protocol}`)).toEqual(['10.65.0.0/26 84', '198.51.100.0/24 85']);
  });
});

describe('LearnedRoutesManager', () => {
  it('does not dump the kernel while it has nothing to program and may not sweep yet', async () => {
    const kernel = new MemoryRouteKernel();
    let lists = 0;
    const list = kernel.listRoutes.bind(kernel);
    kernel.listRoutes = (f) => (lists++, list(f));
    const mgr = new LearnedRoutesManager({ routeKernel: kernel });
    mgr.onUpdate(block('10.65.0.0/26'));
    mgr.onUpdate(inSync);
    await mgr.apply();
    expect(lists).toBe(0);
    expect(mgr.sweeping).toBe(false);
    mgr.onBgpConverged();
    await mgr.apply();
    expect(mgr.sweeping).toBe(true);
    expect(lists).toBe(1);
  });
});

describe('withLearnedKernelRoutes (bpf mode) stale protocol-84 routes', () => {
  it('removes every protocol-84 route at InSync (none are programmed in bpf mode), and only then', async () => {
    const kernel = new MemoryRouteKernel({ links: ['eth0'] });
    kernel.seed({ dst: '10.65.9.0/26', type: 'blackhole', protocol: CLUSTER });
    kernel.seed({ dst: '10.65.1.0/26', type: 'unicast', gateway: '10.0.0.3', ifName: 'eth0', protocol: CLUSTER });
    const dp = withLearnedKernelRoutes(idleInner(), { routeKernel: kernel });
    dp.send([block('10.65.0.0/26')]);
    await dp.apply();
    expect(kernel.dump()).toHaveLength(2);
    dp.send([inSync]);
    await dp.apply();
    expect(kernel.dump()).toEqual([]);
  });

  it('reports a delete that failed and retries it on the next apply', async () => {
    const kernel = new MemoryRouteKernel({ links: ['eth0'] });
    kernel.seed({ dst: '10.65.9.0/26', type: 'blackhole', protocol: CLUSTER });
    kernel.failOn('10.65.9.0/26', 'delete', 1);
    const dp = withLearnedKernelRoutes(idleInner(), { routeKernel: kernel });
    dp.send([inSync]);
    expect((await dp.apply()).failures).toEqual([expect.objectContaining({ manager: 'stale-routes', code: 'ROUTE_DELETE_FAILED', item: 'route 10.65.9.0/26' })]);
    kernel.clearFaults();
    expect((await dp.apply()).failures).toEqual([]);
    expect(kernel.dump()).toEqual([]);
  });
});

/** A MemoryRouteKernel whose batch writes wait until `release()`: a write the test holds in the kernel. */
class GatedKernel extends MemoryRouteKernel {
  writes = 0;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  override async writeRoutes(ops: Parameters<MemoryRouteKernel['writeRoutes']>[0]): ReturnType<MemoryRouteKernel['writeRoutes']> {
    this.writes++;
    await this.#gate;
    return super.writeRoutes(ops);
  }
}

describe.each(modes.map(([name]) => name))('learned routes written behind the apply loop: %s', (mode) => {
  function setup(): { kernel: GatedKernel; dp: LearnedRoutesDataplane; wakes: () => number } {
    const kernel = new GatedKernel({ links: ['eth0'] });
    let woken = 0;
    const writeBehind = { wake: () => void woken++ };
    const dp =
      mode === 'legacy'
        ? LegacyDataplane.create({ routeKernel: kernel, hasIpipModule: async () => false, uplinkIfName: 'eth0', learnedWriteBehind: writeBehind })
        : withLearnedKernelRoutes(idleInner(), { routeKernel: kernel, writeBehind });
    dp.send([inSync]);
    dp.onBgpConverged();
    return { kernel, dp, wakes: () => woken };
  }

  it('an apply does not wait for the kernel; what arrives meanwhile goes in the pass that follows', async () => {
    const { kernel, dp } = setup();
    await dp.apply();
    await dp.settled();
    kernel.hold();
    dp.send([learned('198.51.100.0/24', '10.0.0.254')]);
    // Resolves while the write is held in the kernel.
    expect(await dp.apply()).toEqual({ inSync: true, failures: [] });
    expect(kernel.get('198.51.100.0/24')).toBeUndefined();
    const writesBefore = kernel.writes;
    dp.send([learned('203.0.113.0/24', '10.0.0.254'), { type: 'RouteRemove', dst: '198.51.100.0/24' }]);
    await dp.apply();
    // No second write while the first is in the kernel.
    expect(kernel.writes).toBe(writesBefore);
    kernel.release();
    await dp.settled();
    expect(kernel.writes).toBe(writesBefore + 1);
    expect(kernel.dump().map((r) => `${r.dst} ${r.protocol}`)).toEqual([`203.0.113.0/24 ${LEARNED}`]);
  });

  it('reports a failed write on the next apply, wakes the loop when the outcome changes, and retries', async () => {
    const { kernel, dp, wakes } = setup();
    await dp.apply();
    await dp.settled();
    const woken = wakes();
    kernel.failOn('198.51.100.0/24', 'replace', 101);
    dp.send([learned('198.51.100.0/24', '10.0.0.254')]);
    expect((await dp.apply()).failures).toEqual([]);
    await dp.settled();
    expect(wakes()).toBe(woken + 1);
    // The loop's next apply reports it, and retries it (still failing: the same outcome, no wake).
    expect((await dp.apply()).failures).toEqual([expect.objectContaining({ manager: 'bgp-routes', code: 'ROUTE_REPLACE_FAILED', item: 'route 198.51.100.0/24' })]);
    await dp.settled();
    expect(wakes()).toBe(woken + 1);
    kernel.clearFaults();
    await dp.apply();
    await dp.settled();
    expect(wakes()).toBe(woken + 2);
    expect((await dp.apply()).failures).toEqual([]);
    expect(kernel.get('198.51.100.0/24')).toMatchObject({ protocol: LEARNED, gateway: '10.0.0.254' });
  });
});

it('names both protocols for /etc/iproute2/rt_protos.d', () => {
  expect(TABBY_RT_PROTOS_LINE.split('\n')).toEqual(['84\ttabby', '85\ttabby-bgp']);
});
