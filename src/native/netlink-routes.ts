/**
 * IPv4 routes over raw rtnetlink: list (every table, filtered here), replace
 * (NLM_F_CREATE|NLM_F_REPLACE) and delete (absence is success). Every call takes `{ netns }`.
 */
import { NativeError, argumentError, errnoOf } from './errors.js';
import type { NetnsOptions } from './interfaces.js';
import { NLM_F, RTM, RT_SCOPES, RTN_NAMES, type RouteType } from './netlink-constants.js';
import { hostBitsZero, isIpv4, parseIpv4Cidr } from './netlink-codec.js';
import { NetlinkLinks } from './netlink-links.js';
import { decodeRoute, encodeRouteDelete, encodeRouteDump, encodeRouteReplace, type Route, type RouteSpec } from './netlink-route-codec.js';
import { NetlinkSocket, isErrno } from './netlink-socket.js';
import { checkIfName, checkInt, checkNetns } from './validate.js';

export type { Route, RouteNexthop, RouteSpec } from './netlink-route-codec.js';

export interface ListedRoute extends Route {
  /** Name of the output interface (`ifindex`), resolved in the same namespace. */
  ifName?: string;
}

export interface ListRoutesOptions extends NetnsOptions {
  /** Only this table (by default every table, local included). */
  table?: number;
  /** Only routes with this rtm_protocol. */
  protocol?: number;
  /** Only routes of this type. */
  type?: RouteType;
}

/** A route to write: a RouteSpec whose device may be named instead of indexed. */
export interface RouteWrite extends RouteSpec {
  /** Output interface by name (resolved in the namespace of the call); ignored when ifindex is set. */
  ifName?: string;
}

const ROUTE_HINTS = {
  ENODEV: 'the output interface does not exist (in that namespace)',
  ENETDOWN: 'the output interface is down: set it up first',
  ENETUNREACH: 'the gateway is not on any connected network: add a route to it, or use onlink with a device',
  EINVAL: 'the kernel refused the route as given (see what it said)',
};

export function describeRoute(r: RouteWrite): string {
  const parts = [r.type && r.type !== 'unicast' ? `${r.type} ${r.dst}` : r.dst];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  if (r.ifName) parts.push(`dev ${r.ifName}`);
  else if (r.ifindex !== undefined) parts.push(`dev #${r.ifindex}`);
  if (r.onlink) parts.push('onlink');
  if (r.scope) parts.push(`scope ${r.scope}`);
  if (r.protocol !== undefined) parts.push(`proto ${r.protocol}`);
  if (r.table !== undefined) parts.push(`table ${r.table}`);
  return parts.join(' ');
}

export class NetlinkRoutes {
  readonly #socket: NetlinkSocket;
  readonly #links: NetlinkLinks;

  constructor(socket: NetlinkSocket = new NetlinkSocket(), links: NetlinkLinks = new NetlinkLinks(socket)) {
    this.#socket = socket;
    this.#links = links;
  }

  /** IPv4 routes (no cache entries), with each output interface's name. */
  list(opts: ListRoutesOptions = {}): ListedRoute[] {
    const op = 'RTM_GETROUTE';
    const netns = checkNetns(op, opts.netns);
    if (opts.table !== undefined) checkInt(op, 'table', opts.table, 1, 0xffffffff);
    if (opts.protocol !== undefined) checkInt(op, 'protocol', opts.protocol, 0, 255);
    if (opts.type !== undefined && !RTN_NAMES.includes(opts.type)) throw argumentError(op, `unknown route type '${String(opts.type)}'`);
    const replies = this.#socket.request({ type: RTM.GETROUTE, flags: NLM_F.DUMP, header: encodeRouteDump() }, { op, what: 'list routes', netns });
    const routes: ListedRoute[] = [];
    for (const m of replies) {
      if (m.type !== RTM.NEWROUTE) continue;
      const r = decodeRoute(m);
      if (r === null) continue;
      if (opts.table !== undefined && r.table !== opts.table) continue;
      if (opts.protocol !== undefined && r.protocol !== opts.protocol) continue;
      if (opts.type !== undefined && r.type !== opts.type) continue;
      routes.push(r);
    }
    if (routes.some((r) => r.ifindex !== undefined)) {
      // One link dump names every device; the same socket namespace, so indexes agree.
      const names = new Map(this.#links.list(netns ? { netns } : {}).map((l) => [l.ifindex, l.name]));
      for (const r of routes) {
        const n = r.ifindex !== undefined ? names.get(r.ifindex) : undefined;
        if (n !== undefined) r.ifName = n;
      }
    }
    return routes;
  }

  /** Creates the route or replaces the one in its slot (table, dst, tos 0, metric). */
  replace(route: RouteWrite, opts: NetnsOptions = {}): void {
    const op = 'RTM_NEWROUTE';
    const netns = checkNetns(op, opts.netns);
    const spec = this.#resolve(op, checkRoute(op, route, 'replace'), netns);
    this.#socket.request(
      { type: RTM.NEWROUTE, flags: NLM_F.CREATE | NLM_F.REPLACE, ...encodeRouteReplace(spec) },
      { op, what: `replace route ${describeRoute(route)}`, netns, hints: ROUTE_HINTS },
    );
  }

