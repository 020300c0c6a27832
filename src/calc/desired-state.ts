/**
 * The desired dataplane state of one node, as a pure function of the datastore facts and
 * the node's name. Every entry is the exact message the dataplane should hold for it, keyed
 * like the message (hostname, pool id, endpoint key, route dst), so diffing two states
 * gives the messages to send.
 *
 * Routes, one per destination (when two sources want the same destination, the more
 * specific knowledge wins: local-workload > remote-workload > host > local-block >
 * remote-block):
 *  - local-workload  /32 per address of each endpoint on this node, via its interface;
 *  - local-block     blackhole for each block affine to this node (addresses in it that no
 *                    local workload holds must not leak towards the default route);
 *  - remote-block    each block affine to another node, via that node's address, with the
 *                    encapsulation of the pool holding the block;
 *  - remote-workload /32 for an address another node holds in a block not affine to it:
 *                    from the block's allocation attributes (`secondary.node`) and from
 *                    endpoints on other nodes whose address no block of theirs covers;
 *  - host            /32 of every node's own address (for the BPF dataplane's lookups);
 *  - bgp             routes the BGP speaker learned for destinations outside the pools (a
 *                    ToR's default, external networks), via their BGP next hop. Lowest
 *                    priority: a learned route never displaces one calc derived (see
 *                    docs/design/bgp-speaker.md, "How this meets calc's routes").
 * Routes to a node whose address is unknown are left out until it is known.
 *
 * Where remote-block / remote-workload routes come from is `clusterRoutes`:
 *  - `datastore` (default): block affinities, allocation attributes and endpoints, as above;
 *    learned cluster routes are not used;
 *  - `bgp`: the speaker's learned cluster routes (its next hop, its encapsulation), at the
 *    same priorities; the datastore then derives none, except while `bridge` is set: the
 *    agent sets it from start until BGP has converged, so a restart does not withdraw
 *    routes that the sessions are about to bring back (a learned route wins a tie).
 * Local routes (local-block, local-workload) and host routes come from the datastore in
 * both modes.
 */
import { blockContaining, cidrContains, cidrCovers, formatCidr, parseCidr, parseIPv4, type Cidr } from '../ipam/cidr.js';
import {
  workloadEndpointKey,
  type HostMetadataUpdate,
  type IPPoolUpdate,
  type RouteEncap,
  type RouteType,
  type RouteUpdate,
  type WorkloadEndpointUpdate,
} from '../dataplane/messages.js';
import type { BlockFacts, EndpointFacts, NodeFacts, PoolFacts } from './inputs.js';

export interface CalcFacts {
  nodes: ReadonlyMap<string, NodeFacts>;
  pools: ReadonlyMap<string, PoolFacts>;
  /** Keyed by block CIDR text. */
  blocks: ReadonlyMap<string, BlockFacts>;
  /** Keyed by the endpoint's datastore key. */
  endpoints: ReadonlyMap<string, EndpointFacts>;
  /** Routes learned from BGP peers, keyed by dst; absent: none. Which types count depends on the mode. */
  externalRoutes?: ReadonlyMap<string, RouteUpdate>;
}

/** Where routes to other nodes' blocks and borrowed addresses come from (`--cluster-routes`). */
export const CLUSTER_ROUTE_SOURCES = ['datastore', 'bgp'] as const;
export type ClusterRouteSource = (typeof CLUSTER_ROUTE_SOURCES)[number];

export interface DesiredStateOptions {
  /** Default `datastore`. */
  clusterRoutes?: ClusterRouteSource;
  /** `bgp` only: also derive cluster routes from the datastore, below learned ones (startup). */
  bridge?: boolean;
}

export interface DesiredState {
  hosts: Map<string, HostMetadataUpdate>;
  pools: Map<string, IPPoolUpdate>;
  endpoints: Map<string, WorkloadEndpointUpdate>;
  routes: Map<string, RouteUpdate>;
}

export function emptyDesiredState(): DesiredState {
  return { hosts: new Map(), pools: new Map(), endpoints: new Map(), routes: new Map() };
}

const PRIORITY: Record<RouteType, number> = {
  'local-workload': 5,
  'remote-workload': 4,
  host: 3,
  'local-block': 2,
  'remote-block': 1,
  bgp: 0,
};

