/**
 * Routes learned from BGP as a calc input: kept only when of type `bgp`, placed below every
 * route calc derives from the datastore, and sent out through the same diff (so a cluster
 * route always wins a collision and a withdrawn one gets an explicit RouteRemove).
 */
import { describe, expect, it } from 'vitest';
import type { DataplaneMessage, RouteRemove, RouteUpdate } from '../dataplane/messages.js';
import type { SyncerUpdate } from '../datastore/syncer.js';
import { CalcGraph } from './calc-graph.js';
import { computeDesiredState, type CalcFacts } from './desired-state.js';
import { readBlock, readNode } from './inputs.js';

const learned = (dst: string, nextHop: string, dstNode?: string): RouteUpdate => ({ type: 'RouteUpdate', dst, routeType: 'bgp', nextHop, encap: 'none', ...(dstNode ? { dstNode } : {}) });
const remove = (dst: string): RouteRemove => ({ type: 'RouteRemove', dst });

function facts(external: RouteUpdate[]): CalcFacts {
  const blockDoc = { affinity: 'host:n2', allocations: [], attributes: [] };
  return {
    nodes: new Map([
      ['n1', readNode('n1', { spec: { bgp: { ipv4Address: '192.168.0.1/24' } } })],
      ['n2', readNode('n2', { spec: { bgp: { ipv4Address: '192.168.0.2/24' } } })],
    ]),
    pools: new Map(),
    blocks: new Map([['10.65.0.64/26', readBlock('10.65.0.64/26', blockDoc)!]]),
    endpoints: new Map(),
    externalRoutes: new Map(external.map((r) => [r.dst, r])),
  };
}

describe('computeDesiredState with learned routes', () => {
  it('adds them as bgp routes via their next hop, never encapsulated', () => {
    const routes = computeDesiredState(facts([learned('203.0.113.0/24', '192.168.0.254')]), 'n1').routes;
    expect(routes.get('203.0.113.0/24')).toEqual({ type: 'RouteUpdate', dst: '203.0.113.0/24', routeType: 'bgp', nextHop: '192.168.0.254', encap: 'none' });
  });

  it('gives them the lowest priority: a cluster route or a node address for the same destination wins', () => {
    const routes = computeDesiredState(facts([learned('10.65.0.64/26', '192.168.0.254'), learned('192.168.0.2/32', '192.168.0.254')]), 'n1').routes;
    expect(routes.get('10.65.0.64/26')).toMatchObject({ routeType: 'remote-block', nextHop: '192.168.0.2', dstNode: 'n2' });
    expect(routes.get('192.168.0.2/32')).toMatchObject({ routeType: 'host' });
  });

  it('drops a learned route whose next hop is this node, and anything not of type bgp', () => {
    const other: RouteUpdate = { type: 'RouteUpdate', dst: '198.51.100.0/24', routeType: 'remote-block', nextHop: '192.168.0.2', encap: 'none' };
    const routes = computeDesiredState(facts([learned('203.0.113.0/24', '192.168.0.1'), other]), 'n1').routes;
    expect(routes.has('203.0.113.0/24')).toBe(false);
    expect(routes.has('198.51.100.0/24')).toBe(false);
  });
});

describe('CalcGraph.onExternalRoutes', () => {
  const R = '/calico/resources/v3/projectcalico.org';
  let rev = 1;
  const put = (key: string, value: unknown): SyncerUpdate => ({ key, value, revision: String(++rev) });
  const routeMsgs = (out: DataplaneMessage[][]) => out.flat().filter((m) => m.type === 'RouteUpdate' || m.type === 'RouteRemove');

  function graph() {
    const out: DataplaneMessage[][] = [];
    const g = new CalcGraph({ localNode: 'n1', sink: { push: (m) => out.push([...m]) } });
    g.onUpdates([put(`${R}/nodes/n1`, { spec: { bgp: { ipv4Address: '192.168.0.1/24' } } })]);
    return { g, out };
  }

  it('holds learned routes until in-sync, then sends them with the rest of the state', () => {
    const { g, out } = graph();
    g.onExternalRoutes([learned('203.0.113.0/24', '192.168.0.254')]);
    expect(out).toEqual([]);
    g.onStatus('in-sync');
    expect(routeMsgs(out)).toContainEqual(learned('203.0.113.0/24', '192.168.0.254'));
  });

  it('after in-sync sends only the change: update, then an explicit remove on withdrawal', () => {
    const { g, out } = graph();
    g.onStatus('in-sync');
    out.length = 0;
    g.onExternalRoutes([learned('203.0.113.0/24', '192.168.0.254')]);
    expect(out).toEqual([[learned('203.0.113.0/24', '192.168.0.254')]]);
    out.length = 0;
    g.onExternalRoutes([learned('203.0.113.0/24', '192.168.0.254')]);
    expect(out).toEqual([]);
    g.onExternalRoutes([remove('203.0.113.0/24')]);
    expect(out).toEqual([[remove('203.0.113.0/24')]]);
  });

  it('forgets a learned route the speaker reclassified as a cluster route (a pool now covers it)', () => {
    const { g, out } = graph();
    g.onStatus('in-sync');
    g.onExternalRoutes([learned('10.70.0.0/26', '192.168.0.254')]);
    out.length = 0;
    g.onExternalRoutes([{ type: 'RouteUpdate', dst: '10.70.0.0/26', routeType: 'remote-block', nextHop: '192.168.0.254', encap: 'none' }]);
    expect(out).toEqual([[remove('10.70.0.0/26')]]);
  });

  it('a datastore block arriving for a learned destination takes it over (one Update, no Remove)', () => {
    const { g, out } = graph();
    g.onStatus('in-sync');
    g.onUpdates([put(`${R}/nodes/n2`, { spec: { bgp: { ipv4Address: '192.168.0.2/24' } } })]);
    g.onExternalRoutes([learned('10.65.0.64/26', '192.168.0.254')]);
    out.length = 0;
    g.onUpdates([put('/calico/ipam/v2/assignment/ipv4/block/10.65.0.64-26', { affinity: 'host:n2', allocations: [], attributes: [] })]);
    expect(routeMsgs(out)).toEqual([expect.objectContaining({ type: 'RouteUpdate', dst: '10.65.0.64/26', routeType: 'remote-block', nextHop: '192.168.0.2' })]);
  });
});
