/**
 * Calico's etcd v3 key layout, under a configurable root (default `/calico`), so a user
 * coming from Calico can read tabby's state with `etcdctl get --prefix /calico`:
 *
 *   <root>/resources/v3/projectcalico.org/<plural>/[<namespace>/]<name>
 *   <root>/ipam/v2/assignment/ipv4/block/<a.b.c.d-26>        (ipv6 likewise)
 *   <root>/ipam/v2/host/<node>/ipv4/block/<a.b.c.d-26>       (block affinity)
 *   <root>/ipam/v2/handle/<handle id>
 *   <root>/ipam/v2/config
 *
 * Builders validate their inputs (no '/', no empty segments, canonical CIDRs) so a bad
 * name can never address a different key; `parse` is the exact inverse.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { TabbyError } from '../errors.js';

export const DEFAULT_DATASTORE_ROOT = '/calico';
export const CALICO_GROUP = 'projectcalico.org';

export class InvalidKeyError extends TabbyError {
  constructor(message: string) {
    super('INVALID_KEY', message);
  }
}

export type IpFamily = 'ipv4' | 'ipv6';

export interface ResourceRef {
  plural: string;
  name: string;
  /** Only for namespaced kinds. */
  namespace?: string;
  /** API group directory; Calico's own is `projectcalico.org`. */
  group?: string;
}

export type ParsedKey =
  | { kind: 'resource'; group: string; plural: string; namespace?: string; name: string }
  | { kind: 'block'; cidr: string; family: IpFamily }
  | { kind: 'affinity'; node: string; cidr: string; family: IpFamily }
  | { kind: 'handle'; handle: string }
  | { kind: 'ipamConfig' };

// Segments are used verbatim in keys: forbid what would change the key's structure or
// be invisible in etcdctl output.
const BAD_SEGMENT = /[/\s\u0000-\u001f\u007f]/;

function segment(value: string, what: string): string {
  if (value === '' || value === '.' || value === '..' || BAD_SEGMENT.test(value)) {
    throw new InvalidKeyError(`invalid ${what} ${JSON.stringify(value)} for a datastore key: it must be non-empty and contain no '/', whitespace or control characters`);
  }
  return value;
}

