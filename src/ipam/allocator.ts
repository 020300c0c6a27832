/**
 * The IPAM allocator: a node fills its affine blocks, then claims a free block, then
 * (unless strict affinity) borrows from other nodes' blocks. See docs/design/ipam.md for
 * the claim protocol and what each crash leaves behind.
 *
 * Write order, chosen so that a crash at any point leaves only what a later call or
 * `releaseByHandle` finishes:
 *  - allocate: handle count first, then the block. A crash in between leaves a handle
 *    that counts an address the block does not hold; releasing by handle clears it.
 *    The common case writes both in one transaction instead (fast-path.ts).
 *  - release: block first, then the handle count (one transaction for a handle in one
 *    block).
 *  - claim: affinity `pending`, block (affinity host:<node>), affinity `confirmed`.
 *  - give up a block: affinity `pendingDeletion`, delete block, delete affinity.
 */
import type { Backend } from '../datastore/backend.js';
import type { Logger } from '../log/logger.js';
import * as blk from './block.js';
import {
  addressToOrdinal,
  blockContaining,
  cidrContains,
  cidrToKeyName,
  formatCidr,
  formatIPv4,
  ordinalToAddress,
  parseCidr,
  parseIPv4,
  type Cidr,
} from './cidr.js';
import { IpamError } from './errors.js';
import { affinityFor, nodeOfAffinity, type BlockDoc, type IpPool } from './model.js';
import type { PoolSource } from './pools.js';
import { BlockAffinities, type EligiblePool } from './affinities.js';
import { FastPath } from './fast-path.js';
import { KeyedLock } from './node-lock.js';
import { IpamSettings, type NodeMatcher, type WatchedIpamSettings } from './settings.js';
import { IpamStore, type AffinityRecord, type Versioned } from './store.js';

export type { NodeMatcher, WatchedIpamSettings } from './settings.js';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface IpamOptions {
  backend: Backend;
  root?: string;
  clock?: Clock;
  pools: PoolSource;
  /** Evaluates a pool's `nodeSelector` for a node. Default understands only `all()` and "". */
  nodeMatches?: NodeMatcher;
  /** CAS attempts per step (default 10). */
  maxAttempts?: number;
  /** How long a block must stay empty before its node gives it up (default 5 min). */
  emptyBlockGraceMs?: number;
  /**
   * How long the IPAM config and the pool list are reused between calls (default 1000 ms;
   * 0 reads them on every call). A changed pool or config is seen after at most this long.
   * It also bounds how long the one-transaction allocation (fast-path.ts) relies on the
   * last full look at the node's affinities; 0 turns that path off.
   */
  settingsTtlMs?: number;
  /**
   * Config and pools kept current by a watch (the agent's syncer, see
   * src/agent/watched-ipam-settings.ts): read on every call instead of the datastore, so an
   * allocation needs no settings round trip and a change is seen as soon as it is watched.
   * Either may answer undefined (not synced yet): then the datastore is read as above.
   */
  watched?: WatchedIpamSettings;
  /**
   * How long the one-transaction allocation relies on the full path's last look at the
   * node's affinities (default `settingsTtlMs`). That look only finishes interrupted claims
   * and give-ups; the transaction's own condition is what makes the write safe.
   */
  fastPathTrustMs?: number;
  logger?: Logger;
}


export interface AutoAssignRequest {
  /** `<network>.<containerID>` */
  handle: string;
  node: string;
  num?: number;
  attrs?: Record<string, string>;
  /** Restrict to one pool, by name or CIDR. */
  pool?: string;
}

export interface AssignIpRequest {
  ip: string;
  handle: string;
  node: string;
  attrs?: Record<string, string>;
}

export interface AssignedAddress {
  address: string;
  block: string;
  pool: string;
  /** The block's sequence number for this allocation; pass it to `releaseIPs`. */
  seq: number;
}

export interface ReleaseRequest {
  ip: string;
  seq?: number;
}

export interface ReleaseIPsResult {
  released: string[];
  skipped: Array<{ ip: string; reason: 'not-allocated' | 'sequence-mismatch' | 'no-block' }>;
}

const DEFAULT_GRACE_MS = 5 * 60_000;

