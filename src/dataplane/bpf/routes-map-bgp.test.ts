import { describe, expect, it } from 'vitest';
import type { RouteUpdate } from '../messages.js';
import { describeRoute, ROUTE_TYPE, routeKey, routeKeyOf, routeValue } from './codecs/routes.js';
import { MemoryBpfKernel } from './memory-kernel.js';
import { RoutesMapManager } from './routes-map-manager.js';

const learned = (dst: string, nextHop: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'bgp', nextHop, encap: 'none' });
const remote = (dst: string, nextHop: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'remote-block', nextHop, encap: 'none' });

function setup() {
  const kernel = new MemoryBpfKernel({});
  kernel.interfaces.set('eth0', 2);
  const loaded = kernel.load('/sys/fs/bpf/tabby/t', { nodeIPv4: '192.168.1.1', uplinkIfindex: 2 });
  const mgr = new RoutesMapManager({ map: () => loaded.map('routes'), ifindex: (n) => kernel.ifindex(n), nodeIPv4: '192.168.1.1' });
  const dsts = () => [...kernel.maps.routes.entries()].map(({ key, value }) => describeRoute(routeKey.decode(key), routeValue.decode(value as Buffer)).dst).sort();
  return { kernel, mgr, dsts };
}

describe('RoutesMapManager: routes learned from BGP', () => {
  it('gives them no map entry and reports nothing: unknown destinations pass to the kernel, which routes them', async () => {
    const { mgr, dsts } = setup();
    expect(mgr.plan(learned('203.0.113.0/24', '192.168.1.254'))).toEqual({ kind: 'kernel' });
    mgr.onUpdate(learned('203.0.113.0/24', '192.168.1.254'));
    mgr.onUpdate(remote('10.65.1.0/26', '192.168.1.2'));
    mgr.onUpdate({ type: 'InSync' });
    await expect(mgr.apply()).resolves.toBeUndefined();
    expect(dsts()).toEqual(['10.65.1.0/26']);
  });

  it('sweeps an entry left for a destination that is now a learned route', async () => {
    const { kernel, mgr, dsts } = setup();
    kernel.maps.routes.update(routeKey.encode(routeKeyOf('203.0.113.0/24')), routeValue.encode({ type: ROUTE_TYPE.remote, flags: 0, ifindex: 0, next_hop: '192.168.1.9' }));
    mgr.onUpdate(learned('203.0.113.0/24', '192.168.1.254'));
    mgr.onUpdate({ type: 'InSync' });
    await mgr.apply();
    expect(dsts()).toEqual([]);
  });
});