/** IPIP wins over VXLAN when a (misconfigured) pool asks for both. */
export function encapFor(pool: PoolFacts | undefined, sameSubnet: boolean): RouteEncap {
  if (!pool) return 'none';
  const applies = (mode: PoolFacts['ipipMode']) => mode === 'Always' || (mode === 'CrossSubnet' && !sameSubnet);
  if (applies(pool.ipipMode)) return 'ipip';
  if (applies(pool.vxlanMode)) return 'vxlan';
  return 'none';
}

/** The most specific pool covering `c`. */
function poolCovering(pools: Iterable<PoolFacts>, c: Cidr): PoolFacts | undefined {
  let best: PoolFacts | undefined;
  for (const p of pools) if (cidrCovers(p.cidr, c) && (!best || p.cidr.prefix > best.cidr.prefix)) best = p;
  return best;
}

/**
 * An endpoint's addresses as numbers, parsed once per facts object: every change anywhere
 * in the cluster recomputes the state, and this loop runs over every endpoint of every node.
 * (The FactsStore replaces an endpoint's object on each update, so the cache cannot go stale.)
 */
const parsedAddresses = new WeakMap<EndpointFacts, number[]>();
function addressesOf(ep: EndpointFacts): number[] {
  let ips = parsedAddresses.get(ep);
  if (!ips) parsedAddresses.set(ep, (ips = ep.ipv4Nets.map((net) => parseCidr(net).base)));
  return ips;
}

/**
 * The desired state, learned routes included: the datastore's part (computeDatastoreState)
 * with every eligible learned route laid over it by priority (`preferredRoute`). CalcGraph
 * keeps the two parts apart so a learned route costs O(1) to apply; this is the whole-state
 * definition it must always agree with.
 */
export function computeDesiredState(facts: CalcFacts, localNode: string, opts: DesiredStateOptions = {}): DesiredState {
  const state = computeDatastoreState(facts, localNode, opts);
  const localIpv4 = facts.nodes.get(localNode)?.ipv4;
  const fromBgp = opts.clusterRoutes === 'bgp';
  for (const r of facts.externalRoutes?.values() ?? []) {
    const learned = eligibleLearnedRoute(r, localIpv4, fromBgp);
    if (learned) state.routes.set(learned.dst, preferredRoute(state.routes.get(learned.dst), learned)!);
  }
  return state;
}

/**
 * A route the BGP speaker learned, as the dataplane should get it, or undefined when it is
 * not used: `bgp` routes always, remote-block / remote-workload ones only when BGP is the
 * source of cluster routes (`fromBgp`); never one without a next hop or whose next hop is
 * this node itself (it cannot be programmed and would loop).
 */
export function eligibleLearnedRoute(r: RouteUpdate, localIpv4: string | undefined, fromBgp: boolean): RouteUpdate | undefined {
  if (!r.nextHop || r.nextHop === localIpv4) return undefined;
  if (r.routeType === 'bgp') {
    // The speaker's messages already have this shape: reuse them (a full table is 100k of them).
    if (r.encap === 'none' && r.iface === undefined && r.sameSubnet === undefined) return r;
    const m: RouteUpdate = { type: 'RouteUpdate', dst: r.dst, routeType: 'bgp', nextHop: r.nextHop, encap: 'none' };
    if (r.dstNode !== undefined) m.dstNode = r.dstNode;
    return m;
  }
  const dstNode = r.dstNode !== undefined ? { dstNode: r.dstNode } : {};
  if (fromBgp && (r.routeType === 'remote-block' || r.routeType === 'remote-workload')) {
    return { type: 'RouteUpdate', dst: r.dst, routeType: r.routeType, nextHop: r.nextHop, ...dstNode, encap: r.encap, ...(r.sameSubnet !== undefined ? { sameSubnet: r.sameSubnet } : {}) };
  }
  return undefined;
}

/**
 * Which of the datastore's route and the learned one for the same destination wins: the
 * higher priority; a learned route wins a tie (with the startup bridge, the learned
 * remote-block route stays and the datastore's only fills gaps).
 */
export function preferredRoute(fromDatastore: RouteUpdate | undefined, learned: RouteUpdate | undefined): RouteUpdate | undefined {
  if (!fromDatastore) return learned;
  if (!learned) return fromDatastore;
  return PRIORITY[learned.routeType] >= PRIORITY[fromDatastore.routeType] ? learned : fromDatastore;
}