export class Ipam {
  readonly store: IpamStore;
  private readonly clock: Clock;
  /** One allocation at a time per node in this process (see node-lock.ts). */
  private readonly nodeLock = new KeyedLock();
  /** IPAM config and pools: watched, or read from the datastore and kept for `settingsTtlMs`. */
  private readonly settings: IpamSettings;
  private readonly affinities: BlockAffinities;
  /** Node -> its affine block that last had room (a hint for the full path; always re-read). */
  private readonly lastBlock = new Map<string, string>();
  /** One-transaction allocation and release against our own last write of a block. */
  private readonly fastPath: FastPath;

  constructor(private readonly opts: IpamOptions) {
    this.store = new IpamStore(opts.backend, opts.root, opts.maxAttempts);
    this.clock = opts.clock ?? { now: () => Date.now() };
    const ttlMs = opts.settingsTtlMs ?? 1000;
    this.settings = new IpamSettings({
      store: this.store,
      pools: opts.pools,
      clock: this.clock,
      ttlMs,
      ...(opts.watched ? { watched: opts.watched } : {}),
      ...(opts.nodeMatches ? { nodeMatches: opts.nodeMatches } : {}),
    });
    this.affinities = new BlockAffinities(this.store, this.clock, opts.emptyBlockGraceMs ?? DEFAULT_GRACE_MS, () => this.settings.config());
    this.fastPath = new FastPath(this.store, this.clock, opts.fastPathTrustMs ?? ttlMs);
  }

  // --- allocation ---------------------------------------------------------------------

  /**
   * Allocates `num` addresses (default 1) for `handle` on `node`: from the node's blocks,
   * then a newly claimed block, then (unless strict affinity) other nodes' blocks. All or
   * nothing: a partial allocation is released before the error is thrown.
   */
  autoAssign(req: AutoAssignRequest): Promise<AssignedAddress[]> {
    return this.nodeLock.run(req.node, () => this.autoAssignLocked(req));
  }

  private async autoAssignLocked(req: AutoAssignRequest): Promise<AssignedAddress[]> {
    const num = req.num ?? 1;
    checkHandle(req.handle);
    checkNode(req.node);
    if (!Number.isInteger(num) || num < 1) throw new IpamError('INVALID_ARGUMENT', `autoAssign: num must be a positive integer, got ${num}`);
    const attrs = { node: req.node, ...req.attrs };
    const config = await this.settings.config();
    const pools = await this.settings.eligiblePools(req.node, req.pool);
    const ours = affinityFor(req.node);
    // The common case in one round trip (why skipping the affinity listing is safe: fast-path.ts).
    const fast = await this.fastPath.assign(req.node, req.handle, num, attrs, (cidr) => poolOf(pools, cidr));
    if (fast) {
      const name = formatCidr(fast.cidr);
      return fast.ordinals.map((o) => ({ address: formatIPv4(ordinalToAddress(fast.cidr, o)), block: name, pool: fast.pool.name, seq: fast.seq }));
    }
    const out: AssignedAddress[] = [];
    const want = () => num - out.length;
    try {
      // 1. Blocks this node already holds.
      const affine = await this.affinities.reconcile(req.node);
      let usable = affine.filter((a) => a.doc.state === 'confirmed' && poolOf(pools, a.cidr));
      // The block that last had room usually still has: try it alone first (one read
      // instead of one per affine block).
      const hint = usable.find((a) => formatCidr(a.cidr) === this.lastBlock.get(req.node));
      if (hint) {
        out.push(...(await this.assignFromBlock(hint.cidr, poolOf(pools, hint.cidr)!, req.handle, want(), attrs, ours)));
        usable = want() === 0 ? [] : usable.filter((a) => a !== hint);
      }
      // Read the others at once (one round trip), then try those with room in address order.
      const snapshots = await Promise.all(usable.map((a) => this.store.getBlock(a.cidr)));
      for (const [i, a] of usable.entries()) {
        const snap = snapshots[i];
        if (want() === 0) break;
        if (snap && blk.freeCount(snap.doc) === 0) continue;
        // A confirmed affinity without its block is never a step of our protocols (a give-up
        // marks pendingDeletion first): the block was deleted by hand. Claim it again.
        if (!snap && !(await this.affinities.finishClaim(req.node, a.cidr, config))) continue;
        out.push(...(await this.assignFromBlock(a.cidr, poolOf(pools, a.cidr)!, req.handle, want(), attrs, ours, snap)));
      }
      // 2. Claim free blocks.
      let held = affine.length;
      // One listing serves both the search for a free block and borrowing; snapshots
      // in it may be stale, which costs one CAS conflict, never a wrong write.
      let listing: Versioned<BlockDoc>[] | undefined;
      while (want() > 0 && config.autoAllocateBlocks && (config.maxBlocksPerHost === 0 || held < config.maxBlocksPerHost)) {
        listing = await this.store.listBlocks();
        const claimed = await this.affinities.claimFreeBlock(req.node, pools, config, listing);
        if (!claimed) break;
        held++;
        out.push(...(await this.assignFromBlock(claimed.cidr, claimed.pool, req.handle, want(), attrs, ours)));
      }
      // 3. Borrow from other nodes' blocks.
      if (want() > 0 && !config.strictAffinity) {
        for (const b of listing ?? (await this.store.listBlocks())) {
          if (want() === 0) break;
          const cidr = parseCidr(b.doc.cidr);
          const pool = poolOf(pools, cidr);
          if (!pool || b.doc.affinity === ours || b.doc.strictAffinity || b.doc.deleted || blk.freeCount(b.doc) === 0) continue;
          out.push(...(await this.assignFromBlock(cidr, pool, req.handle, want(), attrs, undefined, b)));
        }
      }
      if (want() > 0) {
        const why = config.strictAffinity
          ? 'every block is full or held by another node and strictAffinity forbids borrowing'
          : config.autoAllocateBlocks
            ? 'every block is allocated and full'
            : 'autoAllocateBlocks is off and the node has no free address in its blocks';
        throw new IpamError(
          'POOL_EXHAUSTED',
          `no free address in pools ${pools.map((p) => p.pool.cidr).join(', ')} for node ${req.node}: ${why} ` +
            `(wanted ${num}, got ${out.length}); add a pool or release unused addresses (tabby ipam check)`,
        );
      }
      return out;
    } catch (err) {
      if (out.length > 0) await this.rollback(out);
      throw err;
    }
  }

