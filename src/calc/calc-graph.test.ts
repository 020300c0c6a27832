import { describe, expect, it } from 'vitest';
import type { DataplaneMessage } from '../dataplane/messages.js';
import type { SyncerUpdate } from '../datastore/syncer.js';
import { CalcGraph } from './calc-graph.js';

const R = '/calico/resources/v3/projectcalico.org';
const nodeKey = (n: string) => `${R}/nodes/${n}`;
const nodeVal = (ip: string) => ({ kind: 'Node', metadata: {}, spec: { bgp: { ipv4Address: `${ip}/24` } } });
const blockKey = (c: string) => `/calico/ipam/v2/assignment/ipv4/block/${c.replace('/', '-')}`;
const blockVal = (cidr: string, node: string) => ({ cidr, affinity: `host:${node}`, allocations: [], unallocated: [], attributes: [], deleted: false });
const wepKey = `${R}/workloadendpoints/ns/n1-k8s-a-eth0`;
const wepVal = (iface: string) => ({ spec: { pod: 'a', node: 'n1', endpoint: 'eth0', orchestrator: 'k8s', interfaceName: iface, ipNetworks: ['10.65.0.2/32'] } });

let rev = 1;
const put = (key: string, value: unknown): SyncerUpdate => ({ key, value, revision: String(++rev) });
const del = (key: string): SyncerUpdate => ({ key, value: null, revision: String(++rev) });

function graph() {
  const out: DataplaneMessage[][] = [];
  const g = new CalcGraph({ localNode: 'n1', sink: { push: (m) => out.push([...m]) } });
  return { g, out };
}

describe('CalcGraph', () => {
  it('emits nothing before in-sync, then the whole state followed by InSync', () => {
    const { g, out } = graph();
    g.onUpdates([put(nodeKey('n1'), nodeVal('192.168.0.1')), put(nodeKey('n2'), nodeVal('192.168.0.2')), put(blockKey('10.65.0.64/26'), blockVal('10.65.0.64/26', 'n2'))]);
    g.onStatus('resync');
    expect(out).toEqual([]);
    g.onStatus('in-sync');
    expect(out).toHaveLength(2);
    expect(out[0]!.map((m) => m.type).sort()).toEqual(['HostMetadataUpdate', 'HostMetadataUpdate', 'RouteUpdate', 'RouteUpdate', 'RouteUpdate']);
    expect(out[1]).toEqual([{ type: 'InSync' }]);
    g.onStatus('resync');
    g.onStatus('in-sync');
    expect(out).toHaveLength(2);
  });

  it('after in-sync emits only differences, with explicit removes', () => {
    const { g, out } = graph();
    g.onUpdates([put(nodeKey('n1'), nodeVal('192.168.0.1')), put(wepKey, wepVal('cali1'))]);
    g.onStatus('in-sync');
    out.length = 0;

    g.onUpdates([put(wepKey, wepVal('cali2'))]);
    expect(out).toEqual([
      [
        expect.objectContaining({ type: 'WorkloadEndpointUpdate', ifaceName: 'cali2' }),
        { type: 'RouteUpdate', dst: '10.65.0.2/32', routeType: 'local-workload', dstNode: 'n1', iface: 'cali2', encap: 'none' },
      ],
    ]);
    out.length = 0;

    // Same content again, and a kind calc does not use: nothing.
    g.onUpdates([put(wepKey, wepVal('cali2')), put(`${R}/bgppeers/p1`, { spec: {} })]);
    expect(out).toEqual([]);

    g.onUpdates([del(wepKey), del(nodeKey('n1'))]);
    expect(out).toEqual([
      [
        { type: 'HostMetadataRemove', hostname: 'n1' },
        { type: 'WorkloadEndpointRemove', id: { orchestrator: 'k8s', workload: 'ns/a', endpoint: 'eth0' } },
        { type: 'RouteRemove', dst: '192.168.0.1/32' },
        { type: 'RouteRemove', dst: '10.65.0.2/32' },
      ],
    ]);
  });

  it('a node address appearing late brings its block routes', () => {
    const { g, out } = graph();
    g.onUpdates([put(nodeKey('n1'), nodeVal('192.168.0.1')), put(blockKey('10.65.0.64/26'), blockVal('10.65.0.64/26', 'n2'))]);
    g.onStatus('in-sync');
    expect(g.desiredState().routes.has('10.65.0.64/26')).toBe(false);
    out.length = 0;
    g.onUpdates([put(nodeKey('n2'), nodeVal('192.168.0.2'))]);
    expect(out.flat().filter((m) => m.type === 'RouteUpdate').map((m) => (m.type === 'RouteUpdate' ? m.dst : ''))).toEqual(['192.168.0.2/32', '10.65.0.64/26']);
  });
});
