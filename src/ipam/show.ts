/**
 * Data for `tabby ipam show`: pool usage, per-block usage and who holds an address. Plain
 * objects; the CLI renders them.
 */
import type { Backend } from '../datastore/backend.js';
import * as blk from './block.js';
import { addressToOrdinal, cidrContains, cidrCovers, cidrSize, parseCidr, parseIPv4 } from './cidr.js';
import { nodeOfAffinity } from './model.js';
import type { PoolSource } from './pools.js';
import { IpamStore } from './store.js';

export interface PoolUsage {
  name: string;
  cidr: string;
  blockSize: number;
  disabled: boolean;
  size: number;
  inUse: number;
  free: number;
}

export interface BlockUsage {
  cidr: string;
  /** The affine node, or null. */
  node: string | null;
  /** Name of the pool the block belongs to, or null when its pool is gone. */
  pool: string | null;
  size: number;
  inUse: number;
  free: number;
}

export type AddressInfo =
  | { ip: string; state: 'allocated'; handle: string | null; attrs: Record<string, string> | null; block: string; node: string | null; seq: number; pool: string | null }
  | { ip: string; state: 'free'; block: string | null; pool: string }
  | { ip: string; state: 'not-in-pool' };

export class IpamShow {
  private readonly store: IpamStore;

  constructor(private readonly opts: { backend: Backend; root?: string; pools: PoolSource }) {
    this.store = new IpamStore(opts.backend, opts.root);
  }

  async pools(): Promise<PoolUsage[]> {
    const [pools, blocks] = await Promise.all([this.opts.pools.list(), this.store.listBlocks()]);
    return pools.map((p) => {
      const cidr = parseCidr(p.cidr);
      const inUse = blocks.filter((b) => cidrCovers(cidr, parseCidr(b.doc.cidr))).reduce((n, b) => n + blk.usedCount(b.doc), 0);
      const size = cidrSize(cidr);
      return { name: p.name, cidr: p.cidr, blockSize: p.blockSize, disabled: p.disabled, size, inUse, free: size - inUse };
    });
  }

  async blocks(): Promise<BlockUsage[]> {
    const [pools, blocks] = await Promise.all([this.opts.pools.list(), this.store.listBlocks()]);
    return blocks
      .map((b) => {
        const cidr = parseCidr(b.doc.cidr);
        const inUse = blk.usedCount(b.doc);
        const pool = pools.find((p) => cidrCovers(parseCidr(p.cidr), cidr));
        return { cidr: b.doc.cidr, node: nodeOfAffinity(b.doc.affinity) ?? null, pool: pool?.name ?? null, size: cidrSize(cidr), inUse, free: cidrSize(cidr) - inUse, base: cidr.base };
      })
      .sort((a, b) => a.base - b.base)
      .map(({ base: _base, ...rest }) => rest);
  }

  async address(ip: string): Promise<AddressInfo> {
    const addr = parseIPv4(ip);
    const [pools, blocks] = await Promise.all([this.opts.pools.list(), this.store.listBlocks()]);
    const pool = pools.find((p) => cidrContains(parseCidr(p.cidr), addr));
    const b = blocks.find((x) => cidrContains(parseCidr(x.doc.cidr), addr));
    if (b) {
      const cidr = parseCidr(b.doc.cidr);
      const a = blk.allocationsOf(b.doc).find((x) => x.ordinal === addressToOrdinal(cidr, addr));
      if (a) {
        return { ip, state: 'allocated', handle: a.handle, attrs: a.attrs, block: b.doc.cidr, node: nodeOfAffinity(b.doc.affinity) ?? null, seq: a.seq, pool: pool?.name ?? null };
      }
    }
    if (!pool) return { ip, state: 'not-in-pool' };
    return { ip, state: 'free', block: b?.doc.cidr ?? null, pool: pool.name };
  }
}