function ipv4ToInt(addr: string): number {
  return addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** Validates a block CIDR ("10.0.0.0/26", "fd00::/122") and returns its family. */
function checkCidr(cidr: string): IpFamily {
  const slash = cidr.indexOf('/');
  const addr = slash < 0 ? '' : cidr.slice(0, slash);
  const lenText = slash < 0 ? '' : cidr.slice(slash + 1);
  const len = /^(0|[1-9][0-9]{0,2})$/.test(lenText) ? Number(lenText) : NaN;
  if (isIPv4(addr) && len >= 0 && len <= 32) {
    const hostBits = 32 - len;
    const n = ipv4ToInt(addr);
    if (hostBits > 0 && n % 2 ** hostBits !== 0) {
      throw new InvalidKeyError(`block CIDR ${cidr} has host bits set; a block starts at its network address`);
    }
    return 'ipv4';
  }
  // IPv6 is validated for syntax only; callers pass the canonical form they computed.
  if (isIPv6(addr) && len >= 0 && len <= 128 && !addr.includes('%')) return 'ipv6';
  throw new InvalidKeyError(`invalid block CIDR ${JSON.stringify(cidr)}: expected e.g. "10.0.0.0/26"`);
}

/** "10.0.0.0/26" -> "10.0.0.0-26", Calico's block name in keys. */
export function blockNameFromCidr(cidr: string): string {
  checkCidr(cidr);
  return cidr.replace('/', '-');
}

/** "10.0.0.0-26" -> "10.0.0.0/26"; throws InvalidKeyError if it is not a block name. */
export function cidrFromBlockName(name: string): string {
  const dash = name.lastIndexOf('-');
  if (dash <= 0) throw new InvalidKeyError(`invalid block name ${JSON.stringify(name)}: expected e.g. "10.0.0.0-26"`);
  const cidr = `${name.slice(0, dash)}/${name.slice(dash + 1)}`;
  checkCidr(cidr);
  return cidr;
}

function familyOf(cidr: string): IpFamily {
  return checkCidr(cidr);
}

export class Keys {
  readonly root: string;

  constructor(root: string = DEFAULT_DATASTORE_ROOT) {
    const trimmed = root.length > 1 ? root.replace(/\/+$/, '') : root;
    if (!trimmed.startsWith('/') || trimmed === '/' || trimmed.split('/').slice(1).some((s) => s === '' || BAD_SEGMENT.test(s))) {
      throw new InvalidKeyError(`invalid datastore root ${JSON.stringify(root)}: expected an absolute path like "/calico" (TABBY_DATASTORE_ROOT)`);
    }
    this.root = trimmed;
  }

  /** Every resource of a kind (namespace given: of that namespace), for list/watch; ends with '/'. */
  resourcePrefix(plural: string, namespace?: string, group: string = CALICO_GROUP): string {
    const base = `${this.root}/resources/v3/${segment(group, 'API group')}/${segment(plural, 'resource kind')}/`;
    return namespace === undefined ? base : `${base}${segment(namespace, 'namespace')}/`;
  }

  /** Everything under resources/v3 (all groups), for the syncer's one watch. */
  resourcesRoot(): string {
    return `${this.root}/resources/v3/`;
  }

  resource(ref: ResourceRef): string {
    return this.resourcePrefix(ref.plural, ref.namespace, ref.group) + segment(ref.name, 'resource name');
  }

  blockPrefix(family: IpFamily = 'ipv4'): string {
    return `${this.root}/ipam/v2/assignment/${family}/block/`;
  }

  block(cidr: string): string {
    return this.blockPrefix(familyOf(cidr)) + blockNameFromCidr(cidr);
  }

  /** Affinities of one node (list/watch); ends with '/'. */
  affinityPrefix(node: string, family: IpFamily = 'ipv4'): string {
    return `${this.root}/ipam/v2/host/${segment(node, 'node name')}/${family}/block/`;
  }

  /** Every node's affinities (list/watch); ends with '/'. */
  affinitiesRoot(): string {
    return `${this.root}/ipam/v2/host/`;
  }

  affinity(node: string, cidr: string): string {
    return this.affinityPrefix(node, familyOf(cidr)) + blockNameFromCidr(cidr);
  }

  handlePrefix(): string {
    return `${this.root}/ipam/v2/handle/`;
  }

  handle(id: string): string {
    return this.handlePrefix() + segment(id, 'IPAM handle');
  }

  ipamConfig(): string {
    return `${this.root}/ipam/v2/config`;
  }

  /** The inverse of the builders; undefined for a key outside this layout (or root). */
  parse(key: string): ParsedKey | undefined {
    if (!key.startsWith(`${this.root}/`)) return undefined;
    const parts = key.slice(this.root.length + 1).split('/');
    if (parts.some((p) => p === '' || BAD_SEGMENT.test(p))) return undefined;
    try {
      const [a, b, c, d, e, f, g, h] = parts;
      if (a === 'resources' && b === 'v3' && c && d) {
        if (parts.length === 5 && e) return { kind: 'resource', group: c, plural: d, name: e };
        if (parts.length === 6 && e && f) return { kind: 'resource', group: c, plural: d, namespace: e, name: f };
        return undefined;
      }
      if (a !== 'ipam' || b !== 'v2') return undefined;
      if (c === 'config' && parts.length === 3) return { kind: 'ipamConfig' };
      if (c === 'handle' && parts.length === 4 && d) return { kind: 'handle', handle: d };
      if (c === 'assignment' && parts.length === 6 && (d === 'ipv4' || d === 'ipv6') && e === 'block' && f) {
        const cidr = cidrFromBlockName(f);
        return familyOf(cidr) === d ? { kind: 'block', cidr, family: d } : undefined;
      }
      if (c === 'host' && parts.length === 7 && d && (e === 'ipv4' || e === 'ipv6') && f === 'block' && g && h === undefined) {
        const cidr = cidrFromBlockName(g);
        return familyOf(cidr) === e ? { kind: 'affinity', node: d, cidr, family: e } : undefined;
      }
      return undefined;
    } catch (err) {
      if (err instanceof InvalidKeyError) return undefined;
      throw err;
    }
  }
}
