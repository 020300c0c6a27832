import { describe, expect, it } from 'vitest';
import { Keys } from '../../datastore/keys.js';
import { bgpConfigFor, type PeerConfig } from './config.js';
import { BgpDatastoreView, type BgpSnapshot } from './datastore-view.js';

const keys = new Keys('/calico');

interface World {
  nodes?: Record<string, { ip?: string; labels?: Record<string, string>; as?: number | string; cluster?: string }>;
  configs?: Record<string, Record<string, unknown>>;
  peers?: Record<string, Record<string, unknown>>;
  blocks?: Record<string, { affinity?: string; borrowedBy?: Array<[number, string]> }>;
  pools?: Record<string, Record<string, unknown>>;
}

/** Builds a snapshot through the same reader the speaker uses (syncer-shaped updates). */
function snapshot(w: World): BgpSnapshot {
  const view = new BgpDatastoreView(keys);
  const res = (plural: string, name: string, doc: unknown) => view.apply({ key: keys.resource({ plural, name }), value: doc, revision: '1' });
  for (const [name, n] of Object.entries(w.nodes ?? {})) {
    const bgp: Record<string, unknown> = {};
    if (n.ip) bgp.ipv4Address = n.ip;
    if (n.as !== undefined) bgp.asNumber = n.as;
    if (n.cluster) bgp.routeReflectorClusterID = n.cluster;
    res('nodes', name, { kind: 'Node', metadata: { name, labels: n.labels ?? {} }, spec: Object.keys(bgp).length ? { bgp } : {} });
  }
  for (const [name, spec] of Object.entries(w.configs ?? {})) res('bgpconfigurations', name, { kind: 'BGPConfiguration', metadata: { name }, spec });
  for (const [name, spec] of Object.entries(w.peers ?? {})) res('bgppeers', name, { kind: 'BGPPeer', metadata: { name }, spec });
  for (const [name, spec] of Object.entries(w.pools ?? {})) res('ippools', name, { kind: 'IPPool', metadata: { name }, spec });
  for (const [cidr, b] of Object.entries(w.blocks ?? {})) {
    const size = 2 ** (32 - Number(cidr.split('/')[1]));
    const allocations: Array<number | null> = new Array(size).fill(null);
    const attributes: unknown[] = [];
    for (const [ordinal, node] of b.borrowedBy ?? []) {
      allocations[ordinal] = attributes.push({ handle_id: `h${ordinal}`, secondary: { node } }) - 1;
    }
    view.apply({ key: keys.block(cidr), value: { cidr, affinity: b.affinity ? `host:${b.affinity}` : null, allocations, unallocated: [], attributes, deleted: false }, revision: '1' });
  }
  return view.snapshot();
}

const ids = (ps: PeerConfig[]) => ps.map((p) => `${p.id} ${p.peerType}${p.routeReflectorClient ? ' rr-client' : ''}`);

