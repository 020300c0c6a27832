/**
 * Readers from datastore documents (parsed JSON, Calico's v3 and IPAM shapes) to the few
 * facts calc needs. They are defensive: the datastore is written by other programs and by
 * hand, so a document that lacks what calc needs yields `undefined` (the object is treated
 * as absent) instead of an exception that would stop the whole pipeline.
 */
import { cidrContains, formatCidr, formatIPv4, parseCidr, parseIPv4, type Cidr } from '../ipam/cidr.js';
import type { EncapMode, WorkloadEndpointId } from '../dataplane/messages.js';

export interface NodeFacts {
  name: string;
  /** The node's IPv4 address, if it has one. */
  ipv4?: string;
  /** The subnet of that address when the resource gave a prefix length (`10.0.0.2/24`). */
  ipv4Subnet?: Cidr;
}

export interface PoolFacts {
  name: string;
  cidr: Cidr;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
}

export interface BlockFacts {
  cidr: Cidr;
  /** Node holding the block's affinity (`host:<node>`), if any. */
  affinity?: string;
  /** Allocated addresses whose recorded node is not the affine node (borrowed). */
  borrowed: { ip: number; node: string }[];
}

export interface EndpointFacts {
  id: WorkloadEndpointId;
  node: string;
  ifaceName: string;
  mac?: string;
  /** Single-address networks, as `a.b.c.d/32`. */
  ipv4Nets: string[];
  labels: Record<string, string>;
  profileIds: string[];
}

type Doc = Record<string, unknown>;

const isDoc = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const spec = (v: unknown): Doc => (isDoc(v) && isDoc(v.spec) ? v.spec : {});

/** `10.0.0.2/24` or `10.0.0.2` -> address and (when a prefix is given) subnet. */
function readHostAddress(text: string | undefined): { ipv4: string; ipv4Subnet?: Cidr } | undefined {
  if (!text) return undefined;
  const [addr, len] = text.split('/');
  try {
    const ip = formatIPv4(parseIPv4(addr ?? ''));
    if (len === undefined) return { ipv4: ip };
    return { ipv4: ip, ipv4Subnet: parseCidr(text, { allowHostBits: true }) };
  } catch {
    return undefined;
  }
}

export function readNode(name: string, doc: unknown): NodeFacts {
  const s = spec(doc);
  const bgp = isDoc(s.bgp) ? s.bgp : {};
  let addr = readHostAddress(str(bgp.ipv4Address));
  if (!addr && Array.isArray(s.addresses)) {
    // Prefer the address Calico itself would use for routing, then any IPv4 one.
    const entries = s.addresses.filter(isDoc);
    const ranked = [...entries.filter((e) => e.type === 'CalicoNodeIP'), ...entries.filter((e) => e.type === 'InternalIP'), ...entries];
    for (const e of ranked) {
      addr = readHostAddress(str(e.address));
      if (addr) break;
    }
  }
  return { name, ...addr };
}

export function readEncapMode(v: unknown): EncapMode {
  const t = typeof v === 'string' ? v.toLowerCase().replace(/[-_]/g, '') : '';
  if (t === 'always') return 'Always';
  if (t === 'crosssubnet') return 'CrossSubnet';
  return 'Never';
}

export function readPool(name: string, doc: unknown): PoolFacts | undefined {
  const s = spec(doc);
  let cidr: Cidr;
  try {
    cidr = parseCidr(str(s.cidr) ?? '', { allowHostBits: true });
  } catch {
    return undefined; // IPv6 pools and nonsense alike: nothing for the IPv4 dataplane.
  }
  return { name, cidr, ipipMode: readEncapMode(s.ipipMode), vxlanMode: readEncapMode(s.vxlanMode), natOutgoing: s.natOutgoing === true };
}

/** An allocation block document (`<root>/ipam/v2/assignment/ipv4/block/<cidr>`). */
export function readBlock(cidrText: string, doc: unknown): BlockFacts | undefined {
  if (!isDoc(doc) || doc.deleted === true) return undefined;
  let cidr: Cidr;
  try {
    cidr = parseCidr(cidrText);
  } catch {
    return undefined;
  }
  const affinity = typeof doc.affinity === 'string' && doc.affinity.startsWith('host:') ? doc.affinity.slice(5) || undefined : undefined;
  const allocations = Array.isArray(doc.allocations) ? doc.allocations : [];
  const attributes = Array.isArray(doc.attributes) ? doc.attributes : [];
  const borrowed: BlockFacts['borrowed'] = [];
  allocations.forEach((idx, ordinal) => {
    if (typeof idx !== 'number') return;
    const attr = attributes[idx];
    const node = isDoc(attr) && isDoc(attr.secondary) ? str(attr.secondary.node) : undefined;
    const ip = cidr.base + ordinal;
    if (node && node !== affinity && cidrContains(cidr, ip)) borrowed.push({ ip, node });
  });
  return { cidr, ...(affinity ? { affinity } : {}), borrowed };
}

/** A WorkloadEndpoint resource; `namespace` and `name` come from its key. */
export function readEndpoint(namespace: string | undefined, name: string, doc: unknown): EndpointFacts | undefined {
  const s = spec(doc);
  const node = str(s.node);
  const ifaceName = str(s.interfaceName);
  if (!node || !ifaceName) return undefined;
  const ns = namespace ?? 'default';
  const workload = str(s.workload) ?? `${ns}/${str(s.pod) ?? name}`;
  const ipv4Nets: string[] = [];
  for (const n of Array.isArray(s.ipNetworks) ? s.ipNetworks : []) {
    if (typeof n !== 'string' || n.includes(':')) continue;
    try {
      const c = parseCidr(n.includes('/') ? n : `${n}/32`, { allowHostBits: true });
      if (c.prefix === 32) ipv4Nets.push(formatCidr(c));
    } catch {
      // Not an IPv4 single address: not routable by us.
    }
  }
  const meta = isDoc(doc) && isDoc(doc.metadata) ? doc.metadata : {};
  const labels: Record<string, string> = {};
  if (isDoc(meta.labels)) for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') labels[k] = v;
  const profileIds = Array.isArray(s.profiles) ? s.profiles.filter((p): p is string => typeof p === 'string') : [];
  return {
    id: { orchestrator: str(s.orchestrator) ?? 'k8s', workload, endpoint: str(s.endpoint) ?? 'eth0' },
    node,
    ifaceName,
    ...(str(s.mac) ? { mac: str(s.mac) } : {}),
    ipv4Nets,
    labels,
    profileIds,
  };
}
