import { beforeEach, describe, expect, it } from 'vitest';
import type { Backend, CommitResult, KV, TxnOp } from '../datastore/backend.js';
import { ConflictError, DatastoreUnavailableError } from '../datastore/errors.js';
import { MemoryBackend } from '../datastore/memory.js';
import { Ipam, type IpamOptions } from './allocator.js';
import { checkIpam } from './check.js';
import { IpamKeys } from './keys.js';
import { DatastorePoolSource } from './pools.js';
import { IpamStore } from './store.js';

const keys = new IpamKeys();

interface PoolSpec {
  name: string;
  cidr: string;
  blockSize?: number;
  disabled?: boolean;
  nodeSelector?: string;
}

async function putPool(backend: Backend, p: PoolSpec): Promise<void> {
  const resource = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: p.name },
    spec: { cidr: p.cidr, blockSize: p.blockSize ?? 26, nodeSelector: p.nodeSelector ?? 'all()', disabled: p.disabled ?? false, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true },
  };
  await backend.create(keys.pool(p.name), JSON.stringify(resource));
}

function ipamOn(backend: Backend, extra: Partial<IpamOptions> = {}): Ipam {
  return new Ipam({ backend, pools: new DatastorePoolSource({ backend, defaultPool: false }), ...extra });
}

async function getJson(backend: Backend, key: string): Promise<unknown> {
  const kv = await backend.get(key);
  return kv && JSON.parse(kv.value);
}

let backend: MemoryBackend;

beforeEach(() => {
  backend = new MemoryBackend();
});

