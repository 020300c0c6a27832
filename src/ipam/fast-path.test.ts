/**
 * The one-transaction allocation and release (fast-path.ts) on the memory backend: when it
 * is taken, every way it must give up and leave the work to the full path, and its round
 * trips counted by a wrapping backend, so a regression to several round trips fails here.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Backend } from '../datastore/backend.js';
import { CountingBackend } from '../datastore/counting.js';
import { DatastoreUnavailableError } from '../datastore/errors.js';
import { MemoryBackend } from '../datastore/memory.js';
import { Ipam, type IpamOptions } from './allocator.js';
import { checkIpam } from './check.js';
import { parseCidr } from './cidr.js';
import { IpamKeys } from './keys.js';
import type { IpPool } from './model.js';
import { StaticPoolSource } from './pools.js';

const keys = new IpamKeys();
const pool: IpPool = { name: 'p', cidr: '10.0.0.0/24', blockSize: 26, nodeSelector: 'all()', disabled: false, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false };
const block0 = keys.block(parseCidr('10.0.0.0/26'));

let memory: MemoryBackend;
let counted: CountingBackend;
let now: number;

function ipamOn(backend: Backend = counted, extra: Partial<IpamOptions> = {}): Ipam {
  return new Ipam({ backend, pools: new StaticPoolSource([pool]), clock: { now: () => now }, ...extra });
}

async function json(key: string): Promise<unknown> {
  const kv = await memory.get(key);
  return kv && JSON.parse(kv.value);
}

/** Runs `f` and returns the datastore calls it made. */
async function trips<T>(f: () => Promise<T>): Promise<{ value: T; trips: number; counts: CountingBackend['counts'] }> {
  counted.reset();
  const value = await f();
  return { value, trips: counted.roundTrips, counts: { ...counted.counts } };
}

async function expectClean(): Promise<void> {
  expect((await checkIpam({ backend: memory })).problems).toEqual([]);
}

beforeEach(() => {
  memory = new MemoryBackend();
  counted = new CountingBackend(memory);
  now = 1_000_000;
});

