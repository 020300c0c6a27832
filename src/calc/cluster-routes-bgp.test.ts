/**
 * `--cluster-routes bgp`: routes to other nodes' blocks come from what the BGP speaker
 * learned (its next hop and encapsulation) instead of block affinities, while local routes
 * and host routes stay calc's own; until BGP converges the datastore's routes bridge.
 */
import { describe, expect, it } from 'vitest';
import type { DataplaneMessage, RouteRemove, RouteUpdate } from '../dataplane/messages.js';
import { Keys } from '../datastore/keys.js';
import type { SyncerUpdate } from '../datastore/syncer.js';
import { CalcGraph } from './calc-graph.js';
import { computeDesiredState, type CalcFacts } from './desired-state.js';
import { FactsStore } from './facts-store.js';
import { readBlock, readEndpoint, readNode, readPool } from './inputs.js';

const block = (dst: string, nextHop: string, encap: RouteUpdate['encap'] = 'none', dstNode?: string): RouteUpdate => ({
  type: 'RouteUpdate',
  dst,
  routeType: dst.endsWith('/32') ? 'remote-workload' : 'remote-block',
  nextHop,
  encap,
  ...(dstNode ? { dstNode } : {}),
});
const remove = (dst: string): RouteRemove => ({ type: 'RouteRemove', dst });

/** n1 (us) owns 10.65.0.0/26 with one local pod; n2 owns 10.65.0.64/26; n3 borrowed 10.65.0.70 from it. */
function facts(learned: RouteUpdate[]): CalcFacts {
  return {
    nodes: new Map([
      ['n1', readNode('n1', { spec: { bgp: { ipv4Address: '192.168.0.1/24' } } })],
      ['n2', readNode('n2', { spec: { bgp: { ipv4Address: '192.168.0.2/24' } } })],
      ['n3', readNode('n3', { spec: { bgp: { ipv4Address: '192.168.0.3/24' } } })],
    ]),
    pools: new Map([['p', readPool('p', { spec: { cidr: '10.65.0.0/16', ipipMode: 'Always' } })!]]),
    blocks: new Map([
      ['10.65.0.0/26', readBlock('10.65.0.0/26', { affinity: 'host:n1', allocations: [], attributes: [] })!],
      ['10.65.0.64/26', readBlock('10.65.0.64/26', { affinity: 'host:n2', allocations: [null, null, null, null, null, null, 0], attributes: [{ secondary: { node: 'n3' } }] })!],
    ]),
    endpoints: new Map([
      ['wep', readEndpoint('ns', 'n1-k8s-a-eth0', { spec: { pod: 'a', node: 'n1', endpoint: 'eth0', orchestrator: 'k8s', interfaceName: 'cali1', ipNetworks: ['10.65.0.2/32'] } })!],
    ]),
    externalRoutes: new Map(learned.map((r) => [r.dst, r])),
  };
}

const remoteRoutes = (routes: Map<string, RouteUpdate>) => [...routes.values()].filter((r) => r.routeType === 'remote-block' || r.routeType === 'remote-workload');

describe('computeDesiredState, clusterRoutes bgp', () => {
  it('the datastore mode derives remote routes from affinities and ignores learned cluster routes', () => {
    const routes = computeDesiredState(facts([block('10.66.0.0/26', '192.168.0.9', 'ipip')]), 'n1').routes;
    expect(remoteRoutes(routes).map((r) => r.dst).sort()).toEqual(['10.65.0.64/26', '10.65.0.70/32']);
    expect(routes.has('10.66.0.0/26')).toBe(false);
  });

  it('takes remote routes only from BGP, with the next hop and encapsulation it learned', () => {
    const learned = [block('10.65.0.64/26', '192.168.0.2', 'ipip', 'n2'), block('10.66.0.0/26', '10.0.0.9', 'none')];
    const routes = computeDesiredState(facts(learned), 'n1', { clusterRoutes: 'bgp' }).routes;
    expect(remoteRoutes(routes)).toEqual(learned);
    // Not learned, so not routed, although the datastore knows n3 holds it.
    expect(routes.has('10.65.0.70/32')).toBe(false);
  });

  it('keeps local routes and host routes from the datastore; a learned route cannot displace them', () => {
    const learned = [block('10.65.0.0/26', '192.168.0.2'), block('10.65.0.2/32', '192.168.0.2'), block('10.65.0.128/26', '192.168.0.1')];
    const routes = computeDesiredState(facts(learned), 'n1', { clusterRoutes: 'bgp' }).routes;
    expect(routes.get('10.65.0.0/26')).toMatchObject({ routeType: 'local-block' });
    expect(routes.get('10.65.0.2/32')).toMatchObject({ routeType: 'local-workload', iface: 'cali1' });
    expect(routes.get('192.168.0.2/32')).toMatchObject({ routeType: 'host' });
    // Our own address as next hop (a reflected copy of our own export) is never programmed.
    expect(routes.has('10.65.0.128/26')).toBe(false);
  });

  it('an address another node borrowed from our block is routed to it, as in datastore mode', () => {
    const routes = computeDesiredState(facts([block('10.65.0.5/32', '192.168.0.3', 'ipip', 'n3')]), 'n1', { clusterRoutes: 'bgp' }).routes;
    expect(routes.get('10.65.0.5/32')).toEqual(block('10.65.0.5/32', '192.168.0.3', 'ipip', 'n3'));
    expect(routes.get('10.65.0.0/26')).toMatchObject({ routeType: 'local-block' });
  });

  it('bridge: the datastore fills what BGP has not brought yet; where both know a prefix, BGP wins', () => {
    const learned = [block('10.65.0.64/26', '192.168.0.7', 'none', 'n2')];
    const routes = computeDesiredState(facts(learned), 'n1', { clusterRoutes: 'bgp', bridge: true }).routes;
    expect(routes.get('10.65.0.64/26')).toEqual(learned[0]);
    expect(routes.get('10.65.0.70/32')).toMatchObject({ routeType: 'remote-workload', nextHop: '192.168.0.3', dstNode: 'n3', encap: 'ipip' });
  });
});

