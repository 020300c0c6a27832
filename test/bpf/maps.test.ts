// Map operations against the kernel: iteration, batch lookup/update/delete (with the
// fallback), pin/unpin at a chosen path and reopening by path with the map's info.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { counterKey, counterValue } from '../../src/dataplane/bpf/codecs/counters.js';
import { BpfMap, BpfObject, unpin } from '../../src/native/index.js';
import { mustRun } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';
import { countersObject, ensureBpffs, newPinDir, removePinDir, sweepStalePins } from './support.js';

describe.skipIf(!isRoot)(needsRoot('BPF map operations'), () => {
  let obj: BpfObject;
  let dir: string;

  beforeAll(() => {
    ensureBpffs();
    sweepStalePins();
    dir = newPinDir();
    obj = BpfObject.open(countersObject(), { pinRoot: dir });
  });
  afterEach(() => {
    const map = obj.map('counters');
    for (const k of [...map.keys()]) map.delete(k);
  });
  afterAll(() => {
    obj?.unpinMaps();
    obj?.close();
    if (dir) removePinDir(dir);
  });

  const key = (i: number): Buffer => counterKey.encode({ ifindex: i, direction: i % 2 });
  const perCpu = (map: BpfMap, n: number): Buffer[] =>
    Array.from({ length: map.cpus }, (_, cpu) => counterValue.encode({ packets: BigInt(n), bytes: BigInt(cpu), dropped: 0n, malformed: 0n }));

  it('lists programs and maps of the object', () => {
    expect(obj.programs()).toEqual([
      expect.objectContaining({ name: 'count_ingress', section: 'tc', type: 'sched_cls' }),
      expect.objectContaining({ name: 'count_egress', section: 'tc', type: 'sched_cls' }),
    ]);
    expect(obj.programs().every((p) => p.fd >= 0 && p.id > 0)).toBe(true);
    expect(obj.maps()).toContainEqual(
      expect.objectContaining({ name: 'counters', type: 'percpu_hash', keySize: 8, valueSize: 32, maxEntries: 16384, pinned: true, pinPath: join(dir, 'counters') }),
    );
    expect(obj.program('count_ingress').kernelInfo()).toMatchObject({ name: 'count_ingress', type: 'sched_cls' });
  });

  it('iterates every key and entry', () => {
    const map = obj.map('counters');
    for (let i = 1; i <= 20; i++) map.update(key(i), perCpu(map, i));
    const keys = [...map.keys()].map((k) => counterKey.decode(k).ifindex).sort((a, b) => a - b);
    expect(keys).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const e of map.entries()) {
      const i = counterKey.decode(e.key).ifindex;
      expect((e.value as Buffer[]).map((b) => counterValue.decode(b).packets)).toEqual(Array(map.cpus).fill(BigInt(i)));
    }
  });

  it('batch update, lookup and delete', () => {
    const map = obj.map('counters');
    const entries = Array.from({ length: 100 }, (_, i) => ({ key: key(i + 1), value: perCpu(map, i + 1) }));
    expect(map.updateBatch(entries)).toBe(100);
    const got = map.lookupBatch({ batchSize: 7 });
    expect(got).toHaveLength(100);
    for (const e of got) {
      const i = counterKey.decode(e.key).ifindex;
      expect(e.value).toEqual(perCpu(map, i));
    }
    expect(map.dump({ batchSize: 64 })).toMatchObject({ method: 'batch' });
    // A batch of 1 is smaller than some hash buckets: the kernel says ENOSPC and the batch grows.
    expect(map.lookupBatch({ batchSize: 1 })).toHaveLength(100);
    expect(map.deleteBatch(entries.slice(0, 40).map((e) => e.key))).toBe(40);
    expect([...map.keys()]).toHaveLength(60);
  });

  it('falls back to iteration where a map type has no batch ops (devmap)', () => {
    const path = join(dir, 'devmap');
    mustRun(['bpftool', 'map', 'create', path, 'type', 'devmap', 'key', '4', 'value', '4', 'entries', '4', 'name', 'tby_devmap']);
    const devmap = BpfMap.openPinned(path);
    try {
      expect(devmap.info).toMatchObject({ type: 'devmap', keySize: 4, valueSize: 4, maxEntries: 4, perCpu: false });
      const u32 = (n: number): Buffer => Buffer.from(new Uint32Array([n]).buffer);
      devmap.update(u32(0), u32(1)); // slot 0 -> lo
      devmap.update(u32(2), u32(1)); // slot 2 -> lo
      expect(() => devmap.lookupBatch()).toThrow(
        expect.objectContaining({ op: 'bpf_map_lookup_batch', code: 'EOPNOTSUPP', message: expect.stringMatching(/no batch operations: iterate keys instead/) }),
      );
      const d = devmap.dump();
      expect(d.method).toBe('iterate');
      expect(d.entries).toEqual([
        { key: u32(0), value: u32(1) },
        { key: u32(2), value: u32(1) },
      ]);
    } finally {
      devmap.close();
      unpin(path);
    }
  });

  it('pins a map at a chosen path, reopens it by path with its info, and unpins it', () => {
    const map = obj.map('counters');
    map.update(key(5), perCpu(map, 55));
    const path = join(dir, 'counters-copy');
    map.pin(path);
    const reopened = BpfMap.openPinned(path);
    expect(reopened.info).toEqual(map.info);
    expect(reopened.lookupPerCpu(key(5))?.map((b) => counterValue.decode(b).packets)).toEqual(Array(map.cpus).fill(55n));
    reopened.close();
    unpin(path);
    expect(existsSync(path)).toBe(false);
    expect(() => unpin(path)).toThrow(expect.objectContaining({ op: 'unlink', code: 'ENOENT' }));
  });

  it('pins a program and unpins it', () => {
    const path = join(dir, 'count_ingress');
    obj.program('count_ingress').pin(path);
    expect(existsSync(path)).toBe(true);
    unpin(path);
    expect(existsSync(path)).toBe(false);
  });
});
