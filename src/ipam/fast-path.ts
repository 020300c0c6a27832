/**
 * The common CNI ADD and DEL in one and two datastore round trips.
 *
 * ADD: the node's block that last had room, as it was after our own last write of it, is
 * kept here. Allocating against that snapshot and writing the block (CAS on the cached
 * revision) together with a new handle record (must not exist) in one transaction is the
 * whole allocation. Any doubt (no snapshot, block full, deleted or not ours in the
 * snapshot, snapshot older than the trust window, a conflict on either key) returns
 * `undefined` and the allocator takes its full path, which is unchanged.
 *
 * DEL: a handle in one block is released by reading the handle, then freeing its
 * addresses and deleting the handle in one transaction. The block read is skipped when we
 * hold a snapshot of the block from our own last write of it (kept for the most recently
 * written `MAX_SNAPSHOTS` blocks); a stale one costs a conflict, and the caller's bounded
 * retry starts again from reading the handle. `releaseIPs` likewise frees addresses and
 * corrects their handles' counts in one transaction per block.
 *
 * Why skipping the affinity listing (`BlockAffinities.reconcile`) cannot make a wrong
 * write: the transaction only succeeds if the block is still exactly the document we last
 * wrote, whose own `affinity` field says `host:<node>` and which is not `deleted`; a block
 * that was given up, re-claimed, deleted or written by anyone else since fails the
 * condition. The only protocol that changes the node's hold without writing the block
 * first is a give-up (affinity `pendingDeletion`, then delete the block conditional on
 * the revision it saw empty): our allocation landing in between makes that delete fail
 * and the give-up puts the affinity back to `confirmed`, exactly as when a borrower gets in
 * first. What the listing adds besides (finishing this node's claims and give-ups that a
 * crash interrupted) is housekeeping, not a condition of this write; the full path still
 * does it whenever the trust window (`fastPathTrustMs`, by default `settingsTtlMs`) has
 * passed or the block has no room.
 */
import { ConflictError, DatastoreUnavailableError } from '../datastore/errors.js';
import * as blk from './block.js';
import { formatCidr, formatIPv4, ordinalToAddress, parseCidr, type Cidr } from './cidr.js';
import { affinityFor, type BlockDoc, type HandleDoc, type IpPool } from './model.js';
import type { IpamStore, Versioned } from './store.js';

export interface FastAllocation {
  cidr: Cidr;
  pool: IpPool;
  ordinals: number[];
  seq: number;
}

interface OwnBlock {
  key: string;
  /** When the full path last allocated in it from the node's confirmed affinity. */
  verifiedAt: number;
}

/** Block snapshots kept (a few KB each); the oldest written goes first. */
export const MAX_SNAPSHOTS = 256;

export class FastPath {
  /** Node -> its block that last had room. */
  private readonly own = new Map<string, OwnBlock>();
  /** Block key -> the block as of this instance's last write of it, least recently written first. */
  private readonly snapshots = new Map<string, Versioned<BlockDoc>>();

  constructor(
    private readonly store: IpamStore,
    private readonly clock: { now(): number },
    /** How long an allocation may rely on the full path's last look at the node's affinities. */
    private readonly trustMs: number,
  ) {}

  /** The full path allocated in `block` from `node`'s confirmed affinity and wrote it. */
  verified(node: string, block: Versioned<BlockDoc>): void {
    this.wrote(block);
    this.own.set(node, { key: block.key, verifiedAt: this.clock.now() });
  }

  /** This instance wrote `block` on any path: keep its snapshot. */
  wrote(block: Versioned<BlockDoc>): void {
    const cur = this.snapshots.get(block.key);
    // Releases are not serialised per node: a concurrent write may have finished first.
    if (cur && BigInt(cur.revision) >= BigInt(block.revision)) return;
    this.snapshots.delete(block.key);
    this.snapshots.set(block.key, block);
    if (this.snapshots.size > MAX_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value!);
  }

  /** Drops what is known of `node`'s blocks (they may be deleted or changed behind our back). */
  forget(node: string): void {
    const own = this.own.get(node);
    if (own) this.snapshots.delete(own.key);
    this.own.delete(node);
  }

