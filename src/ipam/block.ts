/**
 * The block model as pure functions: every operation takes a block document and returns a
 * new one, so the store can write the result with compare-and-swap on the revision it read
 * and simply recompute after a conflict.
 *
 * Sequence numbers: `sequenceNumber` is bumped by every allocation, and the value at the
 * time an ordinal was allocated is kept in `sequenceNumberForAllocation`. A release may
 * carry the sequence number the caller was given; if the ordinal was released and handed
 * out again since, the numbers differ and the release is refused, so a duplicate or stale
 * release can never free someone else's address.
 */
import { cidrSize, formatCidr, parseCidr, type Cidr } from './cidr.js';
import { IpamError } from './errors.js';
import type { AllocationAttribute, BlockDoc } from './model.js';

export function newBlock(cidr: Cidr, affinity: string | null, strictAffinity = false): BlockDoc {
  const size = cidrSize(cidr);
  return {
    cidr: formatCidr(cidr),
    affinity,
    strictAffinity,
    allocations: new Array<number | null>(size).fill(null),
    unallocated: Array.from({ length: size }, (_, i) => i),
    attributes: [],
    deleted: false,
    sequenceNumber: 0,
    sequenceNumberForAllocation: {},
  };
}

export function blockCidr(b: BlockDoc): Cidr {
  return parseCidr(b.cidr);
}

export function freeCount(b: BlockDoc): number {
  return b.unallocated.length;
}

export function usedCount(b: BlockDoc): number {
  return b.allocations.reduce<number>((n, a) => (a === null ? n : n + 1), 0);
}

export function isEmpty(b: BlockDoc): boolean {
  return usedCount(b) === 0;
}

export interface BlockAllocation {
  ordinal: number;
  handle: string | null;
  attrs: Record<string, string> | null;
  seq: number;
}

/** Every allocated ordinal with its handle, attributes and sequence number. */
export function allocationsOf(b: BlockDoc): BlockAllocation[] {
  const out: BlockAllocation[] = [];
  b.allocations.forEach((idx, ordinal) => {
    if (idx === null) return;
    const attr = b.attributes[idx];
    out.push({
      ordinal,
      handle: attr?.handle_id ?? null,
      attrs: attr?.secondary ?? null,
      seq: b.sequenceNumberForAllocation[String(ordinal)] ?? 0,
    });
  });
  return out;
}

/** Addresses held per handle in this block. */
export function countByHandle(b: BlockDoc): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of allocationsOf(b)) {
    if (a.handle !== null) counts.set(a.handle, (counts.get(a.handle) ?? 0) + 1);
  }
  return counts;
}

function clone(b: BlockDoc): BlockDoc {
  return {
    ...b,
    allocations: [...b.allocations],
    unallocated: [...b.unallocated],
    attributes: b.attributes.map((a) => ({ handle_id: a.handle_id, secondary: a.secondary ? { ...a.secondary } : null })),
    sequenceNumberForAllocation: { ...b.sequenceNumberForAllocation },
  };
}

export interface AllocateResult {
  block: BlockDoc;
  ordinals: number[];
  /** Sequence number recorded for every ordinal of this allocation. */
  seq: number;
}

/**
 * Takes up to `num` free ordinals (fewer when the block has fewer free) for `handle`, in
 * the order of `unallocated`. Returns the unchanged block and no ordinals when full.
 */
export function allocate(b: BlockDoc, handle: string, num: number, attrs: Record<string, string> | null): AllocateResult {
  if (!Number.isInteger(num) || num < 0) throw new IpamError('INVALID_ARGUMENT', `cannot allocate ${num} addresses (want a non-negative integer)`);
  const take = Math.min(num, b.unallocated.length);
  if (take === 0) return { block: b, ordinals: [], seq: b.sequenceNumber };
  const next = clone(b);
  const ordinals = next.unallocated.splice(0, take);
  const seq = next.sequenceNumber;
  const attrIndex = next.attributes.push({ handle_id: handle, secondary: attrs ? { ...attrs } : null }) - 1;
  for (const ord of ordinals) {
    next.allocations[ord] = attrIndex;
    next.sequenceNumberForAllocation[String(ord)] = seq;
  }
  next.sequenceNumber = seq + 1;
  return { block: next, ordinals, seq };
}

