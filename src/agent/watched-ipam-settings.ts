/**
 * IPAM's settings (the IPAM config document and the IP pools) as the agent's syncer sees
 * them, so that an allocation reads them from memory instead of the datastore. Until the
 * syncer is in sync it answers undefined and IPAM reads the datastore itself.
 *
 * Documents go through IPAM's own parsers once, when they arrive; a malformed one is kept
 * as its error, so the allocation fails as a datastore read would. (A value that is not
 * JSON at all reaches the syncer's consumers as a deletion, for calc as for this view.)
 */
import type { Keys } from '../datastore/keys.js';
import type { SyncStatus, SyncerUpdate } from '../datastore/syncer.js';
import type { WatchedIpamSettings as Settings } from '../ipam/allocator.js';
import { DEFAULT_IPAM_CONFIG, parseIpamConfig, parsePool, type IpamConfig, type IpPool } from '../ipam/model.js';

export class WatchedIpamSettings implements Settings {
  readonly #configKey: string;
  readonly #poolPrefix: string;
  #config: Parsed<IpamConfig> | undefined;
  readonly #pools = new Map<string, Parsed<IpPool>>();
  #inSync = false;

  constructor(keys: Keys) {
    this.#configKey = keys.ipamConfig();
    this.#poolPrefix = keys.resourcePrefix('ippools');
  }

  /** The IPAM config key, for the syncer's prefixes (no other prefix covers it). */
  get configKey(): string {
    return this.#configKey;
  }

  onUpdates(updates: readonly SyncerUpdate[]): void {
    for (const u of updates) {
      if (u.key === this.#configKey) this.#config = u.value === null ? undefined : parsed(() => parseIpamConfig(u.key, JSON.stringify(u.value)));
      else if (u.key.startsWith(this.#poolPrefix)) {
        if (u.value === null) this.#pools.delete(u.key);
        else this.#pools.set(u.key, parsed(() => parsePool(u.key, JSON.stringify(u.value))));
      }
    }
  }

  onStatus(status: SyncStatus): void {
    // Once in sync, a later resync keeps serving the last full view (as calc does).
    if (status === 'in-sync') this.#inSync = true;
  }

  config(): IpamConfig | undefined {
    if (!this.#inSync) return undefined;
    return this.#config !== undefined ? valueOf(this.#config) : { ...DEFAULT_IPAM_CONFIG };
  }

  pools(): IpPool[] | undefined {
    if (!this.#inSync) return undefined;
    return [...this.#pools.values()].map(valueOf);
  }
}

type Parsed<T> = { value: T } | { error: unknown };

function parsed<T>(parse: () => T): Parsed<T> {
  try {
    return { value: parse() };
  } catch (error) {
    return { error };
  }
}

function valueOf<T>(p: Parsed<T>): T {
  if ('error' in p) throw p.error;
  return p.value;
}