describe('Ipam.autoAssign', () => {
  it('fills the node’s block, then claims the next one with the pending/confirmed protocol', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    const ipam = ipamOn(backend);
    const first = await ipam.autoAssign({ handle: 'net.c1', node: 'n1', num: 64 });
    expect(first.map((a) => a.address)).toEqual(Array.from({ length: 64 }, (_, i) => `10.0.0.${i}`));
    expect(new Set(first.map((a) => a.block))).toEqual(new Set(['10.0.0.0/26']));
    const next = await ipam.autoAssign({ handle: 'net.c2', node: 'n1' });
    expect(next).toEqual([{ address: '10.0.0.64', block: '10.0.0.64/26', pool: 'p', seq: 0 }]);
    expect(await getJson(backend, '/calico/ipam/v2/host/n1/ipv4/block/10.0.0.64-26')).toEqual({ state: 'confirmed', deleted: false });
    expect(await getJson(backend, '/calico/ipam/v2/assignment/ipv4/block/10.0.0.64-26')).toMatchObject({
      cidr: '10.0.0.64/26',
      affinity: 'host:n1',
      allocations: [0, ...Array(63).fill(null)],
      attributes: [{ handle_id: 'net.c2', secondary: { node: 'n1' } }],
      sequenceNumber: 1,
      sequenceNumberForAllocation: { '0': 0 },
    });
    expect(await getJson(backend, '/calico/ipam/v2/handle/net.c1')).toEqual({ handleID: 'net.c1', block: { '10.0.0.0/26': 64 }, deleted: false });
    expect((await checkIpam({ backend })).problems).toEqual([]);
  });

  it('gives each node its own block', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    const ipam = ipamOn(backend);
    const [a] = await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    const [b] = await ipam.autoAssign({ handle: 'net.b', node: 'n2' });
    expect(a!.block).toBe('10.0.0.0/26');
    expect(b!.block).toBe('10.0.0.64/26');
  });

  it('borrows from another node’s block when the pool has no free block', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/25' });
    const ipam = ipamOn(backend);
    await ipam.autoAssign({ handle: 'net.a', node: 'n1', num: 10 });
    await ipam.autoAssign({ handle: 'net.b', node: 'n2', num: 64 });
    const [borrowed] = await ipam.autoAssign({ handle: 'net.c', node: 'n2' });
    expect(borrowed!.address).toBe('10.0.0.10');
    expect(await getJson(backend, keys.block({ family: 4, base: 0x0a000000, prefix: 26 }))).toMatchObject({ affinity: 'host:n1' });
    const report = await checkIpam({ backend });
    expect(report.problems).toEqual([]);
    expect(report.totals.borrowed).toBe(1);
  });

  it('refuses to borrow under strict affinity', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/25' });
    await new IpamStore(backend).putConfig({ strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 0 });
    const ipam = ipamOn(backend);
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    await ipam.autoAssign({ handle: 'net.b', node: 'n2', num: 64 });
    await expect(ipam.autoAssign({ handle: 'net.c', node: 'n2' })).rejects.toMatchObject({
      code: 'POOL_EXHAUSTED',
      message: expect.stringMatching(/^no free address in pools 10\.0\.0\.0\/25 for node n2: .*strictAffinity/),
    });
  });

  it('respects maxBlocksPerHost by borrowing instead of claiming', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    await new IpamStore(backend).putConfig({ strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 1 });
    const ipam = ipamOn(backend);
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    await ipam.autoAssign({ handle: 'net.b', node: 'n2', num: 64 });
    const [c] = await ipam.autoAssign({ handle: 'net.c', node: 'n2' });
    expect(c!.block).toBe('10.0.0.0/26');
  });

  it('fails with POOL_EXHAUSTED when the pool is full and rolls back a partial allocation', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/26' });
    const ipam = ipamOn(backend);
    await ipam.autoAssign({ handle: 'net.a', node: 'n1', num: 60 });
    const err = await ipam.autoAssign({ handle: 'net.b', node: 'n1', num: 5 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'POOL_EXHAUSTED', message: expect.stringContaining('wanted 5, got 4') });
    expect(await backend.get(keys.handle('net.b'))).toBeUndefined();
    const report = await checkIpam({ backend });
    expect(report.problems).toEqual([]);
    expect(report.totals.allocations).toBe(60);
  });

  it('skips disabled pools and honours nodeSelector', async () => {
    await putPool(backend, { name: 'off', cidr: '10.0.0.0/24', disabled: true });
    await putPool(backend, { name: 'rack-a', cidr: '10.1.0.0/24', nodeSelector: "rack == 'a'" });
    await putPool(backend, { name: 'rest', cidr: '10.2.0.0/24', nodeSelector: "rack != 'a'" });
    const racks: Record<string, string> = { n1: 'a', n2: 'b' };
    const ipam = ipamOn(backend, { nodeMatches: (sel, node) => (sel.includes('!=') ? racks[node] !== 'a' : racks[node] === 'a') });
    expect((await ipam.autoAssign({ handle: 'net.a', node: 'n1' }))[0]).toMatchObject({ address: '10.1.0.0', pool: 'rack-a' });
    expect((await ipam.autoAssign({ handle: 'net.b', node: 'n2' }))[0]).toMatchObject({ address: '10.2.0.0', pool: 'rest' });
    await expect(ipam.autoAssign({ handle: 'net.c', node: 'n1', pool: 'off' })).rejects.toMatchObject({ code: 'NO_POOL' });
    await expect(ipam.autoAssign({ handle: 'net.c', node: 'n2', pool: 'rack-a' })).rejects.toMatchObject({ code: 'NO_POOL' });
    expect((await ipam.autoAssign({ handle: 'net.d', node: 'n2', pool: '10.2.0.0/24' }))[0]!.pool).toBe('rest');
  });

  it('says NO_POOL when no pool exists and none may be created', async () => {
    await expect(ipamOn(backend).autoAssign({ handle: 'net.a', node: 'n1' })).rejects.toMatchObject({ code: 'NO_POOL' });
  });

  it('creates the default pool exactly once when several nodes race', async () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const results = await Promise.all(
      nodes.map((node) =>
        new Ipam({ backend, pools: new DatastorePoolSource({ backend, defaultPool: { cidr: '172.16.0.0/16' } }) }).autoAssign({ handle: `net.${node}`, node }),
      ),
    );
    const { kvs } = await backend.list(keys.poolPrefix());
    expect(kvs.map((kv) => kv.key)).toEqual(['/calico/resources/v3/projectcalico.org/ippools/default-ipv4-ippool']);
    expect(JSON.parse(kvs[0]!.value)).toMatchObject({ kind: 'IPPool', spec: { cidr: '172.16.0.0/16', blockSize: 26, nodeSelector: 'all()', disabled: false } });
    const addrs = results.flat().map((a) => a.address);
    expect(new Set(addrs).size).toBe(5);
    expect(addrs.every((a) => a.startsWith('172.16.'))).toBe(true);
  });

  it('hands out distinct addresses under concurrent calls from several nodes', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24', blockSize: 28 });
    const ipam = ipamOn(backend);
    const calls = Array.from({ length: 120 }, (_, i) => ipam.autoAssign({ handle: `net.c${i}`, node: `n${i % 4}` }));
    const addrs = (await Promise.all(calls)).flat().map((a) => a.address);
    expect(new Set(addrs).size).toBe(120);
    const report = await checkIpam({ backend, endpoints: { handles: Array.from({ length: 120 }, (_, i) => `net.c${i}`) } });
    expect(report.problems).toEqual([]);
    expect(report.totals.allocations).toBe(120);
  });
});

