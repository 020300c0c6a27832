/**
 * bgpConfigFor(localNode, snapshot): the whole BGP configuration of one node, as plain
 * data, computed from the datastore snapshot by a pure function. The speaker only ever
 * compares two of these and changes what differs, so everything that decides a session's
 * shape lives here and can be unit-tested without a socket.
 *
 * Calico's semantics (confd + its BIRD templates), restated:
 * - BGPConfiguration `default` holds the cluster's values; `node.<name>` may override
 *   `listenPort`, `logSeverityScreen` and `bindMode` for one node. AS number: the Node's
 *   `spec.bgp.asNumber`, else the default configuration's, else 64512.
 * - Node-to-node mesh (unless `nodeToNodeMeshEnabled: false`): every other node with a
 *   `spec.bgp.ipv4Address`, at that node's listen port.
 * - A BGPPeer applies to this node when it names it (`node`), selects it (`nodeSelector`),
 *   or names neither (a global peer). It peers with `peerIP` (+`:port`) as `asNumber`, or
 *   with every node its `peerSelector` selects, at their node addresses and AS numbers.
 *   peerSelector peerings are symmetric: a node selected by `peerSelector` also peers with
 *   the nodes the BGPPeer applies to. That is how a route reflector (`route-reflector ==
 *   'true'`) learns its clients from the one BGPPeer of Calico's recipe.
 * - A node with `routeReflectorClusterID` reflects: its iBGP peers are its clients, except
 *   reflectors of the same cluster.
 * - One session per peer address and port: a node-specific BGPPeer beats a global one,
 *   which beats the mesh (the more deliberate configuration decides the session's shape).
 * - Passwords: a BGPPeer's `password` applies to the sessions it makes; the default
 *   BGPConfiguration's `nodeMeshPassword` to every mesh session. Both name a Secret key
 *   (secrets.ts); the speaker reads it, this function only carries the reference.
 */
import { formatCidr, parseCidr, parseIPv4 } from '../../ipam/cidr.js';
import { meshPassive } from '../fsm/collision.js';
import { parseSelector, type Selector } from '../../selector/index.js';
import { goDurationSeconds } from './go-duration.js';
import type { BgpNodeInfo, BgpPeerInfo, BgpSnapshot } from './datastore-view.js';
import type { SecretKeyRef } from './secrets.js';
import type { EncapMode } from '../../dataplane/messages.js';

export const DEFAULT_AS_NUMBER = 64512;
export const DEFAULT_LISTEN_PORT = 179;
export const DEFAULT_HOLD_TIME = 90;
/** Seconds a peer's routes are kept while it restarts gracefully (BIRD's and Calico's default). */
export const DEFAULT_RESTART_TIME = 120;

/** The names calicoctl prints in its PEER TYPE column. */
export type PeerType = 'node-to-node mesh' | 'global' | 'node specific';

export type LogSeverity = 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';

export interface PeerConfig {
  /** Session key: the address, plus `:port` when the port is not 179. */
  id: string;
  address: string;
  port: number;
  asNumber: number;
  peerType: PeerType;
  /** What configured it: `mesh` or `bgppeer/<name>`. */
  source: string;
  /** The Calico node at that address, for mesh and peerSelector peers. */
  peerNode?: string;
  /** Wait for the peer to connect (mesh pairs: the lower address waits). */
  passive: boolean;
  /** Proposed hold time in seconds (3 x keepaliveTime when that is set). */
  holdTime: number;
  /** Graceful restart time we advertise and honour (seconds). */
  restartTime: number;
  /** We reflect to this peer as our client (we have a cluster id and it is iBGP). */
  routeReflectorClient: boolean;
  /** Sign the session with TCP-MD5, with the password in this Secret key. */
  password?: SecretKeyRef;
}

/** Where learned cluster routes point, for classifying them (pool, encapsulation, node). */
export interface RoutingContext {
  pools: Array<{ name: string; cidr: string; ipipMode: EncapMode; vxlanMode: EncapMode }>;
  /** Node address -> node name, for every node with a BGP address. */
  nodesByAddress: Record<string, string>;
  /** This node's subnet (`10.0.0.0/24`) when its address carries a prefix length. */
  localSubnet?: string;
  /** Subnets of the other nodes, by address, when known. */
  subnetsByAddress: Record<string, string>;
}

