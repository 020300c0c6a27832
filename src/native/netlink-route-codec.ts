/**
 * IPv4 routes <-> rtnetlink messages (struct rtmsg + RTA_* attributes). Pure.
 */
import { AF_INET, NLA_TYPE_MASK, RTA, RTM_F_CLONED, RTMSG_LEN, RTN_NAMES, RTNEXTHOP_LEN, RTNH_F, RT_SCOPES, RT_TABLE, type RouteScope, type RouteType } from './netlink-constants.js';
import { attrMap, decodeAttrs, ipv4Bytes, ipv4String, readS32, readU16, readU32, u32Bytes, type Attr, type NlMessage } from './netlink-codec.js';

export interface RouteNexthop {
  gateway?: string;
  ifindex: number;
  onlink: boolean;
  /** rtnh_hops + 1, as `ip route` prints it. */
  weight: number;
}

/** A route as the kernel reports it. */
export interface Route {
  /** `a.b.c.d/len`. */
  dst: string;
  table: number;
  protocol: number;
  type: RouteType;
  scope: RouteScope | number;
  tos: number;
  gateway?: string;
  /** Output interface index (RTA_OIF). */
  ifindex?: number;
  /** RTNH_F_ONLINK on the route (or on its first nexthop). */
  onlink: boolean;
  /** The metric (RTA_PRIORITY); absent means 0. */
  priority?: number;
  prefsrc?: string;
  /** Multipath routes (RTA_MULTIPATH); gateway/ifindex are then absent. */
  nexthops?: RouteNexthop[];
}

/** What to replace or delete. Validated by NetlinkRoutes before it reaches the codec. */
export interface RouteSpec {
  dst: string;
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
  gateway?: string;
  ifindex?: number;
  onlink?: boolean;
  /** Default: `link` for a unicast route without gateway, else `universe`. */
  scope?: RouteScope;
  protocol?: number;
  /** Default: main (254). */
  table?: number;
  priority?: number;
  prefsrc?: string;
}

function cidrParts(dst: string): { addr: string; len: number } {
  const [addr, len] = dst.split('/');
  return { addr: addr ?? '', len: len === undefined ? 32 : Number(len) };
}

function rtmsg(f: { dstLen: number; table: number; protocol: number; scope: number; type: number; flags: number }): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  b[0] = AF_INET;
  b[1] = f.dstLen;
  b[2] = 0; // src_len
  b[3] = 0; // tos
  b[4] = f.table < 256 ? f.table : RT_TABLE.UNSPEC; // larger tables only fit in RTA_TABLE
  b[5] = f.protocol;
  b[6] = f.scope;
  b[7] = f.type;
  u32Bytes(f.flags).copy(b, 8);
  return b;
}

export function routeTypeNumber(t: RouteType): number {
  return RTN_NAMES.indexOf(t);
}

/** The default scope `ip route` would pick (and we pick). */
export function defaultScope(spec: RouteSpec): RouteScope {
  return (spec.type ?? 'unicast') === 'unicast' && spec.gateway === undefined ? 'link' : 'universe';
}

/** RTM_NEWROUTE body: header and attributes for replacing (or creating) a route. */
export function encodeRouteReplace(spec: RouteSpec): { header: Buffer; attrs: Attr[] } {
  const { addr, len } = cidrParts(spec.dst);
  const table = spec.table ?? RT_TABLE.MAIN;
  const type = spec.type ?? 'unicast';
  const header = rtmsg({
    dstLen: len,
    table,
    protocol: spec.protocol ?? 0,
    scope: RT_SCOPES[spec.scope ?? defaultScope(spec)],
    type: routeTypeNumber(type),
    flags: spec.onlink ? RTNH_F.ONLINK : 0,
  });
  const attrs: Attr[] = [{ type: RTA.TABLE, value: u32Bytes(table) }];
  if (len > 0) attrs.push({ type: RTA.DST, value: ipv4Bytes(addr) });
  if (spec.gateway !== undefined) attrs.push({ type: RTA.GATEWAY, value: ipv4Bytes(spec.gateway) });
  if (spec.ifindex !== undefined) attrs.push({ type: RTA.OIF, value: u32Bytes(spec.ifindex) });
  if (spec.priority !== undefined) attrs.push({ type: RTA.PRIORITY, value: u32Bytes(spec.priority) });
  if (spec.prefsrc !== undefined) attrs.push({ type: RTA.PREFSRC, value: ipv4Bytes(spec.prefsrc) });
  return { header, attrs };
}

/**
 * RTM_DELROUTE body. The kernel deletes the first route of the table with this dst (tos 0,
 * given metric) whose type, protocol, scope and nexthop match the fields given: unset ones
 * (type 0, protocol 0, scope NOWHERE, no gateway/oif) match anything.
 */
