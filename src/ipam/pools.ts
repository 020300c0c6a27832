/**
 * Where IPAM gets its pools. The agent reads IPPool resources from the datastore; the
 * default pool (192.168.0.0/16, /26 blocks unless configured) is created when there is no
 * pool at all. Every node may race to create it: the create is conditional on the key not
 * existing, so exactly one write wins and the losers read the winner's pool.
 */
import { randomUUID } from 'node:crypto';
import type { Backend } from '../datastore/backend.js';
import { ConflictError } from '../datastore/errors.js';
import { parseCidr } from './cidr.js';
import { IpamKeys } from './keys.js';
import { parsePool, stringify, type IpPool } from './model.js';

export interface PoolSource {
  /** Every pool, disabled ones included (releases must still find their blocks). */
  list(): Promise<IpPool[]>;
  /** Creates the default pool when none exists and returns the pools after that. */
  ensureDefault?(): Promise<IpPool[]>;
}

export interface DefaultPoolOptions {
  name?: string;
  cidr?: string;
  blockSize?: number;
  natOutgoing?: boolean;
}

export const DEFAULT_POOL_NAME = 'default-ipv4-ippool';
export const DEFAULT_POOL_CIDR = '192.168.0.0/16';
export const DEFAULT_BLOCK_SIZE = 26;

export interface DatastorePoolSourceOptions {
  backend: Backend;
  root?: string;
  /** The pool to create when there is none; `false` never creates one. */
  defaultPool?: DefaultPoolOptions | false;
  /** For the resource's creationTimestamp. */
  clock?: { now(): number };
}

export class DatastorePoolSource implements PoolSource {
  private readonly keys: IpamKeys;

  constructor(private readonly opts: DatastorePoolSourceOptions) {
    this.keys = new IpamKeys(opts.root);
    if (opts.defaultPool) {
      // Fail at construction, not at the first allocation, on a bad configured CIDR.
      parseCidr(opts.defaultPool.cidr ?? DEFAULT_POOL_CIDR);
    }
  }

  async list(): Promise<IpPool[]> {
    const { kvs } = await this.opts.backend.list(this.keys.poolPrefix());
    return kvs.map((kv) => parsePool(kv.key, kv.value));
  }

  async ensureDefault(): Promise<IpPool[]> {
    const existing = await this.list();
    if (existing.length > 0 || this.opts.defaultPool === false) return existing;
    const d = this.opts.defaultPool ?? {};
    const name = d.name ?? DEFAULT_POOL_NAME;
    const resource = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: {
        name,
        uid: randomUUID(),
        creationTimestamp: new Date(this.opts.clock?.now() ?? Date.now()).toISOString(),
      },
      spec: {
        cidr: d.cidr ?? DEFAULT_POOL_CIDR,
        blockSize: d.blockSize ?? DEFAULT_BLOCK_SIZE,
        ipipMode: 'Never',
        vxlanMode: 'Never',
        natOutgoing: d.natOutgoing ?? true,
        nodeSelector: 'all()',
        disabled: false,
      },
    };
    try {
      await this.opts.backend.create(this.keys.pool(name), stringify(resource));
    } catch (err) {
      // Another node created it first: theirs is as good as ours.
      if (!(err instanceof ConflictError)) throw err;
    }
    return this.list();
  }
}

/** A fixed list of pools (tests, benchmarks, or a caller that watches pools itself). */
export class StaticPoolSource implements PoolSource {
  constructor(private readonly pools: IpPool[]) {}

  async list(): Promise<IpPool[]> {
    return this.pools;
  }
}
