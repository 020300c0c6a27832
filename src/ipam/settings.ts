/**
 * What an allocation needs besides blocks: the IPAM config document and the IP pools usable
 * by a node. Read from a watch when the caller keeps one (the agent's syncer), else from
 * the datastore and reused for `ttlMs` (a change is seen after at most that long).
 */
import { parseCidr } from './cidr.js';
import { IpamError } from './errors.js';
import type { IpamConfig, IpPool } from './model.js';
import type { EligiblePool } from './affinities.js';
import type { PoolSource } from './pools.js';
import type { IpamStore } from './store.js';

export type NodeMatcher = (selector: string, node: string) => boolean | Promise<boolean>;

/** Config and pools kept current by a watch; undefined while it has not delivered them. */
export interface WatchedIpamSettings {
  config(): IpamConfig | undefined;
  pools(): IpPool[] | undefined;
}

export interface IpamSettingsOptions {
  store: IpamStore;
  pools: PoolSource;
  clock: { now(): number };
  /** How long datastore reads are reused; 0 reads on every call. */
  ttlMs: number;
  watched?: WatchedIpamSettings;
  /** Evaluates a pool's `nodeSelector` for a node. Default understands only `all()` and "". */
  nodeMatches?: NodeMatcher;
}

const defaultNodeMatches: NodeMatcher = (selector) => {
  const s = selector.trim();
  return s === '' || s === 'all()';
};

export class IpamSettings {
  private configCache: { at: number; value: IpamConfig } | undefined;
  private poolCache: { at: number; value: IpPool[] } | undefined;
  private readonly nodeMatches: NodeMatcher;

  constructor(private readonly o: IpamSettingsOptions) {
    this.nodeMatches = o.nodeMatches ?? defaultNodeMatches;
  }

  async config(): Promise<IpamConfig> {
    const watched = this.o.watched?.config();
    if (watched) return watched;
    if (!this.fresh(this.configCache)) this.configCache = { at: this.o.clock.now(), value: await this.o.store.getConfig() };
    return this.configCache!.value;
  }

  /** Every pool, disabled ones included. */
  async allPools(): Promise<IpPool[]> {
    const watched = this.o.watched?.pools();
    // None watched yet may mean the default pool is being created: ask the datastore.
    if (watched && watched.length > 0) return watched;
    if (!this.fresh(this.poolCache)) {
      const value = await this.o.pools.list();
      // An empty list is never reused: the default pool may be created any moment.
      if (value.length === 0) return value;
      this.poolCache = { at: this.o.clock.now(), value };
    }
    return this.poolCache!.value;
  }

  /** Enabled pools whose nodeSelector matches `node`, creating the default pool if there is none. */
  async poolsForNode(node: string): Promise<EligiblePool[]> {
    let all = await this.allPools();
    if (all.length === 0 && this.o.pools.ensureDefault) {
      all = await this.o.pools.ensureDefault();
      this.poolCache = undefined;
    }
    const out: EligiblePool[] = [];
    for (const pool of all) {
      if (pool.disabled || !(await this.nodeMatches(pool.nodeSelector, node))) continue;
      out.push({ pool, cidr: parseCidr(pool.cidr) });
    }
    return out.sort((a, b) => a.cidr.base - b.cidr.base);
  }

  /** The pools `node` may allocate from (only `requested`, by name or CIDR, when given); NO_POOL when none. */
  async eligiblePools(node: string, requested: string | undefined): Promise<EligiblePool[]> {
    const usable = await this.poolsForNode(node);
    if (requested !== undefined) {
      const match = usable.filter((p) => p.pool.name === requested || p.pool.cidr === requested);
      if (match.length === 0) {
        throw new IpamError('NO_POOL', `pool ${requested} does not exist, is disabled, or its nodeSelector excludes node ${node}; see tabby get ippools`);
      }
      return match;
    }
    if (usable.length === 0) {
      throw new IpamError('NO_POOL', `no enabled IP pool matches node ${node}; create an IPPool (tabby apply -f) or fix the pools' nodeSelector/disabled`);
    }
    return usable;
  }

  private fresh(entry: { at: number } | undefined): boolean {
    return entry !== undefined && this.o.clock.now() - entry.at < this.o.ttlMs;
  }
}
