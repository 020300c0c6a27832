import { describe, expect, it } from 'vitest';
import type { RouteUpdate } from '../dataplane/messages.js';
import { formatCidr } from '../ipam/cidr.js';
import { computeDesiredState, encapFor, type CalcFacts } from './desired-state.js';
import { readBlock, readEndpoint, readEncapMode, readNode, readPool, type BlockFacts, type EndpointFacts, type PoolFacts } from './inputs.js';

const node = (name: string, addr?: string, extra: object = {}) => readNode(name, { spec: { ...(addr ? { bgp: { ipv4Address: addr } } : {}), ...extra } });
const pool = (name: string, cidr: string, ipipMode = 'Never', vxlanMode = 'Never') => readPool(name, { spec: { cidr, ipipMode, vxlanMode } })!;

/** A block document with the given ordinals allocated to the given nodes. */
function block(cidr: string, affinity: string | null, allocated: Record<number, string> = {}): BlockFacts {
  const size = 2 ** (32 - Number(cidr.split('/')[1]));
  const allocations: (number | null)[] = new Array(size).fill(null);
  const attributes: object[] = [];
  for (const [ord, n] of Object.entries(allocated)) {
    allocations[Number(ord)] = attributes.push({ handle_id: `h${ord}`, secondary: { node: n } }) - 1;
  }
  return readBlock(cidr, { cidr, affinity: affinity && `host:${affinity}`, allocations, attributes, unallocated: [], deleted: false })!;
}

function wep(ns: string, pod: string, nodeName: string, ip: string, iface = 'cali0123456789a'): EndpointFacts {
  return readEndpoint(ns, `${nodeName}-k8s-${pod}-eth0`, {
    metadata: { labels: { app: pod } },
    spec: { orchestrator: 'k8s', pod, node: nodeName, endpoint: 'eth0', interfaceName: iface, mac: 'ee:ee:ee:ee:ee:ee', ipNetworks: [`${ip}/32`], profiles: ['kns.' + ns] },
  })!;
}

function facts(parts: { nodes?: ReturnType<typeof node>[]; pools?: PoolFacts[]; blocks?: BlockFacts[]; weps?: EndpointFacts[] }): CalcFacts {
  return {
    nodes: new Map((parts.nodes ?? []).map((n) => [n.name, n])),
    pools: new Map((parts.pools ?? []).map((p) => [p.name, p])),
    blocks: new Map((parts.blocks ?? []).map((b) => [formatCidr(b.cidr), b])),
    endpoints: new Map((parts.weps ?? []).map((w, i) => [`wep${i}`, w])),
  };
}
const routes = (f: CalcFacts, local = 'n1') => Object.fromEntries([...computeDesiredState(f, local).routes.values()].map((r) => [r.dst, r]));

const nodes = [node('n1', '192.168.0.1/24'), node('n2', '192.168.0.2/24'), node('n3', '192.168.1.3/24')];

describe('readers', () => {
  it('reads node addresses from bgp.ipv4Address, else from addresses', () => {
    expect(node('a', '10.0.0.2/24')).toMatchObject({ name: 'a', ipv4: '10.0.0.2', ipv4Subnet: { base: 0x0a000000, prefix: 24 } });
    expect(node('b', undefined, { addresses: [{ address: 'fd00::1', type: 'InternalIP' }, { address: '10.0.0.3', type: 'ExternalIP' }] })).toEqual({ name: 'b', ipv4: '10.0.0.3' });
    expect(node('c', undefined, { addresses: [{ address: '10.0.0.9/16', type: 'ExternalIP' }, { address: '10.1.0.4/16', type: 'InternalIP' }] })).toMatchObject({ ipv4: '10.1.0.4' });
    expect(node('d')).toEqual({ name: 'd' });
    expect(readNode('e', 'garbage')).toEqual({ name: 'e' });
  });

  it('normalises encapsulation modes', () => {
    expect(['Always', 'always', 'CrossSubnet', 'cross-subnet', 'Never', undefined, 'bogus'].map(readEncapMode)).toEqual(['Always', 'Always', 'CrossSubnet', 'CrossSubnet', 'Never', 'Never', 'Never']);
  });

  it('skips pools that are not IPv4 and endpoints without node or interface', () => {
    expect(readPool('v6', { spec: { cidr: 'fd00::/64' } })).toBeUndefined();
    expect(readEndpoint('ns', 'x', { spec: { node: 'n1' } })).toBeUndefined();
  });

  it('names workloads namespace/pod and keeps only IPv4 single addresses', () => {
    const e = readEndpoint('prod', 'n1-k8s-web-eth0', { spec: { pod: 'web', node: 'n1', interfaceName: 'cali1', ipNetworks: ['10.65.0.2/32', 'fd00::2/128', '10.65.0.3'] } });
    expect(e).toEqual({ id: { orchestrator: 'k8s', workload: 'prod/web', endpoint: 'eth0' }, node: 'n1', ifaceName: 'cali1', ipv4Nets: ['10.65.0.2/32', '10.65.0.3/32'], labels: {}, profileIds: [] });
  });

  it('finds borrowed addresses in a block, and treats a deleted block as absent', () => {
    expect(block('10.65.0.0/29', 'n1', { 1: 'n1', 2: 'n2' }).borrowed).toEqual([{ ip: 0x0a410002, node: 'n2' }]);
    expect(readBlock('10.65.0.0/29', { cidr: '10.65.0.0/29', deleted: true })).toBeUndefined();
  });
});