  /** Allocates one specific address for `handle` on `node`. */
  assignIP(req: AssignIpRequest): Promise<AssignedAddress> {
    return this.nodeLock.run(req.node, () => this.assignIPLocked(req));
  }

  private async assignIPLocked(req: AssignIpRequest): Promise<AssignedAddress> {
    checkHandle(req.handle);
    checkNode(req.node);
    const ip = parseIPv4(req.ip);
    const all = await this.settings.poolsForNode(req.node);
    const pool = all.find((p) => cidrContains(p.cidr, ip));
    if (!pool) {
      throw new IpamError('NOT_IN_POOL', `${req.ip} is not in any enabled pool usable by node ${req.node} (pools: ${all.map((p) => p.pool.cidr).join(', ') || 'none'})`);
    }
    const config = await this.settings.config();
    const cidr = blockContaining(ip, pool.pool.blockSize);
    const ordinal = addressToOrdinal(cidr, ip);
    const attrs = { node: req.node, ...req.attrs };
    // The block may not exist yet: claim it for this node, or (if another node got it
    // first) allocate inside theirs, as Calico does for a requested address.
    if (!(await this.store.getBlock(cidr)) && config.autoAllocateBlocks) {
      await this.affinities.claimBlock(req.node, cidr, config);
    }
    let credit = 0;
    try {
      const seq = await this.store.withRetries(`assign ${req.ip} in ${formatCidr(cidr)}`, async () => {
        const current = await this.store.getBlock(cidr);
        if (!current) throw new IpamError('POOL_EXHAUSTED', `block ${formatCidr(cidr)} for ${req.ip} does not exist and autoAllocateBlocks is off`);
        const r = blk.allocateOrdinal(current.doc, ordinal, req.handle, attrs);
        if (credit === 0) {
          await this.store.adjustHandle(req.handle, current.doc.cidr, 1);
          credit = 1;
        }
        this.fastPath.wrote(await this.store.updateBlock(current, r.block));
        return r.seq;
      });
      return { address: req.ip, block: formatCidr(cidr), pool: pool.pool.name, seq };
    } catch (err) {
      if (credit) await this.undoHandle(req.handle, formatCidr(cidr), credit);
      throw err;
    }
  }