  /**
   * Allocates `num` addresses for a new `handle` in `node`'s cached block in one
   * transaction, or returns undefined (nothing written) when the full path must do it.
   * `poolOf` is the caller's eligibility check (pool enabled, selected, matching the node).
   */
  async assign(
    node: string,
    handle: string,
    num: number,
    attrs: Record<string, string>,
    poolOf: (cidr: Cidr) => IpPool | undefined,
  ): Promise<FastAllocation | undefined> {
    const entry = this.own.get(node);
    if (!entry || this.clock.now() - entry.verifiedAt >= this.trustMs) return undefined;
    const block = this.snapshots.get(entry.key);
    if (!block || block.doc.deleted || block.doc.affinity !== affinityFor(node) || blk.freeCount(block.doc) < num) return undefined;
    const cidr = parseCidr(block.doc.cidr);
    const pool = poolOf(cidr);
    if (!pool) return undefined;
    const name = formatCidr(cidr);
    const r = blk.allocate(block.doc, handle, num, attrs);
    const record: HandleDoc = { handleID: handle, block: { [name]: num }, deleted: false };
    let written: Versioned<BlockDoc>;
    try {
      written = await this.store.once(`allocate in block ${name} with handle ${handle}`, () => this.store.commitBlockAndNewHandle(block, r.block, record));
    } catch (err) {
      if (err instanceof ConflictError) {
        // The block moved on (theirs or ours): the snapshot is useless. A handle that
        // already exists only needs the full path's count adjustment.
        if (err.key === block.key) this.snapshots.delete(block.key);
        return undefined;
      }
      // Unavailable: applied or not, we no longer know the block's revision.
      if (err instanceof DatastoreUnavailableError) this.snapshots.delete(block.key);
      throw err;
    }
    this.wrote(written);
    return { cidr, pool, ordinals: r.ordinals, seq: r.seq };
  }

  /**
   * Releases a handle whose record names one block: its addresses are freed and its record
   * deleted in one transaction. Throws `ConflictError` when either changed since it was
   * read (the caller retries from reading the handle), and returns the freed addresses.
   */
  async releaseHandle(h: Versioned<HandleDoc>, blockName: string): Promise<string[]> {
    const cidr = parseCidr(blockName);
    const key = this.store.keys.block(cidr);
    let b = this.snapshots.get(key);
    let r = b && blk.releaseHandle(b.doc, h.doc.handleID);
    // Nothing of the handle in our snapshot: read the block (someone else may have written it).
    if (!r || r.released.length === 0) {
      b = await this.store.getBlock(cidr);
      r = b && blk.releaseHandle(b.doc, h.doc.handleID);
    }
    if (!b || !r || r.released.length === 0) {
      // The handle counts addresses its block does not hold (an interrupted write): the
      // record alone goes, conditional on the revision read, as on the full path.
      await this.store.deleteHandle(h);
      return [];
    }
    try {
      this.wrote(await this.store.commitBlockAndHandles(b, r.block, [{ current: h, doc: null }]));
    } catch (err) {
      if ((err instanceof ConflictError && err.key === key) || err instanceof DatastoreUnavailableError) this.snapshots.delete(key);
      throw err;
    }
    return r.released.map((x) => formatIPv4(ordinalToAddress(cidr, x.ordinal)));
  }

  /**
   * Releases addresses of one block (with their sequence-number guard) and takes them off
   * their handles' counts in one transaction: read the block (or use our snapshot), read
   * the handles concerned (in parallel), commit. Throws `ConflictError` when anything moved
   * (the caller retries the step); undefined when the block does not exist.
   */
  async releaseAddresses(cidr: Cidr, reqs: readonly blk.ReleaseRequest[]): Promise<blk.ReleaseResult | undefined> {
    const key = this.store.keys.block(cidr);
    const name = formatCidr(cidr);
    let b = this.snapshots.get(key);
    let r = b && blk.release(b.doc, reqs);
    // A refusal must come from the block as it is, not from our possibly stale snapshot.
    if (!r || r.skipped.length > 0) {
      b = await this.store.getBlock(cidr);
      r = b && blk.release(b.doc, reqs);
    }
    if (!b || !r) return undefined;
    if (r.released.length === 0) return r;
    const perHandle = new Map<string, number>();
    for (const x of r.released) if (x.handle !== null) perHandle.set(x.handle, (perHandle.get(x.handle) ?? 0) + 1);
    const records = await Promise.all([...perHandle.keys()].map((h) => this.store.getHandle(h)));
    const handles: Array<{ current: Versioned<HandleDoc>; doc: HandleDoc | null }> = [];
    for (const current of records) {
      // No record: nothing counts these addresses (an interrupted write); nothing to fix.
      if (!current) continue;
      const counts = { ...current.doc.block };
      const n = (counts[name] ?? 0) - perHandle.get(current.doc.handleID)!;
      if (n > 0) counts[name] = n;
      else delete counts[name];
      handles.push({ current, doc: Object.keys(counts).length === 0 ? null : { ...current.doc, block: counts } });
    }
    try {
      this.wrote(await this.store.commitBlockAndHandles(b, r.block, handles));
    } catch (err) {
      if ((err instanceof ConflictError && err.key === key) || err instanceof DatastoreUnavailableError) this.snapshots.delete(key);
      throw err;
    }
    return r;
  }
}
