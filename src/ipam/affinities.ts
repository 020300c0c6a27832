/**
 * A node's hold on blocks: the claim protocol (affinity `pending`, block, affinity
 * `confirmed`), giving an empty block back after a grace period (affinity
 * `pendingDeletion`, block deleted, affinity deleted), and finishing either when a crash
 * or an outage interrupted it. Callers serialise calls per node (see node-lock.ts).
 */
import { ConflictError } from '../datastore/errors.js';
import * as blk from './block.js';
import { blocksOfPool, formatCidr, type Cidr } from './cidr.js';
import { affinityFor, type BlockDoc, type IpamConfig, type IpPool } from './model.js';
import type { AffinityRecord, IpamStore, Versioned } from './store.js';

/** A pool usable by the node, with its parsed CIDR. */
export interface EligiblePool {
  pool: IpPool;
  cidr: Cidr;
}

export class BlockAffinities {
  /** Block CIDR -> when this instance first saw it empty (grace period bookkeeping). */
  private readonly emptySince = new Map<string, number>();

  constructor(
    private readonly store: IpamStore,
    private readonly clock: { now(): number },
    private readonly graceMs: number,
    private readonly getConfig: () => Promise<IpamConfig>,
  ) {}

  /**
   * Finishes or cleans up the node's unfinished claims and give-ups (left by a crash or an
   * outage) and returns its affinities in address order.
   */
  async reconcile(node: string): Promise<AffinityRecord[]> {
    const affinities = await this.store.listAffinities(node);
    const out: AffinityRecord[] = [];
    for (const a of affinities.sort((x, y) => x.cidr.base - y.cidr.base)) {
      if (a.doc.state === 'confirmed') {
        out.push(a);
      } else if (a.doc.state === 'pending') {
        const config = await this.getConfig();
        if (await this.finishClaim(node, a.cidr, config)) out.push({ ...a, doc: { state: 'confirmed', deleted: false } });
      } else {
        await this.finishRelease(a);
      }
    }
    return out;
  }

  /** Claims the first free block (in address order) of the eligible pools. */
  async claimFreeBlock(
    node: string,
    pools: EligiblePool[],
    config: IpamConfig,
    listing: Versioned<BlockDoc>[],
  ): Promise<{ cidr: Cidr; pool: IpPool } | undefined> {
    const taken = new Set(listing.map((b) => b.doc.cidr));
    for (const p of pools) {
      for (const cidr of blocksOfPool(p.cidr, p.pool.blockSize)) {
        if (taken.has(formatCidr(cidr))) continue;
        if (await this.claimBlock(node, cidr, config)) return { cidr, pool: p.pool };
      }
    }
    return undefined;
  }

  /** Step 1 of the claim protocol: the pending affinity. Returns whether the block is now ours. */
  async claimBlock(node: string, cidr: Cidr, config: IpamConfig): Promise<boolean> {
    try {
      await this.store.createAffinity(node, cidr, { state: 'pending', deleted: false });
    } catch (err) {
      // Already there: our own earlier attempt (or a concurrent call); finish it.
      if (!(err instanceof ConflictError)) throw err;
    }
    return this.finishClaim(node, cidr, config);
  }

  /**
   * Steps 2 and 3: create the block with our affinity, then confirm. If another node's
   * block is already there, drop our affinity instead.
   */
  async finishClaim(node: string, cidr: Cidr, config: IpamConfig): Promise<boolean> {
    const ours = affinityFor(node);
    try {
      await this.store.createBlock(cidr, blk.newBlock(cidr, ours, config.strictAffinity));
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
    const block = await this.store.getBlock(cidr);
    const won = block?.doc.affinity === ours;
    await this.store.withRetries(`${won ? 'confirm' : 'drop'} affinity of ${node} for ${formatCidr(cidr)}`, async () => {
      const a = await this.store.getAffinity(node, cidr);
      if (won) {
        if (!a) await this.store.createAffinity(node, cidr, { state: 'confirmed', deleted: false });
        else if (a.doc.state !== 'confirmed') await this.store.updateAffinity(a, { state: 'confirmed', deleted: false });
      } else if (a) {
        await this.store.deleteAffinity(a);
      }
    });
    return won;
  }

  /** Completes an interrupted give-up: the block goes if still empty, else the affinity is kept. */
  async finishRelease(a: AffinityRecord): Promise<void> {
    const block = await this.store.getBlock(a.cidr);
    try {
      if (block && block.doc.affinity === affinityFor(a.node)) {
        if (!blk.isEmpty(block.doc)) {
          await this.store.updateAffinity(a, { state: 'confirmed', deleted: false });
          return;
        }
        await this.store.deleteBlock(block);
      }
      await this.store.deleteAffinity(a);
    } catch (err) {
      // Someone else moved first; the next call looks again.
      if (!(err instanceof ConflictError)) throw err;
    }
  }

  /**
   * Gives up the node's affinity for blocks empty for at least the grace period (measured
   * from when this instance first saw them empty). Returns their CIDRs.
   */
  async releaseEmpty(node: string): Promise<string[]> {
    const released: string[] = [];
    const now = this.clock.now();
    for (const a of await this.store.listAffinities(node)) {
      const name = formatCidr(a.cidr);
      if (a.doc.state === 'pendingDeletion') {
        await this.finishRelease(a);
        continue;
      }
      if (a.doc.state !== 'confirmed') continue;
      const block = await this.store.getBlock(a.cidr);
      if (!block || block.doc.affinity !== affinityFor(node) || !blk.isEmpty(block.doc)) {
        this.emptySince.delete(name);
        continue;
      }
      const since = this.emptySince.get(name);
      if (since === undefined) {
        this.emptySince.set(name, now);
        if (this.graceMs > 0) continue;
      } else if (now - since < this.graceMs) {
        continue;
      }
      if (await this.giveUpBlock(a, block)) {
        released.push(name);
        this.emptySince.delete(name);
      }
    }
    return released;
  }

  private async giveUpBlock(a: AffinityRecord, block: Versioned<BlockDoc>): Promise<boolean> {
    let marked: AffinityRecord;
    try {
      marked = await this.store.updateAffinity(a, { state: 'pendingDeletion', deleted: false });
    } catch (err) {
      if (err instanceof ConflictError) return false;
      throw err;
    }
    try {
      // Conditional on the revision that was empty: a borrower that got in first wins.
      await this.store.deleteBlock(block);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      await this.finishRelease(marked);
      return false;
    }
    await this.store.withRetries(`delete affinity ${a.key}`, async () => {
      const cur = await this.store.getAffinity(a.node, a.cidr);
      if (cur) await this.store.deleteAffinity(cur);
    });
    return true;
  }
}