  /**
   * Takes up to `num` addresses from one block. With `requireAffinity`, only while the
   * block still belongs to that node (it may have been given up since it was listed).
   */
  private async assignFromBlock(
    cidr: Cidr,
    pool: IpPool,
    handle: string,
    num: number,
    attrs: Record<string, string>,
    requireAffinity: string | undefined,
    snapshot?: Versioned<BlockDoc>,
  ): Promise<AssignedAddress[]> {
    const name = formatCidr(cidr);
    // How many addresses the handle record already counts for this block (written before
    // the block so an allocation never exists without its handle).
    let credit = 0;
    try {
      const result = await this.store.withRetries(`allocate in block ${name}`, async (attempt) => {
        // The first attempt may use the caller's fresh read; a conflict means it is stale.
        const current = attempt === 1 && snapshot ? snapshot : await this.store.getBlock(cidr);
        if (!current || current.doc.deleted) return undefined;
        if (requireAffinity !== undefined && current.doc.affinity !== requireAffinity) return undefined;
        const r = blk.allocate(current.doc, handle, num, attrs);
        if (r.ordinals.length === 0) return undefined;
        if (r.ordinals.length > credit) {
          await this.store.adjustHandle(handle, name, r.ordinals.length - credit);
          credit = r.ordinals.length;
        }
        return { ...r, written: await this.store.updateBlock(current, r.block) };
      });
      const used = result?.ordinals.length ?? 0;
      if (credit > used) await this.undoHandle(handle, name, credit - used);
      if (!result) return [];
      const owner = nodeOfAffinity(requireAffinity ?? null);
      if (owner !== undefined) {
        this.lastBlock.set(owner, name);
        // Only here (the node's confirmed or just-claimed block) may the fast path start from.
        this.fastPath.verified(owner, result.written);
      } else {
        this.fastPath.wrote(result.written);
      }
      return result.ordinals.map((o) => ({ address: formatIPv4(ordinalToAddress(cidr, o)), block: name, pool: pool.name, seq: result.seq }));
    } catch (err) {
      if (credit > 0) await this.undoHandle(handle, name, credit);
      throw err;
    }
  }

  /** Best-effort handle decrement after a failed allocation (a leftover is fixed by release by handle). */
  private async undoHandle(handle: string, block: string, n: number): Promise<void> {
    try {
      await this.store.adjustHandle(handle, block, -n);
    } catch (err) {
      this.opts.logger?.warn({ handle, cidr: block, err: (err as Error).message }, 'could not undo handle count; release by handle will clear it');
    }
  }

  private async rollback(done: AssignedAddress[]): Promise<void> {
    try {
      await this.releaseIPs(done.map((a) => ({ ip: a.address, seq: a.seq })));
    } catch (err) {
      this.opts.logger?.warn({ err: (err as Error).message }, 'rollback of a partial allocation failed; release by handle will clear it');
    }
  }

  // --- blocks and affinities ----------------------------------------------------------

  /**
   * Finishes or cleans up this node's unfinished claims and give-ups (left by a crash or
   * an outage), and returns its affinities in address order.
   */
  reconcileAffinities(node: string): Promise<AffinityRecord[]> {
    checkNode(node);
    return this.nodeLock.run(node, () => {
      // Finishing a give-up may delete blocks: start the next allocation from a full look.
      this.fastPath.forget(node);
      return this.affinities.reconcile(node);
    });
  }

  /**
   * Gives up the node's affinity for blocks that have been empty for at least the grace
   * period (measured from when this instance first saw them empty). Returns their CIDRs.
   */
  releaseEmptyBlocks(node: string): Promise<string[]> {
    checkNode(node);
    return this.nodeLock.run(node, () => {
      this.fastPath.forget(node);
      return this.affinities.releaseEmpty(node);
    });
  }

  // --- release ------------------------------------------------------------------------

