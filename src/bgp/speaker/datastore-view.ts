/**
 * What the BGP speaker needs from the datastore, kept up to date from syncer updates:
 * Nodes (labels and `spec.bgp`), BGPConfigurations, BGPPeers, IP pools and allocation
 * blocks. Documents are read defensively (the datastore is written by other programs and
 * by hand): a field of the wrong type counts as unset instead of stopping the speaker.
 * Blocks and pools are read with calc's readers so "affine" and "borrowed" mean exactly
 * what they mean for the routes calc derives.
 */
import type { SyncerUpdate } from '../../datastore/syncer.js';
import type { Keys } from '../../datastore/keys.js';
import { readBlock, readPool, type BlockFacts, type PoolFacts } from '../../calc/inputs.js';
import type { SecretKeyRef } from './secrets.js';

export interface BgpNodeInfo {
  name: string;
  labels: Record<string, string>;
  /** `spec.bgp.ipv4Address` without its prefix length: BGP source address and router id. */
  ipv4?: string;
  /** The prefix length given with it, when one was (`10.0.0.2/24` -> 24). */
  ipv4PrefixLength?: number;
  asNumber?: number;
  routeReflectorClusterId?: string;
}

/** The BGPPeer fields the speaker uses (names as in projectcalico.org/v3). */
export interface BgpPeerInfo {
  name: string;
  node?: string;
  nodeSelector?: string;
  peerSelector?: string;
  peerIP?: string;
  asNumber?: number;
  keepaliveTime?: string;
  maxRestartTime?: string;
  /** `password.secretKeyRef`: the Secret key holding the TCP-MD5 password. */
  password?: SecretKeyRef;
}

/** The BGPConfiguration fields the speaker uses. */
export interface BgpConfigurationInfo {
  name: string;
  asNumber?: number;
  nodeToNodeMeshEnabled?: boolean;
  listenPort?: number;
  logSeverityScreen?: string;
  bindMode?: string;
  nodeMeshMaxRestartTime?: string;
  /** `nodeMeshPassword.secretKeyRef`: the password of every mesh session. */
  nodeMeshPassword?: SecretKeyRef;
}

/** A consistent view of everything bgpConfigFor() reads. */
export interface BgpSnapshot {
  nodes: ReadonlyMap<string, BgpNodeInfo>;
  configurations: ReadonlyMap<string, BgpConfigurationInfo>;
  peers: ReadonlyMap<string, BgpPeerInfo>;
  /** Block CIDR text -> affinity and borrowed addresses. */
  blocks: ReadonlyMap<string, BlockFacts>;
  pools: ReadonlyMap<string, PoolFacts>;
}

type Doc = Record<string, unknown>;
const isDoc = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const spec = (v: unknown): Doc => (isDoc(v) && isDoc(v.spec) ? v.spec : {});