describe('fast path: allocation', () => {
  it('after one full allocation, the next ones are one transaction each, writing what the full path writes', async () => {
    const ipam = ipamOn();
    const first = await trips(() => ipam.autoAssign({ handle: 'net.a', node: 'n1' }));
    expect(first.value[0]!.address).toBe('10.0.0.0');
    expect(first.trips).toBeGreaterThan(3); // the full path: settings, affinities, claim, handle, block
    const second = await trips(() => ipam.autoAssign({ handle: 'net.b', node: 'n1', attrs: { pod: 'b' } }));
    expect(second.value).toEqual([{ address: '10.0.0.1', block: '10.0.0.0/26', pool: 'p', seq: 1 }]);
    expect(second.trips).toBe(1);
    expect(second.counts.commit).toBe(1);
    const third = await trips(() => ipam.autoAssign({ handle: 'net.c', node: 'n1', num: 3 }));
    expect(third.value.map((a) => a.address)).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    expect(third.trips).toBe(1);
    expect(await json(keys.handle('net.b'))).toEqual({ handleID: 'net.b', block: { '10.0.0.0/26': 1 }, deleted: false });
    expect(await json(keys.handle('net.c'))).toEqual({ handleID: 'net.c', block: { '10.0.0.0/26': 3 }, deleted: false });
    expect(await json(block0)).toMatchObject({
      affinity: 'host:n1',
      allocations: [0, 1, 2, 2, 2, ...Array(59).fill(null)],
      attributes: [
        { handle_id: 'net.a', secondary: { node: 'n1' } },
        { handle_id: 'net.b', secondary: { node: 'n1', pod: 'b' } },
        { handle_id: 'net.c', secondary: { node: 'n1' } },
      ],
      sequenceNumber: 3,
      sequenceNumberForAllocation: { '0': 0, '1': 1, '2': 2, '3': 2, '4': 2 },
    });
    await expectClean();
  });

  it('ADD then DEL cost one and two round trips, over and over (releases keep the snapshot current)', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.warm', node: 'n1' });
    for (let i = 0; i < 20; i++) {
      const add = await trips(() => ipam.autoAssign({ handle: `net.c${i}`, node: 'n1' }));
      expect(add.trips, `ADD ${i}`).toBe(1);
      const del = await trips(() => ipam.releaseByHandle(`net.c${i}`));
      expect(del.value).toEqual([add.value[0]!.address]);
      expect(del.counts, `DEL ${i}`).toMatchObject({ get: 1, commit: 1 });
      expect(del.trips).toBe(2);
      expect(await memory.get(keys.handle(`net.c${i}`))).toBeUndefined();
    }
    await expectClean();
  });

  it('falls back to the full path when someone else wrote the block (CAS conflict), and picks up from there', async () => {
    const ipam = ipamOn();
    const other = ipamOn(memory); // another agent or the CLI
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    // n2 takes 10.0.0.1 by address, inside n1's block: our snapshot is now stale.
    await other.assignIP({ ip: '10.0.0.1', handle: 'net.x', node: 'n2' });
    const next = await trips(() => ipam.autoAssign({ handle: 'net.b', node: 'n1' }));
    expect(next.value[0]!.address).toBe('10.0.0.2');
    expect(next.counts.commit).toBe(1); // the transaction that lost
    expect(next.counts.list).toBe(1); // the full path's affinity listing
    expect(await json(keys.handle('net.b'))).toEqual({ handleID: 'net.b', block: { '10.0.0.0/26': 1 }, deleted: false });
    const after = await trips(() => ipam.autoAssign({ handle: 'net.c', node: 'n1' }));
    expect(after.value[0]!.address).toBe('10.0.0.3');
    expect(after.trips).toBe(1);
    await expectClean();
  });

  it('falls back when the handle record already exists, and the full path counts both addresses', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    const again = await trips(() => ipam.autoAssign({ handle: 'net.a', node: 'n1' }));
    expect(again.value[0]!.address).toBe('10.0.0.1');
    expect(again.counts.commit).toBe(1);
    expect(again.trips).toBeGreaterThan(1);
    expect(await json(keys.handle('net.a'))).toEqual({ handleID: 'net.a', block: { '10.0.0.0/26': 2 }, deleted: false });
    expect((await ipam.releaseByHandle('net.a')).sort()).toEqual(['10.0.0.0', '10.0.0.1']);
    await expectClean();
  });

  it('falls back when the block was given up and claimed by another node: no write lands in their block', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    await ipam.releaseByHandle('net.a');
    // Another instance gives the empty block up (grace 0) and n2 claims the same CIDR.
    await ipamOn(memory, { emptyBlockGraceMs: 0 }).releaseEmptyBlocks('n1');
    const [theirs] = await ipamOn(memory).autoAssign({ handle: 'net.n2', node: 'n2' });
    expect(theirs!.block).toBe('10.0.0.0/26');
    const mine = await trips(() => ipam.autoAssign({ handle: 'net.b', node: 'n1' }));
    expect(mine.counts.commit).toBe(1);
    expect(mine.value[0]!.block).toBe('10.0.0.64/26');
    expect(await json(block0)).toMatchObject({ affinity: 'host:n2', attributes: [{ handle_id: 'net.n2', secondary: { node: 'n2' } }] });
    await expectClean();
  });

  it('falls back when the block was deleted, and when the cached block is full', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    await ipam.releaseByHandle('net.a');
    await memory.delete(block0); // by hand, under a confirmed affinity
    const recreated = await trips(() => ipam.autoAssign({ handle: 'net.b', node: 'n1' }));
    expect(recreated.value[0]!.block).toBe('10.0.0.0/26');
    expect(recreated.counts.commit).toBe(1);
    await ipam.autoAssign({ handle: 'net.fill', node: 'n1', num: 63 });
    const full = await trips(() => ipam.autoAssign({ handle: 'net.c', node: 'n1' }));
    expect(full.counts.commit).toBe(0); // the snapshot shows no room: not even tried
    expect(full.value[0]!.block).toBe('10.0.0.64/26');
    await expectClean();
  });

  it('trusts the last look at the affinities only for settingsTtlMs', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    now += 999;
    expect((await trips(() => ipam.autoAssign({ handle: 'net.b', node: 'n1' }))).trips).toBe(1);
    now += 1;
    const stale = await trips(() => ipam.autoAssign({ handle: 'net.c', node: 'n1' }));
    expect(stale.counts.commit).toBe(0);
    expect(stale.counts.list).toBe(1);
    expect((await trips(() => ipam.autoAssign({ handle: 'net.d', node: 'n1' }))).trips).toBe(1);
    const off = ipamOn(counted, { settingsTtlMs: 0 });
    await off.autoAssign({ handle: 'net.e', node: 'n1' });
    expect((await trips(() => off.autoAssign({ handle: 'net.f', node: 'n1' }))).counts.commit).toBe(0);
    await expectClean();
  });

  it('an unavailable datastore during the transaction fails the call, naming the step; nothing half-written', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    memory.setAvailable(false);
    const err = (await ipam.autoAssign({ handle: 'net.b', node: 'n1' }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(DatastoreUnavailableError);
    expect(err.message).toMatch(/^IPAM allocate in block 10\.0\.0\.0\/26 with handle net\.b: .*may or may not have been applied/);
    memory.setAvailable(true);
    expect(await ipam.releaseByHandle('net.b')).toEqual([]); // the CNI DEL after the failed ADD
    const [b] = await ipam.autoAssign({ handle: 'net.b', node: 'n1' });
    expect(b!.address).toBe('10.0.0.1');
    await expectClean();
  });
});

