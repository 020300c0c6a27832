import { describe, expect, it } from 'vitest';
import { applyManagers, type ApplyFailure } from '../driver.js';
import type { DataplaneMessage, RouteUpdate } from '../messages.js';
import { MemoryRouteKernel } from './memory-route-kernel.js';
import { TABBY_ROUTE_PROTOCOL as P } from './route-kernel.js';
import { RouteManager, type RouteManagerOptions } from './route-manager.js';

const learned = (dst: string, nextHop: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'bgp', nextHop, encap: 'none' });
const remote = (dst: string, nextHop: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'remote-block', nextHop, dstNode: 'n2', encap: 'none' });
const block = (dst: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'local-block', encap: 'none' });
const inSync: DataplaneMessage = { type: 'InSync' };

function setup(opts: Partial<RouteManagerOptions> = {}) {
  const kernel = new MemoryRouteKernel({ links: ['eth0', 'cali1'] });
  const infos: string[] = [];
  const logger = { info: (_o: object, m: string) => infos.push(m), warn: () => undefined, error: () => undefined };
  const mgr = new RouteManager({ kernel, hasIpipModule: async () => false, uplinkIfName: 'eth0', logger: logger as never, ...opts });
  const send = (...msgs: DataplaneMessage[]) => msgs.forEach((m) => mgr.onUpdate(m));
  const plain = () => kernel.dump().map(({ ifindex: _i, ...r }) => r);
  return { kernel, mgr, send, infos, plain };
}

/** One apply's failures, as the dataplane reports them (applyManagers). */
const failuresOf = async (mgr: RouteManager): Promise<ApplyFailure[]> => (await applyManagers([mgr], true)).failures;

describe('RouteManager: routes learned from BGP (routeType bgp)', () => {
  it('programs them via the next hop with no device pinned, unencapsulated, and removes them', async () => {
    const { mgr, send, plain } = setup();
    send(learned('203.0.113.0/24', '10.199.0.254'), inSync);
    await mgr.apply();
    // No ifName: the next hop may sit behind another device than the uplink; the kernel picks.
    expect(plain()).toEqual([{ dst: '203.0.113.0/24', type: 'unicast', gateway: '10.199.0.254', scope: 'universe', protocol: P, table: 254 }]);
    send({ type: 'RouteRemove', dst: '203.0.113.0/24' });
    await mgr.apply();
    expect(plain()).toEqual([]);
  });

  it('defers to a host route of another protocol holding the destination: no conflict, logged once', async () => {
    const { kernel, mgr, send, infos } = setup();
    kernel.seed({ dst: '0.0.0.0/0', type: 'unicast', gateway: '10.199.0.1', ifName: 'eth0', protocol: 3 });
    send(learned('0.0.0.0/0', '10.199.0.254'), inSync);
    expect(await failuresOf(mgr)).toEqual([]);
    mgr.requestResync();
    expect(await failuresOf(mgr)).toEqual([]);
    expect(kernel.get('0.0.0.0/0')).toMatchObject({ gateway: '10.199.0.1', protocol: 3 });
    expect(infos.filter((m) => m.includes('0.0.0.0/0'))).toHaveLength(1);
  });

  it('still reports a conflict for a cluster route (only learned routes defer)', async () => {
    const { kernel, mgr, send } = setup();
    kernel.seed({ dst: '10.65.1.0/26', type: 'unicast', gateway: '10.199.0.99', ifName: 'eth0', protocol: 3 });
    send(remote('10.65.1.0/26', '10.199.0.12'), inSync);
    expect(await failuresOf(mgr)).toEqual([expect.objectContaining({ code: 'ROUTE_CONFLICT' })]);
  });

  it('reports a next hop the kernel cannot reach as a pending failure', async () => {
    const { kernel, mgr, send } = setup();
    kernel.failOn('198.51.100.0/24', 'replace', 101);
    send(learned('198.51.100.0/24', '192.0.2.77'), inSync);
    expect(await failuresOf(mgr)).toEqual([expect.objectContaining({ item: 'route 198.51.100.0/24', code: 'ROUTE_REPLACE_FAILED' })]);
    kernel.clearFaults();
    expect(await failuresOf(mgr)).toEqual([]);
  });

  it('with routeTypes [bgp] (the bpf mode kernel-route manager) ignores cluster routes and drops a route reclassified away from bgp', async () => {
    const { mgr, send, plain } = setup({ routeTypes: ['bgp'], name: 'bgp-routes' });
    expect(mgr.name).toBe('bgp-routes');
    send(block('10.65.0.0/26'), remote('10.65.1.0/26', '10.199.0.12'), learned('203.0.113.0/24', '10.199.0.254'), inSync);
    await mgr.apply();
    expect(plain().map((r) => r.dst)).toEqual(['203.0.113.0/24']);
    // A pool now covers it: the same destination arrives as a cluster route, which is not ours.
    send(remote('203.0.113.0/24', '10.199.0.12'));
    await mgr.apply();
    expect(plain()).toEqual([]);
  });
});

describe('withLearnedKernelRoutes (bpf mode: the map for the cluster, kernel routes for learned ones)', () => {
  it('passes every message to the inner dataplane, programs only bgp routes in the kernel, and merges the reports', async () => {
    const { withLearnedKernelRoutes } = await import('./learned-routes.js');
    const kernel = new MemoryRouteKernel({ links: ['eth0'] });
    const seen: DataplaneMessage[] = [];
    let resyncs = 0;
    const inner = {
      send: (m: DataplaneMessage[]) => seen.push(...m),
      apply: async () => ({ inSync: true, failures: [{ manager: 'bpf-routes', item: 'x', code: 'X', message: 'x' }] }),
      requestResync: () => void resyncs++,
    };
    const dp = withLearnedKernelRoutes(inner, { routeKernel: kernel });
    const msgs: DataplaneMessage[] = [block('10.65.0.0/26'), remote('10.65.1.0/26', '10.199.0.12'), learned('203.0.113.0/24', '10.199.0.254'), inSync];
    dp.send(msgs);
    expect(seen).toEqual(msgs);
    const report = await dp.apply();
    expect(report).toEqual({ inSync: true, failures: [expect.objectContaining({ manager: 'bpf-routes' })] });
    expect(kernel.dump().map((r) => r.dst)).toEqual(['203.0.113.0/24']);
    dp.requestResync();
    expect(resyncs).toBe(1);
    kernel.failOn('198.51.100.0/24', 'replace', 101);
    dp.send([learned('198.51.100.0/24', '192.0.2.1')]);
    expect((await dp.apply()).failures).toContainEqual(expect.objectContaining({ manager: 'bgp-routes', code: 'ROUTE_REPLACE_FAILED' }));
  });
});