export function encodeRouteDelete(spec: RouteSpec): { header: Buffer; attrs: Attr[] } {
  const { addr, len } = cidrParts(spec.dst);
  const table = spec.table ?? RT_TABLE.MAIN;
  const header = rtmsg({
    dstLen: len,
    table,
    protocol: spec.protocol ?? 0,
    scope: spec.scope !== undefined ? RT_SCOPES[spec.scope] : RT_SCOPES.nowhere,
    type: spec.type !== undefined ? routeTypeNumber(spec.type) : 0,
    flags: 0,
  });
  const attrs: Attr[] = [{ type: RTA.TABLE, value: u32Bytes(table) }];
  if (len > 0) attrs.push({ type: RTA.DST, value: ipv4Bytes(addr) });
  if (spec.gateway !== undefined) attrs.push({ type: RTA.GATEWAY, value: ipv4Bytes(spec.gateway) });
  if (spec.ifindex !== undefined) attrs.push({ type: RTA.OIF, value: u32Bytes(spec.ifindex) });
  if (spec.priority !== undefined) attrs.push({ type: RTA.PRIORITY, value: u32Bytes(spec.priority) });
  return { header, attrs };
}

/** RTM_GETROUTE dump request header (every IPv4 route of every table). */
export function encodeRouteDump(): Buffer {
  return rtmsg({ dstLen: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 });
}

const SCOPE_BY_NUMBER = new Map<number, RouteScope>(Object.entries(RT_SCOPES).map(([k, v]) => [v, k as RouteScope]));

function decodeNexthops(buf: Buffer): RouteNexthop[] {
  const out: RouteNexthop[] = [];
  let off = 0;
  while (off + RTNEXTHOP_LEN <= buf.length) {
    const len = readU16(buf, off);
    if (len < RTNEXTHOP_LEN || off + len > buf.length) break;
    const flags = buf[off + 2] ?? 0;
    const hops = buf[off + 3] ?? 0;
    const ifindex = readS32(buf, off + 4);
    const attrs = attrMap(buf.subarray(off + RTNEXTHOP_LEN, off + len));
    const gw = attrs.get(RTA.GATEWAY);
    out.push({ ifindex, onlink: (flags & RTNH_F.ONLINK) !== 0, weight: hops + 1, ...(gw?.length === 4 ? { gateway: ipv4String(gw) } : {}) });
    off += (len + 3) & ~3;
  }
  return out;
}

/** An RTM_NEWROUTE message as a Route; null for other families, cloned (cache) entries or short messages. */
export function decodeRoute(msg: NlMessage): Route | null {
  const p = msg.payload;
  if (p.length < RTMSG_LEN || p[0] !== AF_INET) return null;
  const flags = readU32(p, 8);
  if ((flags & RTM_F_CLONED) !== 0) return null;
  const dstLen = p[1] ?? 0;
  // Attributes are walked in place, the last of a type winning (as nla_parse and attrMap
  // do), without an object or a Buffer view per attribute: a dump of a learned table is
  // 100,000 routes.
  let dst = -1;
  let table = -1;
  let gw = -1;
  let oif = -1;
  let prio = -1;
  let src = -1;
  let mp = -1;
  let mpEnd = -1;
  let off = RTMSG_LEN;
  while (off + 4 <= p.length) {
    const len = readU16(p, off);
    if (len < 4 || off + len > p.length) break;
    const type = readU16(p, off + 2) & NLA_TYPE_MASK;
    const v = off + 4;
    const vlen = len - 4;
    if (type === RTA.DST) dst = vlen === 4 ? v : -1;
    else if (type === RTA.TABLE) table = vlen >= 4 ? v : -1;
    else if (type === RTA.GATEWAY) gw = vlen === 4 ? v : -1;
    else if (type === RTA.OIF) oif = vlen >= 4 ? v : -1;
    else if (type === RTA.PRIORITY) prio = vlen >= 4 ? v : -1;
    else if (type === RTA.PREFSRC) src = vlen === 4 ? v : -1;
    else if (type === RTA.MULTIPATH) {
      mp = v;
      mpEnd = off + len;
    }
    off += (len + 3) & ~3;
  }
  const scopeNum = p[6] ?? 0;
  const typeNum = p[7] ?? 0;
  const route: Route = {
    dst: `${dst >= 0 ? ipv4At(p, dst) : '0.0.0.0'}/${dstLen}`,
    table: table >= 0 ? readU32(p, table) : (p[4] ?? 0),
    protocol: p[5] ?? 0,
    type: RTN_NAMES[typeNum] ?? 'unspec',
    scope: SCOPE_BY_NUMBER.get(scopeNum) ?? scopeNum,
    tos: p[3] ?? 0,
    onlink: (flags & RTNH_F.ONLINK) !== 0,
  };
  if (gw >= 0) route.gateway = ipv4At(p, gw);
  if (oif >= 0) route.ifindex = readU32(p, oif);
  if (prio >= 0) route.priority = readU32(p, prio);
  if (src >= 0) route.prefsrc = ipv4At(p, src);
  if (mp >= 0) {
    route.nexthops = decodeNexthops(p.subarray(mp, mpEnd));
    if (route.nexthops[0]?.onlink) route.onlink = true;
  }
  return route;
}

/** The dotted quad of the 4 bytes at `off`. */
function ipv4At(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}