  /**
   * Deletes the route of this table and dst whose given fields match (protocol, type,
   * gateway, device); true when one was deleted, false when there was none (ESRCH).
   */
  delete(route: RouteWrite, opts: NetnsOptions = {}): boolean {
    const op = 'RTM_DELROUTE';
    const netns = checkNetns(op, opts.netns);
    let spec: RouteSpec;
    try {
      spec = this.#resolve(op, checkRoute(op, route, 'delete'), netns);
    } catch (err) {
      // A route through a device that is gone is gone too.
      if (isErrno(err, 'ENODEV')) return false;
      throw err;
    }
    try {
      this.#socket.request({ type: RTM.DELROUTE, flags: 0, ...encodeRouteDelete(spec) }, { op, what: `delete route ${describeRoute(route)}`, netns, hints: ROUTE_HINTS });
      return true;
    } catch (err) {
      if (isErrno(err, 'ESRCH') || isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  #resolve(op: string, route: RouteWrite, netns: string | undefined): RouteSpec {
    const { ifName, ...spec } = route;
    if (ifName === undefined || spec.ifindex !== undefined) return spec;
    const link = this.#links.get(ifName, netns ? { netns } : {});
    if (link === null) {
      const where = netns ? ` in network namespace ${netns}` : '';
      throw new NativeError(op, errnoOf('ENODEV'), `route ${describeRoute(route)}: interface ${ifName} does not exist${where}; ${ROUTE_HINTS.ENODEV}`);
    }
    return { ...spec, ifindex: link.ifindex };
  }
}

/** Checks a route before it is encoded; returns it unchanged. */
export function checkRoute(op: string, route: RouteWrite, mode: 'replace' | 'delete'): RouteWrite {
  if (typeof route !== 'object' || route === null) throw argumentError(op, 'a route must be an object { dst, type?, gateway?, ifName?|ifindex?, ... }');
  const where = `route ${typeof route.dst === 'string' ? route.dst : '?'}`;
  if (typeof route.dst !== 'string') throw argumentError(op, `${where}: dst must be a CIDR string such as 10.0.0.0/24`);
  let cidr;
  try {
    cidr = parseIpv4Cidr(route.dst);
  } catch (err) {
    throw argumentError(op, `${where}: ${(err as Error).message}`);
  }
  if (!route.dst.includes('/')) throw argumentError(op, `${where}: dst needs a prefix length (a.b.c.d/len)`);
  if (!hostBitsZero(cidr)) throw argumentError(op, `${where}: ${route.dst} has host bits set; write the network address`);
  const type = route.type ?? 'unicast';
  if (!['unicast', 'blackhole', 'unreachable', 'prohibit'].includes(type)) {
    throw argumentError(op, `${where}: type must be unicast, blackhole, unreachable or prohibit, got '${String(type)}'`);
  }
  if (route.gateway !== undefined && (typeof route.gateway !== 'string' || !isIpv4(route.gateway))) {
    throw argumentError(op, `${where}: gateway '${String(route.gateway)}' is not an IPv4 address`);
  }
  if (route.prefsrc !== undefined && (typeof route.prefsrc !== 'string' || !isIpv4(route.prefsrc))) {
    throw argumentError(op, `${where}: prefsrc '${String(route.prefsrc)}' is not an IPv4 address`);
  }
  if (route.ifindex !== undefined) checkInt(op, `${where}: ifindex`, route.ifindex, 1, 0x7fffffff);
  if (route.ifName !== undefined) checkIfName(op, route.ifName);
  if (route.table !== undefined) checkInt(op, `${where}: table`, route.table, 1, 0xffffffff);
  if (route.protocol !== undefined) checkInt(op, `${where}: protocol`, route.protocol, 0, 255);
  if (route.priority !== undefined) checkInt(op, `${where}: priority`, route.priority, 0, 0xffffffff);
  if (route.scope !== undefined && !(route.scope in RT_SCOPES)) throw argumentError(op, `${where}: unknown scope '${String(route.scope)}'`);
  const hasDevice = route.ifindex !== undefined || route.ifName !== undefined;
  if (type !== 'unicast' && (route.gateway !== undefined || hasDevice || route.onlink)) {
    throw argumentError(op, `${where}: a ${type} route has no gateway, device or onlink`);
  }
  if (mode === 'replace' && type === 'unicast' && route.gateway === undefined && !hasDevice) {
    throw argumentError(op, `${where}: a unicast route needs a gateway, a device, or both`);
  }
  if (route.onlink && (route.gateway === undefined || !hasDevice)) throw argumentError(op, `${where}: onlink needs both a gateway and a device`);
  return route;
}
