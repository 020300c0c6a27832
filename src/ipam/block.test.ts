import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate, allocateOrdinal, allocationsOf, countByHandle, freeCount, isEmpty, newBlock, release, releaseHandle, usedCount } from './block.js';
import { parseCidr } from './cidr.js';
import { IpamError } from './errors.js';
import type { BlockDoc } from './model.js';

const cidr = parseCidr('10.0.0.0/28');

function consistent(b: BlockDoc): void {
  const free = new Set(b.unallocated);
  expect(free.size).toBe(b.unallocated.length);
  b.allocations.forEach((idx, o) => {
    expect(idx === null).toBe(free.has(o));
    if (idx !== null) expect(b.attributes[idx]).toBeDefined();
  });
  expect(usedCount(b) + freeCount(b)).toBe(16);
}

describe('block model', () => {
  it('starts empty with every ordinal free, in the Calico shape', () => {
    const b = newBlock(cidr, 'host:n1');
    expect(b).toMatchObject({ cidr: '10.0.0.0/28', affinity: 'host:n1', strictAffinity: false, deleted: false, sequenceNumber: 0 });
    expect(b.allocations).toHaveLength(16);
    expect(b.unallocated).toEqual([...Array(16).keys()]);
    expect(isEmpty(b)).toBe(true);
  });

  it('allocates in order, records handle, attributes and sequence number', () => {
    const r = allocate(newBlock(cidr, null), 'net.a', 3, { node: 'n1' });
    expect(r.ordinals).toEqual([0, 1, 2]);
    expect(r.seq).toBe(0);
    expect(r.block.sequenceNumber).toBe(1);
    expect(allocationsOf(r.block)).toEqual([0, 1, 2].map((ordinal) => ({ ordinal, handle: 'net.a', attrs: { node: 'n1' }, seq: 0 })));
    expect(countByHandle(r.block).get('net.a')).toBe(3);
    consistent(r.block);
  });

  it('gives fewer than asked when the block runs out, none when full', () => {
    const a = allocate(newBlock(cidr, null), 'h1', 14, null);
    const b = allocate(a.block, 'h2', 5, null);
    expect(b.ordinals).toEqual([14, 15]);
    const c = allocate(b.block, 'h3', 1, null);
    expect(c.ordinals).toEqual([]);
    expect(c.block).toBe(b.block);
  });

  it('allocates a specific ordinal and refuses one in use', () => {
    const r = allocateOrdinal(newBlock(cidr, null), 5, 'h', null);
    expect(allocationsOf(r.block).map((a) => a.ordinal)).toEqual([5]);
    expect(r.block.unallocated).not.toContain(5);
    expect(() => allocateOrdinal(r.block, 5, 'other', null)).toThrow(expect.objectContaining({ code: 'ADDRESS_IN_USE' }));
    expect(() => allocateOrdinal(r.block, 16, 'x', null)).toThrow(IpamError);
  });

  it('releases to the back of the queue and compacts attributes', () => {
    const a = allocate(newBlock(cidr, null), 'h1', 2, { pod: 'a' });
    const b = allocate(a.block, 'h2', 1, { pod: 'b' });
    const r = release(b.block, [{ ordinal: 0 }, { ordinal: 1 }]);
    expect(r.released).toEqual([{ ordinal: 0, handle: 'h1' }, { ordinal: 1, handle: 'h1' }]);
    expect(r.block.unallocated.slice(-2)).toEqual([0, 1]);
    expect(r.block.attributes).toEqual([{ handle_id: 'h2', secondary: { pod: 'b' } }]);
    expect(allocationsOf(r.block)).toEqual([{ ordinal: 2, handle: 'h2', attrs: { pod: 'b' }, seq: 1 }]);
    consistent(r.block);
  });

  it('guards releases with the sequence number: a double or stale release frees nothing', () => {
    const first = allocate(newBlock(parseCidr('10.0.0.0/32'), null), 'old', 1, null);
    const freed = release(first.block, [{ ordinal: 0, seq: first.seq }]);
    expect(freed.released).toHaveLength(1);
    // Same request again: nothing allocated there.
    expect(release(freed.block, [{ ordinal: 0, seq: first.seq }]).skipped).toEqual([{ ordinal: 0, reason: 'not-allocated' }]);
    // Reallocated to someone else: the old sequence number no longer matches.
    const again = allocate(freed.block, 'new', 1, null);
    expect(again.seq).not.toBe(first.seq);
    const stale = release(again.block, [{ ordinal: 0, seq: first.seq }]);
    expect(stale.skipped).toEqual([{ ordinal: 0, reason: 'sequence-mismatch' }]);
    expect(stale.block).toBe(again.block);
    expect(release(again.block, [{ ordinal: 0, seq: again.seq }]).released).toEqual([{ ordinal: 0, handle: 'new' }]);
  });

  it('releases everything of one handle only', () => {
    let b = allocate(newBlock(cidr, null), 'a', 2, null).block;
    b = allocate(b, 'b', 3, null).block;
    b = allocate(b, 'a', 1, null).block;
    const r = releaseHandle(b, 'a');
    expect(r.released.map((x) => x.ordinal)).toEqual([0, 1, 5]);
    expect([...countByHandle(r.block)]).toEqual([['b', 3]]);
  });

  it('keeps its invariants under any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), handle: fc.constantFrom('a', 'b', 'c'), n: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('release' as const), ordinal: fc.integer({ min: 0, max: 15 }), useSeq: fc.boolean() }),
      fc.record({ kind: fc.constant('releaseHandle' as const), handle: fc.constantFrom('a', 'b', 'c') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        let b = newBlock(cidr, 'host:n');
        // Model: ordinal -> handle.
        const model = new Map<number, string>();
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const r = allocate(b, o.handle, o.n, null);
            expect(r.ordinals.length).toBe(Math.min(o.n, 16 - model.size));
            for (const ord of r.ordinals) {
              expect(model.has(ord)).toBe(false);
              model.set(ord, o.handle);
            }
            b = r.block;
          } else if (o.kind === 'release') {
            const seq = o.useSeq ? b.sequenceNumberForAllocation[String(o.ordinal)] : undefined;
            const r = release(b, [{ ordinal: o.ordinal, ...(seq !== undefined ? { seq } : {}) }]);
            expect(r.released.length).toBe(model.has(o.ordinal) ? 1 : 0);
            model.delete(o.ordinal);
            b = r.block;
          } else {
            b = releaseHandle(b, o.handle).block;
            for (const [ord, h] of [...model]) if (h === o.handle) model.delete(ord);
          }
          consistent(b);
          expect(new Map(allocationsOf(b).map((a) => [a.ordinal, a.handle]))).toEqual(model);
        }
      }),
    );
  });
});
