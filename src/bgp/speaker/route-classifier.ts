/**
 * Learned best paths -> route messages for the dataplane.
 *
 * A prefix inside one of the cluster's IP pools is a cluster route: a block (remote-block)
 * or a single borrowed address (remote-workload), with the pool's encapsulation and the
 * node behind the next hop. Anything else came from outside the cluster (a ToR, an external
 * peer) and is typed `bgp`: plain routing via the next hop, no encapsulation.
 *
 * By default the agent programs only the `bgp` routes and cluster routes come from the
 * datastore; with `--cluster-routes bgp` it programs these cluster routes too (see
 * docs/design/bgp-speaker.md, "How this meets calc's routes").
 */
import { cidrContains, parseCidr, parseIPv4, type Cidr } from '../../ipam/cidr.js';
import { ipv4Number } from '../rib/prefix-key.js';
import { DecodedIpv4Prefix } from '../wire/prefix.js';
import type { Prefix } from '../wire/types.js';
import type { EncapMode, RouteEncap, RouteRemove, RouteType, RouteUpdate } from '../../dataplane/messages.js';
import type { RoutingContext } from './config.js';

export type BgpRouteType = Extract<RouteType, 'remote-block' | 'remote-workload' | 'bgp'>;

export interface BgpRouteUpdate extends Omit<RouteUpdate, 'routeType'> {
  routeType: BgpRouteType;
  nextHop: string;
}

export type BgpRouteMessage = BgpRouteUpdate | RouteRemove;

interface Pool {
  cidr: Cidr;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
}

/** Classifies prefixes against one RoutingContext (parsed once). */
export class RouteClassifier {
  readonly #pools: Pool[];
  readonly #localSubnet: Cidr | undefined;

  constructor(private readonly ctx: RoutingContext) {
    // Most specific pool first: it decides the encapsulation.
    this.#pools = ctx.pools.map((p) => ({ cidr: parseCidr(p.cidr), ipipMode: p.ipipMode, vxlanMode: p.vxlanMode })).sort((a, b) => b.cidr.prefix - a.cidr.prefix);
    this.#localSubnet = ctx.localSubnet ? parseCidr(ctx.localSubnet) : undefined;
  }

  /**
   * `dst` is the prefix key ("10.0.0.0/24"); `decoded`, when the caller has the prefix as the
   * decoder built it, saves parsing the key back (this runs for every prefix of a full feed).
   */
  classify(dst: string, nextHop: string, decoded?: Prefix): BgpRouteUpdate {
    const hit = this.#pools.length > 0 ? this.#poolOf(dst, decoded) : undefined;
    const dstNode = this.ctx.nodesByAddress[nextHop];
    if (!hit) {
      const m: BgpRouteUpdate = { type: 'RouteUpdate', dst, routeType: 'bgp', nextHop, encap: 'none' };
      if (dstNode) m.dstNode = dstNode;
      return m;
    }
    const sameSubnet = this.#sameSubnet(nextHop);
    return {
      type: 'RouteUpdate',
      dst,
      routeType: hit.length === 32 ? 'remote-workload' : 'remote-block',
      nextHop,
      encap: encapFor(hit.pool, sameSubnet),
      ...(dstNode ? { dstNode } : {}),
      ...(sameSubnet !== undefined ? { sameSubnet } : {}),
    };
  }

  /** The most specific pool covering the prefix (with the prefix's length), if any. */
  #poolOf(dst: string, decoded: Prefix | undefined): { pool: Pool; length: number } | undefined {
    let base: number;
    let length: number;
    if (decoded instanceof DecodedIpv4Prefix) {
      base = decoded.address;
      length = decoded.length;
    } else {
      const p = ipv4PrefixOf(dst);
      if (!p) return undefined;
      base = p.base;
      length = p.prefix;
    }
    // cidrCovers without building a Cidr per prefix: at least as long, base inside the pool.
    for (const pool of this.#pools) if (length >= pool.cidr.prefix && cidrContains(pool.cidr, base)) return { pool, length };
    return undefined;
  }

  /** Whether the next hop is in our subnet; undefined when either subnet is unknown. */
  #sameSubnet(nextHop: string): boolean | undefined {
    if (!this.#localSubnet) return undefined;
    let ip: number;
    try {
      ip = parseIPv4(nextHop);
    } catch {
      return undefined;
    }
    return cidrContains(this.#localSubnet, ip);
  }
}

/** `a.b.c.d/n` as a Cidr; undefined for anything else (IPv6 keys). */
function ipv4PrefixOf(key: string): Cidr | undefined {
  const slash = key.lastIndexOf('/');
  const base = slash > 0 ? ipv4Number(key.slice(0, slash)) : -1;
  const prefix = Number(key.slice(slash + 1));
  return base < 0 || !(prefix >= 0 && prefix <= 32) ? undefined : { family: 4, base, prefix };
}

/** The same rule calc applies: IPIP before VXLAN; CrossSubnet encapsulates unless known to be on-link. */
function encapFor(pool: Pool, sameSubnet: boolean | undefined): RouteEncap {
  const on = (m: EncapMode): boolean => m === 'Always' || (m === 'CrossSubnet' && sameSubnet !== true);
  if (on(pool.ipipMode)) return 'ipip';
  if (on(pool.vxlanMode)) return 'vxlan';
  return 'none';
}