describe('fast path: release by handle', () => {
  it('retries from the handle when its block changed since our snapshot', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    await ipam.autoAssign({ handle: 'net.b', node: 'n1' });
    await ipamOn(memory).assignIP({ ip: '10.0.0.9', handle: 'net.x', node: 'n2' });
    const del = await trips(() => ipam.releaseByHandle('net.b'));
    expect(del.value).toEqual(['10.0.0.1']);
    expect(del.counts).toMatchObject({ get: 3, commit: 2 }); // handle, lost commit, handle + block, commit
    expect(await json(block0)).toMatchObject({ attributes: [{ handle_id: 'net.a' }, { handle_id: 'net.x' }] });
    await expectClean();
  });

  it('releases a handle allocated by another instance (no snapshot) and one spread over two blocks', async () => {
    const ipam = ipamOn();
    await ipamOn(memory).autoAssign({ handle: 'net.a', node: 'n2' });
    const del = await trips(() => ipam.releaseByHandle('net.a'));
    expect(del.value).toEqual(['10.0.0.0']);
    expect(del.counts).toMatchObject({ get: 2, commit: 1 });
    await ipam.autoAssign({ handle: 'net.fill', node: 'n1', num: 63 });
    const spread = await ipam.autoAssign({ handle: 'net.two', node: 'n1', num: 2 });
    // n2 holds 10.0.0.0/26: the 63 fill n1's 10.0.0.64/26, so the two land in two blocks.
    expect(new Set(spread.map((a) => a.block))).toEqual(new Set(['10.0.0.64/26', '10.0.0.128/26']));
    expect(Object.keys(((await json(keys.handle('net.two'))) as { block: object }).block)).toHaveLength(2);
    expect((await ipam.releaseByHandle('net.two')).sort()).toEqual(spread.map((a) => a.address).sort());
    expect(await memory.get(keys.handle('net.two'))).toBeUndefined();
    await expectClean();
  });

  it('a snapshot that does not show the handle is not taken for an answer', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    await ipamOn(memory).assignIP({ ip: '10.0.0.7', handle: 'net.y', node: 'n2' });
    expect(await ipam.releaseByHandle('net.y')).toEqual(['10.0.0.7']);
    await expectClean();
  });

  it('a DEL in an older block this instance wrote also skips the block read', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    await ipam.autoAssign({ handle: 'net.fill', node: 'n1', num: 63 });
    const [next] = await ipam.autoAssign({ handle: 'net.b', node: 'n1' });
    expect(next!.block).toBe('10.0.0.64/26');
    const del = await trips(() => ipam.releaseByHandle('net.a'));
    expect(del.value).toEqual(['10.0.0.0']);
    expect(del.counts).toMatchObject({ get: 1, commit: 1 });
    await expectClean();
  });

  it('a handle whose block does not hold it (interrupted write) is deleted alone', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    await memory.create(keys.handle('net.ghost'), JSON.stringify({ handleID: 'net.ghost', block: { '10.0.0.0/26': 1 }, deleted: false }));
    expect(await ipam.releaseByHandle('net.ghost')).toEqual([]);
    expect(await memory.get(keys.handle('net.ghost'))).toBeUndefined();
    await expectClean();
  });

  it('concurrent ADDs and DELs of one node on one instance hand out no address twice', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.warm', node: 'n1' });
    const held = new Map<string, string>();
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const [a] = await ipam.autoAssign({ handle: `net.c${i}`, node: 'n1' });
        expect([...held.values()]).not.toContain(a!.address);
        held.set(`net.c${i}`, a!.address);
        if (i % 2 === 0) {
          held.delete(`net.c${i}`);
          expect(await ipam.releaseByHandle(`net.c${i}`)).toEqual([a!.address]);
        }
      }),
    );
    expect(held.size).toBe(20);
    const report = await checkIpam({ backend: memory });
    expect(report.problems).toEqual([]);
    expect(report.totals.allocations).toBe(21);
  });
});