/** Allocates one specific ordinal; throws `ADDRESS_IN_USE` when it is taken. */
export function allocateOrdinal(b: BlockDoc, ordinal: number, handle: string, attrs: Record<string, string> | null): AllocateResult {
  if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= b.allocations.length) {
    throw new IpamError('INVALID_ARGUMENT', `ordinal ${ordinal} outside block ${b.cidr}`);
  }
  const pos = b.unallocated.indexOf(ordinal);
  if (b.allocations[ordinal] !== null || pos < 0) {
    const holder = b.attributes[b.allocations[ordinal] ?? -1]?.handle_id ?? 'unknown';
    throw new IpamError('ADDRESS_IN_USE', `ordinal ${ordinal} of block ${b.cidr} is already allocated (handle ${holder})`);
  }
  const next = clone(b);
  next.unallocated.splice(pos, 1);
  const seq = next.sequenceNumber;
  next.allocations[ordinal] = next.attributes.push({ handle_id: handle, secondary: attrs ? { ...attrs } : null }) - 1;
  next.sequenceNumberForAllocation[String(ordinal)] = seq;
  next.sequenceNumber = seq + 1;
  return { block: next, ordinals: [ordinal], seq };
}

export interface ReleaseRequest {
  ordinal: number;
  /** When given, release only if the ordinal still carries this allocation's sequence number. */
  seq?: number;
}

export interface ReleaseResult {
  block: BlockDoc;
  released: Array<{ ordinal: number; handle: string | null }>;
  skipped: Array<{ ordinal: number; reason: 'not-allocated' | 'sequence-mismatch' }>;
}

/** Frees the requested ordinals that are allocated and whose sequence number matches. */
export function release(b: BlockDoc, requests: readonly ReleaseRequest[]): ReleaseResult {
  const next = clone(b);
  const released: ReleaseResult['released'] = [];
  const skipped: ReleaseResult['skipped'] = [];
  for (const { ordinal, seq } of requests) {
    const idx = next.allocations[ordinal];
    if (idx === null || idx === undefined) {
      skipped.push({ ordinal, reason: 'not-allocated' });
      continue;
    }
    if (seq !== undefined && (next.sequenceNumberForAllocation[String(ordinal)] ?? 0) !== seq) {
      skipped.push({ ordinal, reason: 'sequence-mismatch' });
      continue;
    }
    released.push({ ordinal, handle: next.attributes[idx]?.handle_id ?? null });
    next.allocations[ordinal] = null;
    delete next.sequenceNumberForAllocation[String(ordinal)];
    // Released ordinals go to the back of the queue so they are reused as late as possible.
    next.unallocated.push(ordinal);
  }
  if (released.length === 0) return { block: b, released, skipped };
  compactAttributes(next);
  return { block: next, released, skipped };
}

/** Frees every ordinal held by `handle`. */
export function releaseHandle(b: BlockDoc, handle: string): ReleaseResult {
  const ordinals = allocationsOf(b)
    .filter((a) => a.handle === handle)
    .map((a) => ({ ordinal: a.ordinal }));
  return release(b, ordinals);
}

/** Drops attributes no ordinal points at any more and renumbers the rest. */
function compactAttributes(b: BlockDoc): void {
  const used = new Set<number>();
  for (const a of b.allocations) if (a !== null) used.add(a);
  const remap = new Map<number, number>();
  const kept: AllocationAttribute[] = [];
  b.attributes.forEach((attr, i) => {
    if (used.has(i)) remap.set(i, kept.push(attr) - 1);
  });
  b.attributes = kept;
  b.allocations = b.allocations.map((a) => (a === null ? null : remap.get(a)!));
}
