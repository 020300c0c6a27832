import { describe, expect, it } from 'vitest';

import { DecodedIpv4Prefix } from '../wire/prefix.js';
import { RouteClassifier } from './route-classifier.js';
import type { RoutingContext } from './config.js';

const ctx: RoutingContext = {
  pools: [
    { name: 'wide', cidr: '10.0.0.0/8', ipipMode: 'Never', vxlanMode: 'Never' },
    { name: 'ipip', cidr: '10.244.0.0/16', ipipMode: 'Always', vxlanMode: 'Never' },
    { name: 'high', cidr: '192.168.128.0/17', ipipMode: 'CrossSubnet', vxlanMode: 'Never' },
  ],
  nodesByAddress: { '172.16.0.2': 'n2', '172.17.0.9': 'n9' },
  localSubnet: '172.16.0.0/24',
  subnetsByAddress: {},
};

/** The decoder's form of a prefix text (the number the RIB keys it by). */
function decoded(text: string): DecodedIpv4Prefix {
  const [addr, len] = text.split('/') as [string, string];
  const n = addr.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  return new DecodedIpv4Prefix(addr, Number(len), n);
}

describe('RouteClassifier', () => {
  const c = new RouteClassifier(ctx);
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['203.0.113.0/24', '172.16.0.2', { routeType: 'bgp', encap: 'none', dstNode: 'n2' }],
    ['0.0.0.0/0', '172.16.0.99', { routeType: 'bgp', encap: 'none' }],
    // A supernet of a pool is not in it.
    ['10.0.0.0/7', '172.16.0.2', { routeType: 'bgp' }],
    ['10.1.2.0/26', '172.16.0.2', { routeType: 'remote-block', encap: 'none', dstNode: 'n2', sameSubnet: true }],
    // The most specific pool decides the encapsulation.
    ['10.244.3.64/26', '172.16.0.2', { routeType: 'remote-block', encap: 'ipip' }],
    ['10.244.3.70/32', '172.16.0.2', { routeType: 'remote-workload', encap: 'ipip' }],
    // Addresses with the top bit set (negative as int32).
    ['192.168.200.0/26', '172.17.0.9', { routeType: 'remote-block', encap: 'ipip', dstNode: 'n9', sameSubnet: false }],
    ['192.168.200.0/26', '172.16.0.2', { routeType: 'remote-block', encap: 'none', sameSubnet: true }],
    ['192.168.100.0/26', '172.16.0.2', { routeType: 'bgp' }],
  ];

  it.each(cases)('%s via %s', (dst, nextHop, want) => {
    const m = c.classify(dst, nextHop);
    expect(m).toMatchObject({ type: 'RouteUpdate', dst, nextHop, ...want });
    if (want.routeType === 'bgp') expect(m).not.toHaveProperty('sameSubnet');
  });

  it('gives the same answer from the decoded prefix as from its text', () => {
    for (const [dst, nextHop] of cases) expect(c.classify(dst, nextHop, decoded(dst))).toEqual(c.classify(dst, nextHop));
  });

  it('a pool of 0.0.0.0/0 covers everything', () => {
    const all = new RouteClassifier({ ...ctx, pools: [{ name: 'all', cidr: '0.0.0.0/0', ipipMode: 'Never', vxlanMode: 'Never' }] });
    for (const dst of ['0.0.0.0/0', '203.0.113.0/24', '255.255.255.255/32']) {
      const want = dst.endsWith('/32') ? 'remote-workload' : 'remote-block';
      expect(all.classify(dst, '172.16.0.2').routeType).toBe(want);
      expect(all.classify(dst, '172.16.0.2', decoded(dst)).routeType).toBe(want);
    }
  });
});
