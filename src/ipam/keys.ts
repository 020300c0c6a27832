/**
 * IPAM's view of the datastore key layout (`src/datastore/keys.ts`, Calico's): the same
 * keys, addressed by parsed `Cidr`s instead of strings.
 *
 *   <root>/ipam/v2/assignment/ipv4/block/10.0.0.0-26    block (allocations)
 *   <root>/ipam/v2/host/<node>/ipv4/block/10.0.0.0-26   affinity of <node> for that block
 *   <root>/ipam/v2/handle/<handleID>                    handle (addresses per block)
 *   <root>/ipam/v2/config                               IPAM config
 *   <root>/resources/v3/projectcalico.org/ippools/<n>   IPPool resources
 */
import { DEFAULT_DATASTORE_ROOT, Keys } from '../datastore/keys.js';
import { formatCidr, parseCidr, type Cidr } from './cidr.js';

export const DEFAULT_ROOT = DEFAULT_DATASTORE_ROOT;

export class IpamKeys {
  private readonly keys: Keys;

  constructor(root: string = DEFAULT_ROOT) {
    this.keys = new Keys(root);
  }

  get root(): string {
    return this.keys.root;
  }

  blockPrefix(): string {
    return this.keys.blockPrefix('ipv4');
  }

  block(cidr: Cidr): string {
    return this.keys.block(formatCidr(cidr));
  }

  /** Prefix of every node's affinities (`<root>/ipam/v2/host/`). */
  hostsPrefix(): string {
    return this.keys.affinitiesRoot();
  }

  affinityPrefix(node: string): string {
    return this.keys.affinityPrefix(node, 'ipv4');
  }

  affinity(node: string, cidr: Cidr): string {
    return this.keys.affinity(node, formatCidr(cidr));
  }

  handlePrefix(): string {
    return this.keys.handlePrefix();
  }

  handle(handleId: string): string {
    return this.keys.handle(handleId);
  }

  config(): string {
    return this.keys.ipamConfig();
  }

  poolPrefix(): string {
    return this.keys.resourcePrefix('ippools');
  }

  pool(name: string): string {
    return this.keys.resource({ plural: 'ippools', name });
  }

  /** `{ node, cidr }` of an IPv4 affinity key, or undefined for keys of another shape. */
  parseAffinityKey(key: string): { node: string; cidr: Cidr } | undefined {
    const parsed = this.keys.parse(key);
    if (parsed?.kind !== 'affinity' || parsed.family !== 'ipv4') return undefined;
    return { node: parsed.node, cidr: parseCidr(parsed.cidr) };
  }
}