describe('encapFor', () => {
  it('follows the pool modes', () => {
    expect(encapFor(undefined, false)).toBe('none');
    expect(encapFor(pool('p', '10.0.0.0/8', 'Always'), true)).toBe('ipip');
    expect(encapFor(pool('p', '10.0.0.0/8', 'CrossSubnet'), true)).toBe('none');
    expect(encapFor(pool('p', '10.0.0.0/8', 'CrossSubnet'), false)).toBe('ipip');
    expect(encapFor(pool('p', '10.0.0.0/8', 'Never', 'Always'), true)).toBe('vxlan');
    expect(encapFor(pool('p', '10.0.0.0/8', 'Never', 'CrossSubnet'), false)).toBe('vxlan');
    expect(encapFor(pool('p', '10.0.0.0/8'), false)).toBe('none');
  });
});

describe('computeDesiredState', () => {
  it('host metadata for every node with an address, and every pool', () => {
    const s = computeDesiredState(facts({ nodes: [...nodes, node('n4')], pools: [pool('default', '10.65.0.0/16', 'Always')] }), 'n1');
    expect([...s.hosts.keys()]).toEqual(['n1', 'n2', 'n3']);
    expect(s.hosts.get('n2')).toEqual({ type: 'HostMetadataUpdate', hostname: 'n2', ipv4Addr: '192.168.0.2' });
    expect(s.pools.get('default')).toEqual({ type: 'IPPoolUpdate', id: 'default', cidr: '10.65.0.0/16', ipipMode: 'Always', vxlanMode: 'Never', natOutgoing: false });
  });

  it('blackholes local blocks and routes remote blocks via their node', () => {
    const r = routes(facts({ nodes, blocks: [block('10.65.0.0/26', 'n1'), block('10.65.0.64/26', 'n2'), block('10.65.0.128/26', 'unknown-node'), block('10.65.0.192/26', null)] }));
    expect(r['10.65.0.0/26']).toEqual({ type: 'RouteUpdate', dst: '10.65.0.0/26', routeType: 'local-block', dstNode: 'n1', encap: 'none' });
    expect(r['10.65.0.64/26']).toEqual({ type: 'RouteUpdate', dst: '10.65.0.64/26', routeType: 'remote-block', nextHop: '192.168.0.2', dstNode: 'n2', encap: 'none', sameSubnet: true });
    expect(r['10.65.0.128/26']).toBeUndefined();
    expect(r['10.65.0.192/26']).toBeUndefined();
    expect(r['192.168.1.3/32']).toEqual({ type: 'RouteUpdate', dst: '192.168.1.3/32', routeType: 'host', nextHop: '192.168.1.3', dstNode: 'n3', encap: 'none' });
  });

  it.each([
    ['Always', 'ipip', 'ipip'],
    ['CrossSubnet', 'none', 'ipip'],
    ['Never', 'none', 'none'],
  ])('ipipMode %s: same subnet %s, other subnet %s', (mode, same, other) => {
    const r = routes(facts({ nodes, pools: [pool('p', '10.65.0.0/16', mode)], blocks: [block('10.65.0.64/26', 'n2'), block('10.65.0.128/26', 'n3')] }));
    expect(r['10.65.0.64/26']).toMatchObject({ encap: same, sameSubnet: true });
    expect(r['10.65.0.128/26']).toMatchObject({ encap: other, sameSubnet: false, nextHop: '192.168.1.3' });
  });

  it('treats an unknown local subnet as a different subnet', () => {
    const r = routes(facts({ nodes: [node('n1', '192.168.0.1'), nodes[1]!], pools: [pool('p', '10.65.0.0/16', 'CrossSubnet')], blocks: [block('10.65.0.64/26', 'n2')] }));
    expect(r['10.65.0.64/26']).toMatchObject({ encap: 'ipip' });
    expect(r['10.65.0.64/26']?.sameSubnet).toBeUndefined();
  });

  it('takes the encapsulation of the most specific pool', () => {
    const r = routes(facts({ nodes, pools: [pool('wide', '10.0.0.0/8', 'Always'), pool('narrow', '10.65.0.0/16')], blocks: [block('10.65.0.64/26', 'n2'), block('10.66.0.0/26', 'n2')] }));
    expect(r['10.65.0.64/26']?.encap).toBe('none');
    expect(r['10.66.0.0/26']?.encap).toBe('ipip');
  });

  it('local endpoints get an endpoint and a /32 via their interface; remote ones in their own blocks get nothing', () => {
    const s = computeDesiredState(
      facts({ nodes, blocks: [block('10.65.0.0/26', 'n1'), block('10.65.0.64/26', 'n2')], weps: [wep('ns', 'a', 'n1', '10.65.0.2', 'cali1'), wep('ns', 'b', 'n2', '10.65.0.66')] }),
      'n1',
    );
    expect([...s.endpoints.values()]).toEqual([
      {
        type: 'WorkloadEndpointUpdate',
        id: { orchestrator: 'k8s', workload: 'ns/a', endpoint: 'eth0' },
        ifaceName: 'cali1',
        mac: 'ee:ee:ee:ee:ee:ee',
        ipv4Nets: ['10.65.0.2/32'],
        labels: { app: 'a' },
        profileIds: ['kns.ns'],
      },
    ]);
    const r = Object.fromEntries([...s.routes.values()].map((x) => [x.dst, x]));
    expect(r['10.65.0.2/32']).toEqual({ type: 'RouteUpdate', dst: '10.65.0.2/32', routeType: 'local-workload', dstNode: 'n1', iface: 'cali1', encap: 'none' });
    expect(r['10.65.0.66/32']).toBeUndefined();
  });

  it('routes borrowed addresses to the borrowing node, from block attributes and from endpoints', () => {
    const r = routes(
      facts({
        nodes,
        pools: [pool('p', '10.65.0.0/16', 'CrossSubnet')],
        // n2 borrowed .3 from our block; n3 borrowed .69 from n2's block; we borrowed .70 from n2's.
        blocks: [block('10.65.0.0/26', 'n1', { 3: 'n2' }), block('10.65.0.64/26', 'n2', { 5: 'n3', 6: 'n1' })],
        // n3 also holds .71 (its block attributes not written yet) and 10.99.0.1 outside any block.
        weps: [wep('ns', 'x', 'n3', '10.65.0.71'), wep('ns', 'y', 'n3', '10.99.0.1'), wep('ns', 'z', 'n1', '10.65.0.70', 'cali9')],
      }),
    );
    const remote = (dst: string, n: string, hop: string, encap: string, sameSubnet: boolean): RouteUpdate =>
      ({ type: 'RouteUpdate', dst, routeType: 'remote-workload', nextHop: hop, dstNode: n, encap, sameSubnet }) as RouteUpdate;
    expect(r['10.65.0.3/32']).toEqual(remote('10.65.0.3/32', 'n2', '192.168.0.2', 'none', true));
    expect(r['10.65.0.69/32']).toEqual(remote('10.65.0.69/32', 'n3', '192.168.1.3', 'ipip', false));
    expect(r['10.65.0.71/32']).toEqual(remote('10.65.0.71/32', 'n3', '192.168.1.3', 'ipip', false));
    expect(r['10.99.0.1/32']).toEqual(remote('10.99.0.1/32', 'n3', '192.168.1.3', 'none', false));
    expect(r['10.65.0.70/32']).toMatchObject({ routeType: 'local-workload', iface: 'cali9' });
    expect(r['10.65.0.0/26']?.routeType).toBe('local-block');
  });

  it('a local workload wins over a stale remote claim on the same address', () => {
    const r = routes(facts({ nodes, blocks: [block('10.65.0.64/26', 'n2', { 6: 'n3' })], weps: [wep('ns', 'z', 'n1', '10.65.0.70', 'cali9')] }));
    expect(r['10.65.0.70/32']?.routeType).toBe('local-workload');
  });
});