function labelsOf(doc: unknown): Record<string, string> {
  const meta = isDoc(doc) && isDoc(doc.metadata) ? doc.metadata : {};
  const out: Record<string, string> = {};
  if (isDoc(meta.labels)) for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** `asNumber` is a number or Calico's "64512" / dotted "1.10" form. */
function readAsNumber(v: unknown): number | undefined {
  const plain = num(v);
  if (plain !== undefined) return plain <= 0xffffffff ? plain : undefined;
  const m = typeof v === 'string' ? /^([0-9]+)\.([0-9]+)$/.exec(v) : null;
  if (!m) return undefined;
  const hi = Number(m[1]);
  const lo = Number(m[2]);
  return hi <= 0xffff && lo <= 0xffff ? hi * 65536 + lo : undefined;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function readBgpNode(name: string, doc: unknown): BgpNodeInfo {
  const s = spec(doc);
  const bgp = isDoc(s.bgp) ? s.bgp : {};
  const info: BgpNodeInfo = { name, labels: labelsOf(doc) };
  const addr = str(bgp.ipv4Address);
  if (addr) {
    const [ip, len] = addr.split('/');
    const length = len === undefined ? undefined : Number(len);
    if (ip && IPV4.test(ip) && (length === undefined || (Number.isInteger(length) && length >= 0 && length <= 32))) {
      info.ipv4 = ip;
      if (length !== undefined) info.ipv4PrefixLength = length;
    }
  }
  const asn = readAsNumber(bgp.asNumber);
  if (asn !== undefined) info.asNumber = asn;
  const cluster = str(bgp.routeReflectorClusterID);
  if (cluster && IPV4.test(cluster)) info.routeReflectorClusterId = cluster;
  return info;
}

export function readBgpPeer(name: string, doc: unknown): BgpPeerInfo {
  const s = spec(doc);
  const out: BgpPeerInfo = { name };
  const password = readSecretKeyRef(s.password);
  if (password) out.password = password;
  for (const f of ['node', 'nodeSelector', 'peerSelector', 'peerIP', 'keepaliveTime', 'maxRestartTime'] as const) {
    const v = str(s[f]);
    if (v !== undefined) out[f] = v;
  }
  const asn = readAsNumber(s.asNumber);
  if (asn !== undefined) out.asNumber = asn;
  return out;
}

export function readBgpConfiguration(name: string, doc: unknown): BgpConfigurationInfo {
  const s = spec(doc);
  const out: BgpConfigurationInfo = { name };
  const asn = readAsNumber(s.asNumber);
  if (asn !== undefined) out.asNumber = asn;
  const mesh = bool(s.nodeToNodeMeshEnabled);
  if (mesh !== undefined) out.nodeToNodeMeshEnabled = mesh;
  const port = num(s.listenPort);
  if (port !== undefined && port >= 1 && port <= 65535) out.listenPort = port;
  for (const f of ['logSeverityScreen', 'bindMode', 'nodeMeshMaxRestartTime'] as const) {
    const v = str(s[f]);
    if (v !== undefined) out[f] = v;
  }
  const meshPassword = readSecretKeyRef(s.nodeMeshPassword);
  if (meshPassword) out.nodeMeshPassword = meshPassword;
  return out;
}

/** `{ secretKeyRef: { name, key, optional? } }`, as validated on apply. */
function readSecretKeyRef(v: unknown): SecretKeyRef | undefined {
  const ref = isDoc(v) && isDoc(v.secretKeyRef) ? v.secretKeyRef : undefined;
  const name = str(ref?.name);
  const key = str(ref?.key);
  if (!name || !key) return undefined;
  return { name, key, ...(bool(ref?.optional) === true ? { optional: true } : {}) };
}

/** Applies syncer updates; `snapshot()` hands out the current maps (read-only by type). */
export class BgpDatastoreView {
  readonly #nodes = new Map<string, BgpNodeInfo>();
  readonly #configurations = new Map<string, BgpConfigurationInfo>();
  readonly #peers = new Map<string, BgpPeerInfo>();
  readonly #blocks = new Map<string, BlockFacts>();
  readonly #pools = new Map<string, PoolFacts>();

  constructor(private readonly keys: Keys) {}

  /** Applies one update; returns whether it concerned anything the speaker uses. */
  apply(u: SyncerUpdate): boolean {
    const k = this.keys.parse(u.key);
    if (!k) return false;
    const gone = u.value === null;
    if (k.kind === 'block') {
      if (k.family !== 'ipv4') return false;
      return setOrDelete(this.#blocks, k.cidr, gone ? undefined : readBlock(k.cidr, u.value));
    }
    if (k.kind !== 'resource' || k.group !== 'projectcalico.org') return false;
    switch (k.plural) {
      case 'nodes':
        return setOrDelete(this.#nodes, k.name, gone ? undefined : readBgpNode(k.name, u.value));
      case 'bgpconfigurations':
        return setOrDelete(this.#configurations, k.name, gone ? undefined : readBgpConfiguration(k.name, u.value));
      case 'bgppeers':
        return setOrDelete(this.#peers, k.name, gone ? undefined : readBgpPeer(k.name, u.value));
      case 'ippools':
        return setOrDelete(this.#pools, k.name, gone ? undefined : readPool(k.name, u.value));
      default:
        return false;
    }
  }

  snapshot(): BgpSnapshot {
    return { nodes: this.#nodes, configurations: this.#configurations, peers: this.#peers, blocks: this.#blocks, pools: this.#pools };
  }
}

function setOrDelete<V>(m: Map<string, V>, key: string, v: V | undefined): boolean {
  if (v === undefined) m.delete(key);
  else m.set(key, v);
  return true;
}