/** Everything calc derives from the datastore alone: hosts, pools, local endpoints, and their routes. */
export function computeDatastoreState(facts: CalcFacts, localNode: string, opts: DesiredStateOptions = {}): DesiredState {
  const fromBgp = opts.clusterRoutes === 'bgp';
  const fromDatastore = !fromBgp || opts.bridge === true;
  const state = emptyDesiredState();
  const local = facts.nodes.get(localNode);
  const pools = [...facts.pools.values()];

  for (const n of facts.nodes.values()) {
    if (n.ipv4) state.hosts.set(n.name, { type: 'HostMetadataUpdate', hostname: n.name, ipv4Addr: n.ipv4 });
  }
  for (const p of facts.pools.values()) {
    state.pools.set(p.name, { type: 'IPPoolUpdate', id: p.name, cidr: formatCidr(p.cidr), ipipMode: p.ipipMode, vxlanMode: p.vxlanMode, natOutgoing: p.natOutgoing });
  }

  const offer = (r: RouteUpdate) => {
    const have = state.routes.get(r.dst);
    if (!have || PRIORITY[r.routeType] > PRIORITY[have.routeType]) state.routes.set(r.dst, r);
  };

  /** A route to another node's prefix, or nothing while that node's address is unknown. */
  const toNode = (dst: Cidr, routeType: 'remote-block' | 'remote-workload', nodeName: string) => {
    if (!fromDatastore) return;
    const node = facts.nodes.get(nodeName);
    if (!node?.ipv4) return;
    const subnetKnown = local?.ipv4Subnet !== undefined;
    const sameSubnet = subnetKnown && cidrContains(local!.ipv4Subnet!, parseIPv4(node.ipv4));
    offer({
      type: 'RouteUpdate',
      dst: formatCidr(dst),
      routeType,
      nextHop: node.ipv4,
      dstNode: nodeName,
      // Unknown subnet counts as a different one: encapsulating always delivers.
      encap: encapFor(poolCovering(pools, dst), sameSubnet),
      ...(subnetKnown ? { sameSubnet } : {}),
    });
  };

  for (const n of facts.nodes.values()) {
    if (n.ipv4) offer({ type: 'RouteUpdate', dst: `${n.ipv4}/32`, routeType: 'host', nextHop: n.ipv4, dstNode: n.name, encap: 'none' });
  }

  // Block affinities by prefix length, then by base address: finding the block of an
  // address is then an integer lookup per block size, not a CIDR string built per endpoint.
  const affinityByPrefix = new Map<number, Map<number, string | undefined>>();
  for (const b of facts.blocks.values()) {
    let byBase = affinityByPrefix.get(b.cidr.prefix);
    if (!byBase) affinityByPrefix.set(b.cidr.prefix, (byBase = new Map()));
    byBase.set(b.cidr.base, b.affinity);
    if (b.affinity === localNode) offer({ type: 'RouteUpdate', dst: formatCidr(b.cidr), routeType: 'local-block', dstNode: localNode, encap: 'none' });
    else if (b.affinity !== undefined) toNode(b.cidr, 'remote-block', b.affinity);
    for (const { ip, node } of b.borrowed) {
      if (node !== localNode) toNode({ family: 4, base: ip, prefix: 32 }, 'remote-workload', node);
    }
  }

  /** The node holding the affinity of the block that contains `ip`, if we know that block. */
  const affineNodeOf = (ip: number): string | undefined => {
    for (const [prefix, byBase] of affinityByPrefix) {
      const base = blockContaining(ip, prefix).base;
      if (byBase.has(base)) return byBase.get(base);
    }
    return undefined;
  };

  for (const ep of facts.endpoints.values()) {
    if (ep.node === localNode) {
      state.endpoints.set(workloadEndpointKey(ep.id), {
        type: 'WorkloadEndpointUpdate',
        id: ep.id,
        ifaceName: ep.ifaceName,
        ...(ep.mac !== undefined ? { mac: ep.mac } : {}),
        ipv4Nets: ep.ipv4Nets,
        labels: ep.labels,
        profileIds: ep.profileIds,
      });
      for (const net of ep.ipv4Nets) {
        offer({ type: 'RouteUpdate', dst: net, routeType: 'local-workload', dstNode: localNode, iface: ep.ifaceName, encap: 'none' });
      }
      continue;
    }
    for (const ip of addressesOf(ep)) {
      if (affineNodeOf(ip) !== ep.node) toNode({ family: 4, base: ip, prefix: 32 }, 'remote-workload', ep.node);
    }
  }
  return state;
}
