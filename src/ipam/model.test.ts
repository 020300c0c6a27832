import { describe, expect, it } from 'vitest';
import { parseAffinity, parseBlock, parseHandle, parseIpamConfig, parsePool } from './model.js';

describe('IPAM documents', () => {
  it('reads a block as Calico writes it', () => {
    const b = parseBlock(
      '/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-30',
      '{"cidr":"10.0.0.0/30","affinity":"host:n1","strictAffinity":false,"allocations":[0,null,null,null],"unallocated":[1,2,3],' +
        '"attributes":[{"handle_id":"k8s-pod-network.abc","secondary":{"namespace":"default","node":"n1","pod":"p"}}],"deleted":false,' +
        '"sequenceNumber":1,"sequenceNumberForAllocation":{"0":0}}',
    );
    expect(b).toEqual({
      cidr: '10.0.0.0/30',
      affinity: 'host:n1',
      strictAffinity: false,
      allocations: [0, null, null, null],
      unallocated: [1, 2, 3],
      attributes: [{ handle_id: 'k8s-pod-network.abc', secondary: { namespace: 'default', node: 'n1', pod: 'p' } }],
      deleted: false,
      sequenceNumber: 1,
      sequenceNumberForAllocation: { '0': 0 },
    });
  });

  it('names the key of a record it cannot read', () => {
    expect(() => parseBlock('/k/b', 'not json')).toThrow(/IPAM record \/k\/b is not valid \(not JSON/);
    expect(() => parseBlock('/k/b', '{"cidr":"10.0.0.0/30"}')).toThrow(expect.objectContaining({ code: 'CORRUPT_RECORD' }));
    expect(() => parseAffinity('/k/a', '{"state":"maybe"}')).toThrow(/unknown affinity state/);
  });

  it('reads affinities, handles, config and pools with Calico defaults', () => {
    expect(parseAffinity('/k', '{"state":"pending","deleted":false}')).toEqual({ state: 'pending', deleted: false });
    expect(parseAffinity('/k', '{}')).toEqual({ state: 'confirmed', deleted: false });
    expect(parseHandle('/k', '{"handleID":"net.a","block":{"10.0.0.0/26":2}}')).toEqual({ handleID: 'net.a', block: { '10.0.0.0/26': 2 }, deleted: false });
    expect(parseIpamConfig('/k', '{}')).toEqual({ strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0 });
    expect(parsePool('/x/ippools/p', '{"metadata":{"name":"p"},"spec":{"cidr":"10.0.0.0/16"}}')).toEqual({
      name: 'p',
      cidr: '10.0.0.0/16',
      blockSize: 26,
      nodeSelector: 'all()',
      disabled: false,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: false,
    });
  });
});