  /** Releases every address of `handle` (idempotent: an unknown handle releases nothing). */
  async releaseByHandle(handle: string): Promise<string[]> {
    checkHandle(handle);
    return this.store.withRetries(`release handle ${handle}`, async () => {
      const h = await this.store.getHandle(handle);
      if (!h) return [];
      const names = Object.keys(h.doc.block);
      // The common case (a CNI DEL): one block, freed together with the handle record in
      // one transaction. A conflict on either retries from reading the handle.
      if (names.length === 1) return this.fastPath.releaseHandle(h, names[0]!);
      const released: string[] = [];
      for (const name of names) {
        const cidr = parseCidr(name);
        const freed = await this.store.withRetries(`release handle ${handle} in block ${name}`, async () => {
          const b = await this.store.getBlock(cidr);
          if (!b) return [];
          const r = blk.releaseHandle(b.doc, handle);
          if (r.released.length > 0) this.fastPath.wrote(await this.store.updateBlock(b, r.block));
          return r.released.map((x) => formatIPv4(ordinalToAddress(cidr, x.ordinal)));
        });
        released.push(...freed);
      }
      // Conditional on the revision read above: a concurrent allocation under the same
      // handle makes this conflict, and the retry releases that address too.
      await this.store.deleteHandle(h);
      return released;
    });
  }

  /**
   * Releases addresses. With `seq`, only if the address still carries the allocation that
   * sequence number came from, so a repeated or stale release cannot free a reused address.
   */
  async releaseIPs(requests: readonly ReleaseRequest[]): Promise<ReleaseIPsResult> {
    const result: ReleaseIPsResult = { released: [], skipped: [] };
    const byBlock = new Map<string, { cidr: Cidr; reqs: Array<{ ip: string; ordinal: number; seq?: number }> }>();
    let pools: IpPool[] | undefined;
    let blocks: Cidr[] | undefined;
    for (const r of requests) {
      const ip = parseIPv4(r.ip);
      pools ??= await this.settings.allPools();
      let cidr: Cidr | undefined;
      const pool = pools.find((p) => cidrContains(parseCidr(p.cidr), ip));
      if (pool) cidr = blockContaining(ip, pool.blockSize);
      else {
        // The pool is gone; its blocks may not be: look among the stored blocks.
        blocks ??= (await this.store.listBlocks()).map((b) => parseCidr(b.doc.cidr));
        cidr = blocks.find((c) => cidrContains(c, ip));
      }
      if (!cidr) {
        result.skipped.push({ ip: r.ip, reason: 'no-block' });
        continue;
      }
      const key = cidrToKeyName(cidr);
      const entry = byBlock.get(key) ?? { cidr, reqs: [] };
      entry.reqs.push({ ip: r.ip, ordinal: addressToOrdinal(cidr, ip), ...(r.seq !== undefined ? { seq: r.seq } : {}) });
      byBlock.set(key, entry);
    }
    for (const { cidr, reqs } of byBlock.values()) {
      const name = formatCidr(cidr);
      // Block and handle counts in one transaction, retried as a whole on conflict.
      const r = await this.store.withRetries(`release addresses in block ${name}`, () => this.fastPath.releaseAddresses(cidr, reqs));
      if (!r) {
        for (const q of reqs) result.skipped.push({ ip: q.ip, reason: 'no-block' });
        continue;
      }
      for (const x of r.released) result.released.push(formatIPv4(ordinalToAddress(cidr, x.ordinal)));
      for (const x of r.skipped) result.skipped.push({ ip: formatIPv4(ordinalToAddress(cidr, x.ordinal)), reason: x.reason });
    }
    return result;
  }
}

function poolOf(pools: EligiblePool[], cidr: Cidr): IpPool | undefined {
  return pools.find((p) => cidrContains(p.cidr, cidr.base) && p.pool.blockSize === cidr.prefix)?.pool;
}

function checkHandle(handle: string): void {
  if (handle.length === 0 || handle.includes('/')) {
    throw new IpamError('INVALID_ARGUMENT', `handle ${JSON.stringify(handle)} is not valid: want <network>.<containerID> without "/"`);
  }
}

function checkNode(node: string): void {
  if (node.length === 0 || node.includes('/')) throw new IpamError('INVALID_ARGUMENT', `node name ${JSON.stringify(node)} is not valid`);
}