export interface SpeakerConfig {
  nodeName: string;
  /** False when this node has no BGP address (or no Node at all): no sessions, no listener. */
  enabled: boolean;
  /** Why not enabled, in words. */
  disabledReason?: string;
  /** Our BGP identifier and session source: the Node's `spec.bgp.ipv4Address`. */
  routerId: string;
  localAddress: string;
  asNumber: number;
  listenPort: number;
  /** `NodeIP`: listen on the node address only; `None`: on every address. */
  bindMode: 'None' | 'NodeIP';
  /** BGP's own log level, when a BGPConfiguration sets logSeverityScreen (else the agent's applies). */
  logSeverity?: LogSeverity;
  meshEnabled: boolean;
  /** Set when this node is a route reflector. */
  clusterId?: string;
  /** Sorted by id. */
  peers: PeerConfig[];
  /** Prefixes we originate (sorted): our affine blocks and /32s borrowed from others' blocks. */
  exports: string[];
  routing: RoutingContext;
  /** Configuration problems worth a log line (bad selectors, unsupported peer addresses). */
  notes: string[];
}

const TYPE_RANK: Record<PeerType, number> = { 'node specific': 0, global: 1, 'node-to-node mesh': 2 };
const SEVERITIES: readonly LogSeverity[] = ['Debug', 'Info', 'Warning', 'Error', 'Fatal'];

export function peerId(address: string, port: number): string {
  return port === DEFAULT_LISTEN_PORT ? address : `${address}:${port}`;
}