describe('FactsStore.applyExternalRoutes by mode', () => {
  it('keeps learned cluster routes only when they are the source', () => {
    const ds = new FactsStore(new Keys());
    expect(ds.applyExternalRoutes([block('10.65.0.64/26', '192.168.0.2')])).toBe(false);
    expect(ds.externalRoutes.size).toBe(0);
    const bgp = new FactsStore(new Keys(), 'bgp');
    expect(bgp.applyExternalRoutes([block('10.65.0.64/26', '192.168.0.2')])).toBe(true);
    expect([...bgp.externalRoutes.keys()]).toEqual(['10.65.0.64/26']);
    expect(bgp.applyExternalRoutes([remove('10.65.0.64/26')])).toBe(true);
    expect(bgp.externalRoutes.size).toBe(0);
  });
});

describe('CalcGraph with clusterRoutes bgp', () => {
  const R = '/calico/resources/v3/projectcalico.org';
  let rev = 1;
  const put = (key: string, value: unknown): SyncerUpdate => ({ key, value, revision: String(++rev) });
  const routeMsgs = (out: DataplaneMessage[][]) => out.flat().filter((m) => m.type === 'RouteUpdate' || m.type === 'RouteRemove');
  const n2Block = put('/calico/ipam/v2/assignment/ipv4/block/10.65.0.64-26', { affinity: 'host:n2', allocations: [], attributes: [] });

  function graph(clusterRoutes?: 'datastore' | 'bgp') {
    const out: DataplaneMessage[][] = [];
    const g = new CalcGraph({ localNode: 'n1', sink: { push: (m) => out.push([...m]) }, ...(clusterRoutes ? { clusterRoutes } : {}) });
    g.onUpdates([
      put(`${R}/nodes/n1`, { spec: { bgp: { ipv4Address: '192.168.0.1/24' } } }),
      put(`${R}/nodes/n2`, { spec: { bgp: { ipv4Address: '192.168.0.2/24' } } }),
      put(`${R}/ippools/p`, { spec: { cidr: '10.65.0.0/16' } }),
      n2Block,
    ]);
    return { g, out };
  }

  it('bridges from the datastore at start, switches to the learned route, and after convergence follows BGP only', () => {
    const { g, out } = graph('bgp');
    expect(g.bridging).toBe(true);
    g.onStatus('in-sync');
    expect(routeMsgs(out)).toContainEqual(expect.objectContaining({ dst: '10.65.0.64/26', routeType: 'remote-block', nextHop: '192.168.0.2' }));
    out.length = 0;
    // The same route learned (the speaker also says whether the next hop is on our subnet): nothing to change.
    g.onExternalRoutes([{ ...block('10.65.0.64/26', '192.168.0.2', 'none', 'n2'), sameSubnet: true }]);
    expect(routeMsgs(out)).toEqual([]);
    g.onBgpConverged();
    expect(g.bridging).toBe(false);
    expect(routeMsgs(out)).toEqual([]);
    // The mesh goes away: the withdrawal removes the route although the block is still n2's.
    g.onExternalRoutes([remove('10.65.0.64/26')]);
    expect(out).toEqual([[remove('10.65.0.64/26')]]);
    out.length = 0;
    // A reflector brings it back with its next hop (the owning node's, kept by the reflector).
    g.onExternalRoutes([block('10.65.0.64/26', '192.168.0.2', 'none', 'n2')]);
    expect(out).toEqual([[block('10.65.0.64/26', '192.168.0.2', 'none', 'n2')]]);
  });

  it('convergence without the route learned removes the bridged one; a second call changes nothing', () => {
    const { g, out } = graph('bgp');
    g.onStatus('in-sync');
    out.length = 0;
    g.onBgpConverged();
    expect(out).toEqual([[remove('10.65.0.64/26')]]);
    out.length = 0;
    g.onBgpConverged();
    expect(out).toEqual([]);
  });

  it('datastore mode: learned cluster routes change nothing and there is no bridge', () => {
    const { g, out } = graph();
    expect(g.bridging).toBe(false);
    g.onStatus('in-sync');
    out.length = 0;
    g.onExternalRoutes([block('10.65.0.64/26', '192.168.0.7'), remove('10.65.0.64/26')]);
    g.onBgpConverged();
    expect(out).toEqual([]);
  });
});