describe('Ipam.assignIP', () => {
  it('assigns a specific address, refuses it twice, and refuses addresses outside the pools', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    const ipam = ipamOn(backend);
    expect(await ipam.assignIP({ ip: '10.0.0.77', handle: 'net.a', node: 'n1' })).toEqual({ address: '10.0.0.77', block: '10.0.0.64/26', pool: 'p', seq: 0 });
    await expect(ipam.assignIP({ ip: '10.0.0.77', handle: 'net.b', node: 'n2' })).rejects.toMatchObject({ code: 'ADDRESS_IN_USE' });
    await expect(ipam.assignIP({ ip: '10.9.0.1', handle: 'net.b', node: 'n1' })).rejects.toMatchObject({ code: 'NOT_IN_POOL' });
    expect(await getJson(backend, keys.affinity('n1', { family: 4, base: 0x0a000040, prefix: 26 }))).toEqual({ state: 'confirmed', deleted: false });
    // The rest of the block is n1's.
    expect((await ipam.autoAssign({ handle: 'net.c', node: 'n1' }))[0]!.address).toBe('10.0.0.64');
    expect((await checkIpam({ backend })).problems).toEqual([]);
  });
});

describe('release', () => {
  it('releases by handle, idempotently', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    const ipam = ipamOn(backend);
    await ipam.autoAssign({ handle: 'net.a', node: 'n1', num: 2 });
    await ipam.autoAssign({ handle: 'net.b', node: 'n1' });
    expect(await ipam.releaseByHandle('net.a')).toEqual(['10.0.0.0', '10.0.0.1']);
    expect(await ipam.releaseByHandle('net.a')).toEqual([]);
    expect(await backend.get(keys.handle('net.a'))).toBeUndefined();
    const report = await checkIpam({ backend });
    expect(report.problems).toEqual([]);
    expect(report.totals.allocations).toBe(1);
  });

  it('releases by address with the sequence number guard', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/30', blockSize: 32 });
    const ipam = ipamOn(backend);
    const [a] = await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    expect(await ipam.releaseIPs([{ ip: a!.address, seq: a!.seq }])).toEqual({ released: ['10.0.0.0'], skipped: [] });
    // Double release: nothing there.
    expect(await ipam.releaseIPs([{ ip: a!.address, seq: a!.seq }])).toEqual({ released: [], skipped: [{ ip: '10.0.0.0', reason: 'not-allocated' }] });
    // The /32 block is reused for another workload; the stale release must not free it.
    const [b] = await ipam.autoAssign({ handle: 'net.b', node: 'n1' });
    expect(b!.address).toBe('10.0.0.0');
    expect(await ipam.releaseIPs([{ ip: a!.address, seq: a!.seq }])).toEqual({ released: [], skipped: [{ ip: '10.0.0.0', reason: 'sequence-mismatch' }] });
    expect((await checkIpam({ backend, endpoints: { handles: ['net.b'] } })).problems).toEqual([]);
    expect(await ipam.releaseIPs([{ ip: '10.0.0.0' }])).toMatchObject({ released: ['10.0.0.0'] });
    expect(await backend.get(keys.handle('net.b'))).toBeUndefined();
  });

  it('gives up empty blocks only after the grace period', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    let now = 1_000_000;
    const ipam = ipamOn(backend, { clock: { now: () => now }, emptyBlockGraceMs: 60_000 });
    await ipam.autoAssign({ handle: 'net.a', node: 'n1', num: 65 });
    await ipam.autoAssign({ handle: 'net.b', node: 'n2' });
    await ipam.releaseIPs([{ ip: '10.0.0.64' }]);
    expect(await ipam.releaseEmptyBlocks('n1')).toEqual([]); // first seen empty now
    now += 59_999;
    expect(await ipam.releaseEmptyBlocks('n1')).toEqual([]);
    now += 1;
    expect(await ipam.releaseEmptyBlocks('n1')).toEqual(['10.0.0.64/26']);
    expect(await backend.get(keys.affinity('n1', { family: 4, base: 0x0a000040, prefix: 26 }))).toBeUndefined();
    expect(await backend.get(keys.block({ family: 4, base: 0x0a000040, prefix: 26 }))).toBeUndefined();
    // A block that got an address back in the meantime restarts its grace period.
    await ipam.releaseByHandle('net.a');
    expect(await ipam.releaseEmptyBlocks('n1')).toEqual([]);
    await ipam.autoAssign({ handle: 'net.c', node: 'n1' });
    now += 60_000;
    expect(await ipam.releaseEmptyBlocks('n1')).toEqual([]);
    expect((await checkIpam({ backend })).problems).toEqual([]);
  });
});