describe('bgpConfigFor', () => {
  const three = { n1: { ip: '10.0.0.1/24' }, n2: { ip: '10.0.0.2/24' }, n3: { ip: '10.0.0.3/24' } };

  it('meshes with every other node that has a BGP address, with Calico defaults', () => {
    const c = bgpConfigFor('n2', snapshot({ nodes: { ...three, n4: {} } }));
    expect(c.enabled).toBe(true);
    expect(c).toMatchObject({ routerId: '10.0.0.2', localAddress: '10.0.0.2', asNumber: 64512, listenPort: 179, meshEnabled: true });
    expect(c.logSeverity).toBeUndefined();
    expect(ids(c.peers)).toEqual(['10.0.0.1 node-to-node mesh', '10.0.0.3 node-to-node mesh']);
    // The lower address of a pair waits for the higher one to connect.
    expect(c.peers.map((p) => p.passive)).toEqual([false, true]);
    expect(c.peers[0]).toMatchObject({ port: 179, asNumber: 64512, holdTime: 90, restartTime: 120, peerNode: 'n1', source: 'mesh' });
  });

  it('is disabled, with a reason, for a node without a BGP address or without a Node', () => {
    expect(bgpConfigFor('n4', snapshot({ nodes: { ...three, n4: {} } }))).toMatchObject({ enabled: false, disabledReason: 'Node n4 has no spec.bgp.ipv4Address', peers: [] });
    expect(bgpConfigFor('nx', snapshot({ nodes: three })).disabledReason).toMatch(/no Node resource named "nx"/);
  });

  it('takes AS, mesh, port and log level from default, node.<name> and the Node', () => {
    const s = snapshot({
      nodes: { ...three, n3: { ip: '10.0.0.3', as: '1.10' } },
      configs: { default: { asNumber: 65001, listenPort: 1179, logSeverityScreen: 'Debug', nodeMeshMaxRestartTime: '2m' }, 'node.n1': { listenPort: 2179, logSeverityScreen: 'Warning' } },
    });
    const c2 = bgpConfigFor('n2', s);
    expect(c2).toMatchObject({ asNumber: 65001, listenPort: 1179, logSeverity: 'Debug' });
    expect(c2.peers.map((p) => [p.id, p.port, p.asNumber, p.restartTime])).toEqual([
      ['10.0.0.1:2179', 2179, 65001, 120],
      ['10.0.0.3:1179', 1179, 65546, 120],
    ]);
    expect(bgpConfigFor('n1', s)).toMatchObject({ listenPort: 2179, logSeverity: 'Warning' });
    expect(bgpConfigFor('n3', s).asNumber).toBe(65546);
  });

  it('route reflector recipe: mesh off, clients peer only with the reflector, the reflector with every client', () => {
    const s = snapshot({
      nodes: { n1: { ip: '10.0.0.1/24', labels: { 'route-reflector': 'true' }, cluster: '224.0.0.1' }, n2: { ip: '10.0.0.2/24' }, n3: { ip: '10.0.0.3/24' } },
      configs: { default: { nodeToNodeMeshEnabled: false } },
      peers: { 'peer-with-rr': { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" } },
    });
    const rr = bgpConfigFor('n1', s);
    expect(rr.clusterId).toBe('224.0.0.1');
    expect(ids(rr.peers)).toEqual(['10.0.0.2 node specific rr-client', '10.0.0.3 node specific rr-client']);
    const client = bgpConfigFor('n2', s);
    expect(client.clusterId).toBeUndefined();
    expect(ids(client.peers)).toEqual(['10.0.0.1 node specific']);
    expect(client.peers[0]).toMatchObject({ source: 'bgppeer/peer-with-rr', peerNode: 'n1', passive: false });
  });

  it('two reflectors of one cluster peer as non-clients', () => {
    const rrLabels = { 'route-reflector': 'true' };
    const s = snapshot({
      nodes: { n1: { ip: '10.0.0.1', labels: rrLabels, cluster: '224.0.0.1' }, n2: { ip: '10.0.0.2', labels: rrLabels, cluster: '224.0.0.1' }, n3: { ip: '10.0.0.3' } },
      configs: { default: { nodeToNodeMeshEnabled: false } },
      peers: { rr: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" } },
    });
    expect(ids(bgpConfigFor('n1', s).peers)).toEqual(['10.0.0.2 node specific', '10.0.0.3 node specific rr-client']);
    expect(ids(bgpConfigFor('n3', s).peers)).toEqual(['10.0.0.1 node specific', '10.0.0.2 node specific']);
  });

  it('global and node-specific peerIP peers; a BGPPeer beats the mesh for the same address', () => {
    const s = snapshot({
      nodes: { ...three, n2: { ip: '10.0.0.2/24', labels: { rack: 'a' } } },
      peers: {
        tor: { peerIP: '192.0.2.1', asNumber: 65000, keepaliveTime: '10s', maxRestartTime: '30s' },
        'rack-a': { nodeSelector: "rack == 'a'", peerIP: '192.0.2.9:1179', asNumber: 65009 },
        'only-n3': { node: 'n3', peerIP: '192.0.2.3', asNumber: 65003 },
        'n1-direct': { node: 'n2', peerIP: '10.0.0.1', asNumber: 64512 },
      },
    });
    const c = bgpConfigFor('n2', s);
    expect(ids(c.peers)).toEqual(['10.0.0.1 node specific', '10.0.0.3 node-to-node mesh', '192.0.2.1 global', '192.0.2.9:1179 node specific']);
    expect(c.peers.find((p) => p.id === '192.0.2.1')).toMatchObject({ holdTime: 30, restartTime: 30, asNumber: 65000, passive: false, source: 'bgppeer/tor' });
    expect(c.peers.find((p) => p.id === '10.0.0.1')).toMatchObject({ peerNode: 'n1', source: 'bgppeer/n1-direct' });
    expect(ids(bgpConfigFor('n3', s).peers)).toContain('192.0.2.3 node specific');
    expect(ids(bgpConfigFor('n1', s).peers)).not.toContain('192.0.2.3 node specific');
  });

  it('notes invalid selectors instead of failing', () => {
    const c = bgpConfigFor('n1', snapshot({ nodes: three, peers: { bad: { nodeSelector: 'rack ==', peerIP: '192.0.2.1', asNumber: 65000 } } }));
    expect(c.notes.join('\n')).toMatch(/BGPPeer bad: ignored, its nodeSelector "rack ==" is not a valid selector/);
    expect(ids(c.peers)).not.toContain('192.0.2.1 global');
  });

  it('carries password references: a BGPPeer\'s to its sessions (both ends of a peerSelector pair), nodeMeshPassword to the mesh', () => {
    const s = snapshot({
      nodes: { ...three, n3: { ip: '10.0.0.3', labels: { rr: 'true' } } },
      configs: { default: { nodeMeshPassword: { secretKeyRef: { name: 'mesh', key: 'pw' } } } },
      peers: {
        tor: { peerIP: '192.0.2.2', asNumber: 65000, password: { secretKeyRef: { name: 'tor', key: 'rack1', optional: true } } },
        rr: { nodeSelector: '!has(rr)', peerSelector: 'rr == "true"', password: { secretKeyRef: { name: 'rr', key: 'pw' } } },
        plain: { peerIP: '192.0.2.3', asNumber: 65000 },
      },
    });
    const byId = (node: string) => new Map(bgpConfigFor(node, s).peers.map((p) => [p.id, p]));
    const n1 = byId('n1');
    expect(n1.get('192.0.2.2')?.password).toEqual({ name: 'tor', key: 'rack1', optional: true });
    expect(n1.get('192.0.2.3')?.password).toBeUndefined();
    expect(n1.get('10.0.0.2')).toMatchObject({ peerType: 'node-to-node mesh', password: { name: 'mesh', key: 'pw' } });
    expect(n1.get('10.0.0.3')).toMatchObject({ peerType: 'node specific', password: { name: 'rr', key: 'pw' } });
    // The reflector's side of the same pairs carries the same reference.
    expect(byId('n3').get('10.0.0.1')).toMatchObject({ peerType: 'node specific', password: { name: 'rr', key: 'pw' } });
    expect(bgpConfigFor('n1', s).notes).toEqual([]);
  });

  it('exports affine blocks and /32s borrowed from blocks affine to other nodes', () => {
    const s = snapshot({
      nodes: three,
      blocks: {
        '192.168.0.0/26': { affinity: 'n1', borrowedBy: [[5, 'n2'], [6, 'n1']] },
        '192.168.0.64/26': { affinity: 'n2', borrowedBy: [[1, 'n1']] },
        '192.168.0.128/26': { affinity: 'n2' },
        '192.168.0.192/26': { borrowedBy: [[3, 'n2']] },
      },
    });
    expect(bgpConfigFor('n2', s).exports).toEqual(['192.168.0.5/32', '192.168.0.64/26', '192.168.0.128/26', '192.168.0.195/32']);
    expect(bgpConfigFor('n1', s).exports).toEqual(['192.168.0.0/26', '192.168.0.65/32']);
  });

  it('carries the routing context: pools, node addresses and subnets', () => {
    const c = bgpConfigFor('n1', snapshot({ nodes: { ...three, n3: { ip: '10.1.0.3' } }, pools: { p: { cidr: '192.168.0.0/16', ipipMode: 'CrossSubnet' } } }));
    expect(c.routing).toEqual({
      pools: [{ name: 'p', cidr: '192.168.0.0/16', ipipMode: 'CrossSubnet', vxlanMode: 'Never' }],
      nodesByAddress: { '10.0.0.1': 'n1', '10.0.0.2': 'n2', '10.1.0.3': 'n3' },
      subnetsByAddress: { '10.0.0.1': '10.0.0.0/24', '10.0.0.2': '10.0.0.0/24' },
      localSubnet: '10.0.0.0/24',
    });
  });
});