export function bgpConfigFor(localNode: string, snap: BgpSnapshot): SpeakerConfig {
  const dflt = snap.configurations.get('default');
  const own = snap.configurations.get(`node.${localNode}`);
  const local = snap.nodes.get(localNode);
  const notes: string[] = [];
  const asNumber = local?.asNumber ?? dflt?.asNumber ?? DEFAULT_AS_NUMBER;
  const listenPortOf = (node: string): number => snap.configurations.get(`node.${node}`)?.listenPort ?? dflt?.listenPort ?? DEFAULT_LISTEN_PORT;
  const severity = own?.logSeverityScreen ?? dflt?.logSeverityScreen;
  const meshEnabled = dflt?.nodeToNodeMeshEnabled ?? true;
  const base: SpeakerConfig = {
    nodeName: localNode,
    enabled: false,
    routerId: '',
    localAddress: '',
    asNumber,
    listenPort: listenPortOf(localNode),
    bindMode: (own?.bindMode ?? dflt?.bindMode) === 'NodeIP' ? 'NodeIP' : 'None',
    ...(SEVERITIES.includes(severity as LogSeverity) ? { logSeverity: severity as LogSeverity } : {}),
    meshEnabled,
    peers: [],
    exports: [],
    routing: routingContext(snap, local),
    notes,
  };
  if (!local) return { ...base, disabledReason: `no Node resource named ${JSON.stringify(localNode)}` };
  if (!local.ipv4) return { ...base, disabledReason: `Node ${localNode} has no spec.bgp.ipv4Address` };
  const me = local.ipv4;
  const clusterId = local.routeReflectorClusterId;
  const meshRestart = goDurationSeconds(dflt?.nodeMeshMaxRestartTime) ?? DEFAULT_RESTART_TIME;

  const candidates: PeerConfig[] = [];
  const nodePeer = (n: BgpNodeInfo, peerType: PeerType, source: string, holdTime: number, restartTime: number, password: SecretKeyRef | undefined): PeerConfig | undefined => {
    if (!n.ipv4 || n.name === localNode || n.ipv4 === me) return undefined;
    const peerAs = n.asNumber ?? dflt?.asNumber ?? DEFAULT_AS_NUMBER;
    const port = listenPortOf(n.name);
    return {
      id: peerId(n.ipv4, port),
      address: n.ipv4,
      port,
      asNumber: peerAs,
      peerType,
      source,
      peerNode: n.name,
      passive: meshPassive(me, n.ipv4),
      holdTime,
      restartTime,
      routeReflectorClient: clusterId !== undefined && peerAs === asNumber && n.routeReflectorClusterId !== clusterId,
      ...(password ? { password } : {}),
    };
  };

  if (meshEnabled) {
    for (const n of snap.nodes.values()) {
      const p = nodePeer(n, 'node-to-node mesh', 'mesh', DEFAULT_HOLD_TIME, meshRestart, dflt?.nodeMeshPassword);
      if (p) candidates.push(p);
    }
  }

  const nodes = [...snap.nodes.values()];
  for (const bp of [...snap.peers.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const sel = (text: string | undefined, field: string): Selector | undefined | null => {
      if (text === undefined) return undefined;
      try {
        return parseSelector(text);
      } catch (e) {
        notes.push(`BGPPeer ${bp.name}: ignored, its ${field} ${JSON.stringify(text)} is not a valid selector (${(e as Error).message})`);
        return null;
      }
    };
    const nodeSel = sel(bp.nodeSelector, 'nodeSelector');
    const peerSel = sel(bp.peerSelector, 'peerSelector');
    if (nodeSel === null || peerSel === null) continue;
    const appliesTo = (n: BgpNodeInfo): boolean => (bp.node !== undefined ? n.name === bp.node : nodeSel ? nodeSel.matches(n.labels) : true);
    const peerType: PeerType = bp.node !== undefined || bp.nodeSelector !== undefined ? 'node specific' : 'global';
    const keepalive = goDurationSeconds(bp.keepaliveTime);
    const holdTime = keepalive !== undefined ? Math.max(3, Math.round(keepalive * 3)) : DEFAULT_HOLD_TIME;
    const restartTime = goDurationSeconds(bp.maxRestartTime) ?? DEFAULT_RESTART_TIME;
    const source = `bgppeer/${bp.name}`;
    const applies = appliesTo(local);
    if (peerSel) {
      const targets = new Map<string, BgpNodeInfo>();
      if (applies) for (const n of nodes) if (peerSel.matches(n.labels)) targets.set(n.name, n);
      // Symmetric: the selected nodes peer back with the nodes the BGPPeer applies to.
      if (peerSel.matches(local.labels)) for (const n of nodes) if (appliesTo(n)) targets.set(n.name, n);
      for (const n of targets.values()) {
        const p = nodePeer(n, peerType, source, holdTime, restartTime, bp.password);
        if (p) candidates.push(p);
      }
      continue;
    }
    if (!applies || bp.peerIP === undefined || bp.asNumber === undefined) continue;
    const target = parsePeerAddress(bp.peerIP);
    if (!target) {
      notes.push(`BGPPeer ${bp.name}: ignored, peerIP ${JSON.stringify(bp.peerIP)} is not an IPv4 address (IPv6 peers are not supported yet)`);
      continue;
    }
    if (target.ip === me) continue;
    const peerNode = nodes.find((n) => n.ipv4 === target.ip);
    candidates.push({
      id: peerId(target.ip, target.port),
      address: target.ip,
      port: target.port,
      asNumber: bp.asNumber,
      peerType,
      source,
      ...(peerNode ? { peerNode: peerNode.name } : {}),
      passive: false,
      holdTime,
      restartTime,
      routeReflectorClient: clusterId !== undefined && bp.asNumber === asNumber && peerNode?.routeReflectorClusterId !== clusterId,
      ...(bp.password ? { password: bp.password } : {}),
    });
  }

  const chosen = new Map<string, PeerConfig>();
  for (const p of candidates) {
    const prev = chosen.get(p.id);
    if (!prev || TYPE_RANK[p.peerType] < TYPE_RANK[prev.peerType]) chosen.set(p.id, p);
  }
  return {
    ...base,
    enabled: true,
    routerId: me,
    localAddress: me,
    ...(clusterId ? { clusterId } : {}),
    peers: [...chosen.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    exports: exportsFor(localNode, snap),
  };
}

/** Our affine blocks, and /32s of addresses we borrowed from blocks affine to other nodes. */
export function exportsFor(localNode: string, snap: BgpSnapshot): string[] {
  const out = new Set<string>();
  for (const b of snap.blocks.values()) {
    if (b.affinity === localNode) out.add(formatCidr(b.cidr));
    else for (const x of b.borrowed) if (x.node === localNode) out.add(formatCidr({ family: 4, base: x.ip, prefix: 32 }));
  }
  return [...out].sort(comparePrefixes);
}

function routingContext(snap: BgpSnapshot, local: BgpNodeInfo | undefined): RoutingContext {
  const nodesByAddress: Record<string, string> = {};
  const subnetsByAddress: Record<string, string> = {};
  for (const n of snap.nodes.values()) {
    if (!n.ipv4) continue;
    nodesByAddress[n.ipv4] = n.name;
    const s = subnetOf(n);
    if (s) subnetsByAddress[n.ipv4] = s;
  }
  const localSubnet = local ? subnetOf(local) : undefined;
  const pools = [...snap.pools.values()]
    .map((p) => ({ name: p.name, cidr: formatCidr(p.cidr), ipipMode: p.ipipMode, vxlanMode: p.vxlanMode }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { pools, nodesByAddress, subnetsByAddress, ...(localSubnet ? { localSubnet } : {}) };
}

function subnetOf(n: BgpNodeInfo): string | undefined {
  if (!n.ipv4 || n.ipv4PrefixLength === undefined) return undefined;
  return formatCidr(parseCidr(`${n.ipv4}/${n.ipv4PrefixLength}`, { allowHostBits: true }));
}

function parsePeerAddress(text: string): { ip: string; port: number } | undefined {
  const m = /^([0-9.]+)(?::([0-9]+))?$/.exec(text);
  if (!m?.[1]) return undefined;
  try {
    parseIPv4(m[1]);
  } catch {
    return undefined;
  }
  const port = m[2] === undefined ? DEFAULT_LISTEN_PORT : Number(m[2]);
  return port >= 1 && port <= 65535 ? { ip: m[1], port } : undefined;
}

function comparePrefixes(a: string, b: string): number {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.base - y.base || x.prefix - y.prefix;
}

