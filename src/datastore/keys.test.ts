import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Keys, blockNameFromCidr, cidrFromBlockName, InvalidKeyError } from './keys.js';

describe('Keys', () => {
  const k = new Keys();

  it("builds Calico's layout under /calico by default", () => {
    expect(k.resource({ plural: 'ippools', name: 'default-ipv4-ippool' })).toBe('/calico/resources/v3/projectcalico.org/ippools/default-ipv4-ippool');
    expect(k.resource({ plural: 'networkpolicies', namespace: 'prod', name: 'allow-web' })).toBe('/calico/resources/v3/projectcalico.org/networkpolicies/prod/allow-web');
    expect(k.resourcePrefix('workloadendpoints', 'prod')).toBe('/calico/resources/v3/projectcalico.org/workloadendpoints/prod/');
    expect(k.block('10.0.0.0/26')).toBe('/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26');
    expect(k.affinity('node-1', '10.0.0.64/26')).toBe('/calico/ipam/v2/host/node-1/ipv4/block/10.0.0.64-26');
    expect(k.affinityPrefix('node-1')).toBe('/calico/ipam/v2/host/node-1/ipv4/block/');
    expect(k.handle('k8s-pod-network.abc123')).toBe('/calico/ipam/v2/handle/k8s-pod-network.abc123');
    expect(k.ipamConfig()).toBe('/calico/ipam/v2/config');
    expect(k.block('fd00:1::/122')).toBe('/calico/ipam/v2/assignment/ipv6/block/fd00:1::-122');
  });

  it('uses a configured root, with or without a trailing slash', () => {
    expect(new Keys('/tabby-test/').ipamConfig()).toBe('/tabby-test/ipam/v2/config');
    expect(new Keys('/a/b').handle('h')).toBe('/a/b/ipam/v2/handle/h');
    for (const bad of ['', 'calico', '/', '//x', '/a b']) expect(() => new Keys(bad)).toThrow(InvalidKeyError);
  });

  it('converts block names and CIDRs both ways and rejects bad ones', () => {
    expect(blockNameFromCidr('10.0.0.0/26')).toBe('10.0.0.0-26');
    expect(cidrFromBlockName('10.0.0.0-26')).toBe('10.0.0.0/26');
    expect(cidrFromBlockName('fd00::-122')).toBe('fd00::/122');
    for (const bad of ['10.0.0.1/26', '10.0.0.0/33', '10.0.0/26', '10.0.0.0', 'x/26', '10.0.0.0/-1', '10.0.0.0/026x', '10.0.0.0/026']) {
      expect(() => blockNameFromCidr(bad), bad).toThrow(InvalidKeyError);
    }
    for (const bad of ['10.0.0.0', '10.0.0.0-', '-26', '10.0.0.1-26']) expect(() => cidrFromBlockName(bad), bad).toThrow(InvalidKeyError);
  });

  it("rejects names that would change a key's structure", () => {
    for (const bad of ['', 'a/b', '..', '.', 'a b', 'a\nb', 'a\u0000']) {
      expect(() => k.resource({ plural: 'ippools', name: bad }), JSON.stringify(bad)).toThrow(InvalidKeyError);
      expect(() => k.handle(bad)).toThrow(InvalidKeyError);
      expect(() => k.affinity(bad, '10.0.0.0/26')).toThrow(InvalidKeyError);
    }
    expect(() => k.resource({ plural: 'a/b', name: 'x' })).toThrow(InvalidKeyError);
    expect(() => k.resource({ plural: 'ippools', namespace: 'a/b', name: 'x' })).toThrow(InvalidKeyError);
  });

  it('parses every kind of key back into its parts', () => {
    expect(k.parse('/calico/resources/v3/projectcalico.org/ippools/p1')).toEqual({ kind: 'resource', group: 'projectcalico.org', plural: 'ippools', name: 'p1' });
    expect(k.parse('/calico/resources/v3/projectcalico.org/networkpolicies/ns/p')).toEqual({ kind: 'resource', group: 'projectcalico.org', plural: 'networkpolicies', namespace: 'ns', name: 'p' });
    expect(k.parse('/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26')).toEqual({ kind: 'block', cidr: '10.0.0.0/26', family: 'ipv4' });
    expect(k.parse('/calico/ipam/v2/host/n1/ipv4/block/10.0.0.0-26')).toEqual({ kind: 'affinity', node: 'n1', cidr: '10.0.0.0/26', family: 'ipv4' });
    expect(k.parse('/calico/ipam/v2/handle/net.c1')).toEqual({ kind: 'handle', handle: 'net.c1' });
    expect(k.parse('/calico/ipam/v2/config')).toEqual({ kind: 'ipamConfig' });
  });

  it('returns undefined for keys outside the layout', () => {
    for (const key of [
      '/other/ipam/v2/config',
      '/calicox/ipam/v2/config',
      '/calico/ipam/v2/config/x',
      '/calico/ipam/v1/config',
      '/calico/resources/v3/projectcalico.org/ippools',
      '/calico/resources/v3/projectcalico.org/ippools/a/b/c',
      '/calico/resources/v3/projectcalico.org/ippools//x',
      '/calico/ipam/v2/assignment/ipv4/block/10.0.0.1-26',
      '/calico/ipam/v2/assignment/ipv6/block/10.0.0.0-26',
      '/calico/ipam/v2/host/n1/ipv4/block/nonsense',
      '/calico/ipam/v2/handle/',
    ]) {
      expect(k.parse(key), key).toBeUndefined();
    }
  });

  it('parse inverts every builder (property)', () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/);
    const v4block = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 8, max: 32 })).map(([n, len]) => {
      const net = len === 32 ? n : n - (n % 2 ** (32 - len));
      return `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${len}`;
    });
    const root = fc.constantFrom('/calico', '/tabby', '/x/y');
    fc.assert(
      fc.property(root, name, name, fc.option(name, { nil: undefined }), v4block, (r, a, b, ns, cidr) => {
        const keys = new Keys(r);
        expect(keys.parse(keys.resource({ plural: a, name: b, ...(ns ? { namespace: ns } : {}) }))).toEqual({
          kind: 'resource',
          group: 'projectcalico.org',
          plural: a,
          name: b,
          ...(ns ? { namespace: ns } : {}),
        });
        expect(keys.parse(keys.block(cidr))).toEqual({ kind: 'block', cidr, family: 'ipv4' });
        expect(keys.parse(keys.affinity(a, cidr))).toEqual({ kind: 'affinity', node: a, cidr, family: 'ipv4' });
        expect(keys.parse(keys.handle(b))).toEqual({ kind: 'handle', handle: b });
        expect(cidrFromBlockName(blockNameFromCidr(cidr))).toBe(cidr);
      }),
    );
  });
});