describe('release by address in one transaction', () => {
  it('frees the address and takes it off its handle together: a handle read and a commit', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    const two = await ipam.autoAssign({ handle: 'net.b', node: 'n1', num: 2 });
    const rel = await trips(() => ipam.releaseIPs([{ ip: two[0]!.address, seq: two[0]!.seq }]));
    expect(rel.value).toEqual({ released: ['10.0.0.1'], skipped: [] });
    expect(rel.counts).toMatchObject({ get: 1, commit: 1 });
    expect(rel.trips).toBe(2);
    expect(await json(keys.handle('net.b'))).toEqual({ handleID: 'net.b', block: { '10.0.0.0/26': 1 }, deleted: false });
    const last = await ipam.releaseIPs([{ ip: two[1]!.address, seq: two[1]!.seq }, { ip: '10.0.0.0', seq: 99 }]);
    expect(last).toEqual({ released: ['10.0.0.2'], skipped: [{ ip: '10.0.0.0', reason: 'sequence-mismatch' }] });
    expect(await memory.get(keys.handle('net.b'))).toBeUndefined();
    await expectClean();
  });

  it('never refuses on the word of a stale snapshot', async () => {
    const ipam = ipamOn();
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    // In our snapshot 10.0.0.5 is free; another instance allocates it since.
    const x = await ipamOn(memory).assignIP({ ip: '10.0.0.5', handle: 'net.x', node: 'n2' });
    expect(await ipam.releaseIPs([{ ip: '10.0.0.5', seq: x.seq }])).toEqual({ released: ['10.0.0.5'], skipped: [] });
    expect(await memory.get(keys.handle('net.x'))).toBeUndefined();
    await expectClean();
  });
});

describe('with settings from a watch (the agent)', () => {
  it('pods minutes apart still allocate in one transaction: no settings read, a longer trust window', async () => {
    const watched = { config: () => ({ strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 0 }), pools: () => [pool] };
    const ipam = ipamOn(counted, { watched, fastPathTrustMs: 5 * 60_000 });
    await ipam.autoAssign({ handle: 'net.a', node: 'n1' });
    now += 2 * 60_000;
    const later = await trips(() => ipam.autoAssign({ handle: 'net.b', node: 'n1' }));
    expect(later.value[0]!.address).toBe('10.0.0.1');
    expect(later.trips).toBe(1);
    now += 5 * 60_000; // past the trust window: the full path looks at the affinities again
    expect((await trips(() => ipam.autoAssign({ handle: 'net.c', node: 'n1' }))).trips).toBeGreaterThan(1);
    await expectClean();
  });

  it('reads the datastore while the watch has nothing (not synced, or no pool yet)', async () => {
    const ipam = ipamOn(counted, { watched: { config: () => undefined, pools: () => [] }, settingsTtlMs: 0 });
    const first = await trips(() => ipam.autoAssign({ handle: 'net.a', node: 'n1' }));
    expect(first.value[0]!.address).toBe('10.0.0.0');
    expect(first.counts.get).toBeGreaterThan(0); // the IPAM config document
  });

  it('follows the watched config: strictAffinity from the watch forbids borrowing', async () => {
    let strict = false;
    const tiny: IpPool = { ...pool, cidr: '10.0.0.0/26' };
    const watched = { config: () => ({ strictAffinity: strict, autoAllocateBlocks: true, maxBlocksPerHost: 0 }), pools: () => [tiny] };
    const n1 = ipamOn(counted, { watched });
    const n2 = ipamOn(counted, { watched });
    await n1.autoAssign({ handle: 'net.a', node: 'n1' }); // n1 holds the only block
    strict = true;
    await expect(n2.autoAssign({ handle: 'net.b', node: 'n2' })).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    strict = false;
    expect((await n2.autoAssign({ handle: 'net.b', node: 'n2' }))[0]!.address).toBe('10.0.0.1');
  });
});