describe('crash leftovers', () => {
  it('finishes a claim left pending (affinity written, block not)', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    const cidr = { family: 4 as const, base: 0x0a000000, prefix: 26 };
    await backend.create(keys.affinity('n1', cidr), JSON.stringify({ state: 'pending', deleted: false }));
    expect((await checkIpam({ backend })).problems.map((p) => p.kind)).toEqual(['affinity-without-block']);
    const [a] = await ipamOn(backend).autoAssign({ handle: 'net.a', node: 'n1' });
    expect(a!.block).toBe('10.0.0.0/26');
    expect((await checkIpam({ backend })).problems).toEqual([]);
  });

  it('drops a pending affinity when another node created the block', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    const ipam = ipamOn(backend);
    await ipam.autoAssign({ handle: 'net.x', node: 'n2' });
    const cidr = { family: 4 as const, base: 0x0a000000, prefix: 26 };
    await backend.create(keys.affinity('n1', cidr), JSON.stringify({ state: 'pending', deleted: false }));
    const [a] = await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    expect(a!.block).toBe('10.0.0.64/26');
    expect(await backend.get(keys.affinity('n1', cidr))).toBeUndefined();
    expect((await checkIpam({ backend })).problems).toEqual([]);
  });

  it('finishes an interrupted give-up (pendingDeletion)', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    const ipam = ipamOn(backend);
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    await ipam.releaseByHandle('net.a');
    const cidr = { family: 4 as const, base: 0x0a000000, prefix: 26 };
    const kv = (await backend.get(keys.affinity('n1', cidr)))!;
    await backend.update(kv.key, JSON.stringify({ state: 'pendingDeletion', deleted: false }), kv.revision);
    await ipam.reconcileAffinities('n1');
    expect(await backend.get(keys.block(cidr))).toBeUndefined();
    expect(await backend.get(kv.key)).toBeUndefined();
  });
});

/** Wraps a backend so that every update/create of a block key loses its CAS race. */
class AlwaysConflicting implements Backend {
  updates = 0;
  commits = 0;
  constructor(private readonly inner: Backend) {}
  get(key: string) { return this.inner.get(key); }
  list(prefix: string) { return this.inner.list(prefix); }
  create(key: string, value: string, opts?: { leaseTtlSeconds?: number }): Promise<KV> { return this.inner.create(key, value, opts); }
  async update(key: string, value: string, revision: string): Promise<KV> {
    if (key.includes('/assignment/')) {
      this.updates++;
      throw new ConflictError(key, 'REVISION_MISMATCH');
    }
    return this.inner.update(key, value, revision);
  }
  delete(key: string, revision?: string) { return this.inner.delete(key, revision); }
  async commit(ops: readonly TxnOp[]): Promise<CommitResult> {
    const block = ops.find((op) => op.key.includes('/assignment/'));
    if (block) {
      this.commits++;
      throw new ConflictError(block.key, 'REVISION_MISMATCH');
    }
    return this.inner.commit(ops);
  }
  watch(...args: Parameters<Backend['watch']>) { return this.inner.watch(...args); }
  close() { return this.inner.close(); }
}

describe('retries', () => {
  it('gives up after a bounded number of CAS conflicts, leaving nothing behind', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    const flaky = new AlwaysConflicting(backend);
    const ipam = ipamOn(flaky, { maxAttempts: 4 });
    const err = await ipam.autoAssign({ handle: 'net.a', node: 'n1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CAS_RETRIES_EXHAUSTED', message: expect.stringContaining('gave up after 4 attempts') });
    expect(flaky.updates).toBe(4);
    expect(await backend.get(keys.handle('net.a'))).toBeUndefined();
  });

  it('propagates an unavailable datastore at once', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    const ipam = ipamOn(backend);
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    backend.setAvailable(false);
    const err = await ipam.autoAssign({ handle: 'net.b', node: 'n1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatastoreUnavailableError);
    await expect(ipam.releaseByHandle('net.a')).rejects.toBeInstanceOf(DatastoreUnavailableError);
    backend.setAvailable(true);
    expect(await ipam.releaseByHandle('net.a')).toEqual(['10.0.0.0']);
  });
});

describe('hand edits', () => {
  it('re-creates a block deleted under a confirmed affinity', async () => {
    await putPool(backend, { name: 'p', cidr: '10.0.0.0/24' });
    const ipam = ipamOn(backend);
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    await ipam.releaseByHandle('net.a');
    const cidr = { family: 4 as const, base: 0x0a000000, prefix: 26 };
    await backend.delete(keys.block(cidr));
    const [a] = await ipam.autoAssign({ handle: 'net.b', node: 'n1' });
    expect(a!.block).toBe('10.0.0.0/26');
    expect((await checkIpam({ backend })).problems).toEqual([]);
  });
});
