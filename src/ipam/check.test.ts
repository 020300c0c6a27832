import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../datastore/memory.js';
import { Ipam } from './allocator.js';
import { allocate, newBlock } from './block.js';
import { checkIpam } from './check.js';
import { parseCidr } from './cidr.js';
import { IpamKeys } from './keys.js';
import { DatastorePoolSource } from './pools.js';
import { IpamShow } from './show.js';

const keys = new IpamKeys('/t');
let backend: MemoryBackend;
let ipam: Ipam;

beforeEach(async () => {
  backend = new MemoryBackend();
  const pools = new DatastorePoolSource({ backend, root: '/t', defaultPool: { cidr: '10.5.0.0/24', blockSize: 26 } });
  ipam = new Ipam({ backend, root: '/t', pools });
  await ipam.autoAssign({ handle: 'net.a', node: 'n1', num: 3, attrs: { pod: 'a' } });
  await ipam.autoAssign({ handle: 'net.b', node: 'n2' });
});

describe('checkIpam', () => {
  it('finds nothing wrong in a consistent store and counts it', async () => {
    const report = await checkIpam({ backend, root: '/t', endpoints: { handles: ['net.a', 'net.b'] } });
    expect(report).toEqual({
      ok: true,
      problems: [],
      totals: { blocks: 2, affinities: 2, handles: 2, allocations: 4, borrowed: 0, perNode: { n1: 3, n2: 1 } },
    });
  });

  it('reports an endpoint whose address IPAM never allocated, naming the endpoint', async () => {
    const owners = new Map([
      ['10.5.0.64', 'WorkloadEndpoint ns/b'],
      ['10.5.0.99', 'WorkloadEndpoint ns/ghost'],
    ]);
    const report = await checkIpam({ backend, root: '/t', endpoints: { handles: ['net.a'], owners } });
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'endpoint-without-allocation', address: '10.5.0.99', message: expect.stringContaining('WorkloadEndpoint ns/ghost uses 10.5.0.99') }),
    ]);
  });

  it('reports allocations of dead workloads, unless their address is live', async () => {
    const report = await checkIpam({ backend, root: '/t', endpoints: { handles: ['net.a'], ips: [] } });
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'allocation-without-endpoint', handle: 'net.b', address: '10.5.0.64' })]);
    expect((await checkIpam({ backend, root: '/t', endpoints: { handles: ['net.a'], ips: ['10.5.0.64'] } })).ok).toBe(true);
  });

  it('reports handle records that disagree with the blocks', async () => {
    await backend.create(keys.handle('net.ghost'), JSON.stringify({ handleID: 'net.ghost', block: { '10.5.0.0/26': 1 }, deleted: false }));
    const kv = (await backend.get(keys.handle('net.a')))!;
    await backend.update(kv.key, JSON.stringify({ handleID: 'net.a', block: { '10.5.0.0/26': 2 }, deleted: false }), kv.revision);
    const kinds = (await checkIpam({ backend, root: '/t' })).problems.map((p) => `${p.kind} ${p.handle}`);
    expect(kinds.sort()).toEqual(['handle-count-mismatch net.a', 'handle-without-addresses net.ghost']);
  });

  it('reports allocations whose handle record is missing', async () => {
    const kv = (await backend.get(keys.handle('net.b')))!;
    await backend.delete(kv.key);
    expect((await checkIpam({ backend, root: '/t' })).problems).toEqual([expect.objectContaining({ kind: 'allocation-without-handle', handle: 'net.b' })]);
  });

  it('reports affinity mismatches both ways', async () => {
    const cidr = parseCidr('10.5.0.0/26');
    const aff = (await backend.get(keys.affinity('n1', cidr)))!;
    await backend.delete(aff.key);
    await backend.create(keys.affinity('n3', cidr), JSON.stringify({ state: 'confirmed', deleted: false }));
    const problems = (await checkIpam({ backend, root: '/t' })).problems.map((p) => `${p.kind} ${p.node} ${p.block}`);
    expect(problems.sort()).toEqual(['block-affinity-mismatch n1 10.5.0.0/26', 'block-affinity-mismatch n3 10.5.0.0/26']);
  });

  it('reports duplicate addresses in overlapping blocks and broken block arrays', async () => {
    const dup = allocate(newBlock(parseCidr('10.5.0.0/28'), null), 'net.a', 1, null).block;
    await backend.create(keys.block(parseCidr('10.5.0.0/28')), JSON.stringify(dup));
    const broken = newBlock(parseCidr('10.5.0.192/26'), null);
    broken.unallocated.pop();
    await backend.create(keys.block(parseCidr('10.5.0.192/26')), JSON.stringify(broken));
    const kinds = new Set((await checkIpam({ backend, root: '/t' })).problems.map((p) => p.kind));
    expect(kinds.has('duplicate-address')).toBe(true);
    expect(kinds.has('block-inconsistent')).toBe(true);
  });
});

describe('IpamShow', () => {
  const show = () => new IpamShow({ backend, root: '/t', pools: new DatastorePoolSource({ backend, root: '/t', defaultPool: false }) });

  it('summarises pools and blocks', async () => {
    expect(await show().pools()).toEqual([{ name: 'default-ipv4-ippool', cidr: '10.5.0.0/24', blockSize: 26, disabled: false, size: 256, inUse: 4, free: 252 }]);
    expect(await show().blocks()).toEqual([
      { cidr: '10.5.0.0/26', node: 'n1', pool: 'default-ipv4-ippool', size: 64, inUse: 3, free: 61 },
      { cidr: '10.5.0.64/26', node: 'n2', pool: 'default-ipv4-ippool', size: 64, inUse: 1, free: 63 },
    ]);
  });

  it('says who holds an address, or that it is free', async () => {
    expect(await show().address('10.5.0.1')).toEqual({
      ip: '10.5.0.1',
      state: 'allocated',
      handle: 'net.a',
      attrs: { node: 'n1', pod: 'a' },
      block: '10.5.0.0/26',
      node: 'n1',
      seq: 0,
      pool: 'default-ipv4-ippool',
    });
    expect(await show().address('10.5.0.9')).toEqual({ ip: '10.5.0.9', state: 'free', block: '10.5.0.0/26', pool: 'default-ipv4-ippool' });
    expect(await show().address('10.5.0.200')).toEqual({ ip: '10.5.0.200', state: 'free', block: null, pool: 'default-ipv4-ippool' });
    expect(await show().address('10.6.0.1')).toEqual({ ip: '10.6.0.1', state: 'not-in-pool' });
  });
});
