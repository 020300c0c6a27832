/**
 * IPv4 routes over raw rtnetlink: list (every table, filtered here), replace
 * (NLM_F_CREATE|NLM_F_REPLACE), delete (absence is success), and writeBatch (many of those
 * plus create, NLM_F_CREATE|NLM_F_EXCL, on one socket). Every call takes `{ netns }`.
 */
import { NativeError, argumentError, errnoOf } from './errors.js';
import type { NetnsOptions } from './interfaces.js';
import { NLM_F, RTM, RT_SCOPES, RTN_NAMES, type RouteType } from './netlink-constants.js';
import { ipv4Value, isIpv4, parseIpv4Cidr, prefixLengthOf } from './netlink-codec.js';
import { NetlinkLinks } from './netlink-links.js';
import { decodeRoute, encodeRouteDelete, encodeRouteDump, encodeRouteReplace, type Route, type RouteSpec } from './netlink-route-codec.js';
import { RouteBatchEncoder } from './netlink-route-batch.js';
import { NetlinkSocket, isErrno, type BatchCall } from './netlink-socket.js';
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

/** One write of a batch: `create` claims the slot (EEXIST when any route holds it). */
export interface RouteBatchOp {
  op: 'replace' | 'create' | 'delete';
  route: RouteWrite;
}

/** Per op of a batch, in order: undefined on success, else the error that op met. */
export type RouteBatchResult = NativeError | undefined;

const ROUTE_HINTS = {
  ENODEV: 'the output interface does not exist (in that namespace)',
  ENETDOWN: 'the output interface is down: set it up first',
  ENETUNREACH: 'the gateway is not on any connected network: add a route to it, or use onlink with a device',
  EINVAL: 'the kernel refused the route as given (see what it said)',
};

const CREATE_HINTS = {
  ...ROUTE_HINTS,
  EEXIST: 'a route already holds this slot (table, dst, metric); replace it to take the slot over',
};

/**
 * Ops per native call of writeBatch. Large enough that the per-call cost (namespace
 * switch, socket) vanishes, small enough that encoding one slice (under 1 µs per route) blocks
 * the event loop for tens of milliseconds at most.
 */
export const BATCH_SLICE = 8192;
/** Slices handed to the addon at once: one in the kernel, one waiting behind it. */
const QUEUED_SLICES = 2;

/** One slice of a batch, encoded: the messages, and the index in `ops` of each. */
interface EncodedSlice {
  bytes: Buffer;
  offsets: readonly number[];
  index: readonly number[];
}

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

  /**
   * Many replaces, creates and deletes in one batch on one socket, off the event loop
   * (NetlinkSocket.sendBatch). Each op settles on its own, in order: a route that fails
   * checkRoute, names a missing device or is refused by the kernel fails just that op with
   * the message replace/delete would throw; the others are applied. `create` is
   * NLM_F_CREATE|NLM_F_EXCL (EEXIST when the slot is taken); a delete of an absent route, or
   * of one through a device that is gone, succeeds. Device names are resolved once per
   * distinct name. Rejects only when the batch as a whole cannot run (namespace, socket).
   *
   * Ops go to the kernel in slices of BATCH_SLICE, strictly one after the other and in
   * order (a later op may write an earlier op's slot). Each slice is handed to the addon as
   * soon as it is encoded, one ahead of the kernel: the addon runs batches in the order they
   * were given, so while one slice is in the kernel the next already waits behind it and the
   * kernel never idles until the event loop comes round (it may be decoding BGP UPDATEs for
   * a while). At most QUEUED_SLICES are with the addon at a time (each holds a libuv pool
   * thread), and the event loop is never blocked for more than one slice's encoding. When a
   * slice fails as a whole, the slice queued behind it may still run; none after it does.
   */
  async writeBatch(ops: readonly RouteBatchOp[], opts: NetnsOptions = {}): Promise<RouteBatchResult[]> {
    const netns = checkNetns('netlinkBatch', opts.netns);
    if (!Array.isArray(ops)) throw argumentError('netlinkBatch', 'writeBatch needs an array of { op, route }');
    const results: RouteBatchResult[] = new Array<RouteBatchResult>(ops.length).fill(undefined);
    // One lookup per device name for the whole batch: its ifindex, null when missing, or the error the lookup met.
    const links = new Map<string, number | null | NativeError>();
    const queued: Promise<void>[] = [];
    let failure: { error: unknown } | undefined;
    for (let start = 0; start < ops.length && !failure; start += BATCH_SLICE) {
      const slice = this.#encodeSlice(ops, start, Math.min(ops.length, start + BATCH_SLICE), netns, links, results);
      const sent = this.#sendSlice(slice, ops, results, netns);
      // Settled below; the first whole-slice failure is the batch's, and stops the encoding.
      sent.catch((error: unknown) => {
        failure ??= { error };
      });
      queued.push(sent);
      if (start + BATCH_SLICE >= ops.length) break;
      // Let other work run before the next slice; with QUEUED_SLICES handed over, until the oldest is done.
      if (queued.length >= QUEUED_SLICES) await queued.shift()!.catch(() => {});
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await Promise.allSettled(queued);
    if (failure) throw failure.error;
    return results;
  }

  /** Checks and encodes ops[start, end); an op that fails here gets its error in `results`. */
  #encodeSlice(ops: readonly RouteBatchOp[], start: number, end: number, netns: string | undefined, links: Map<string, number | null | NativeError>, results: RouteBatchResult[]): EncodedSlice {
    const encoder = new RouteBatchEncoder(end - start);
    const index: number[] = [];
    for (let i = start; i < end; i++) {
      const item = ops[i] as RouteBatchOp;
      const op = item?.op;
      const nlOp = op === 'delete' ? 'RTM_DELROUTE' : 'RTM_NEWROUTE';
      let route: RouteWrite;
      try {
        if (op !== 'replace' && op !== 'create' && op !== 'delete') throw argumentError(nlOp, `batch op #${i}: op must be replace, create or delete, got '${String(op)}'`);
        route = checkRoute(nlOp, item.route, op === 'delete' ? 'delete' : 'replace');
      } catch (err) {
        results[i] = err as NativeError;
        continue;
      }
      // The encoder reads no ifName: the route itself is the spec unless a device name must
      // be resolved (no copy per route: a learned table is 100,000 of them).
      const ifName = route.ifName;
      let spec: RouteSpec = route;
      if (ifName !== undefined && route.ifindex === undefined) {
        let link = links.get(ifName);
        if (link === undefined) {
          try {
            link = this.#links.get(ifName, netns ? { netns } : {})?.ifindex ?? null;
          } catch (err) {
            link = err as NativeError;
          }
          links.set(ifName, link);
        }
        if (link === null) {
          // A route through a device that is gone is gone too.
          if (op !== 'delete') results[i] = missingDevice(nlOp, route, netns);
          continue;
        }
        if (typeof link !== 'number') {
          results[i] = link;
          continue;
        }
        spec = { ...route, ifindex: link };
      }
      encoder.add(op, spec);
      index.push(i);
    }
    return { ...encoder.finish(), index };
  }

  /** Sends one encoded slice and folds its outcomes into `results`. */
  async #sendSlice(slice: EncodedSlice, ops: readonly RouteBatchOp[], results: RouteBatchResult[], netns: string | undefined): Promise<void> {
    const { bytes, offsets, index } = slice;
    const call = (k: number): BatchCall => {
      const { op, route } = ops[index[k] as number] as RouteBatchOp;
      const what = `${op} route ${describeRoute(route)}`;
      if (op === 'delete') return { op: 'RTM_DELROUTE', what, hints: ROUTE_HINTS };
      return { op: 'RTM_NEWROUTE', what, hints: op === 'create' ? CREATE_HINTS : ROUTE_HINTS };
    };
    const sent = await this.#socket.sendBatch({ bytes, offsets, call }, netns ? { netns } : {});
    // results[index[k]] is still undefined (only ops that were not sent failed before), so
    // only the failures are folded in.
    for (let k = 0; k < sent.length; k++) {
      const err = sent[k];
      if (err === undefined) continue;
      const i = index[k] as number;
      const absent = (ops[i] as RouteBatchOp).op === 'delete' && (isErrno(err, 'ESRCH') || isErrno(err, 'ENOENT'));
      if (!absent) results[i] = err;
    }
  }

  #resolve(op: string, route: RouteWrite, netns: string | undefined): RouteSpec {
    const { ifName, ...spec } = route;
    if (ifName === undefined || spec.ifindex !== undefined) return spec;
    const link = this.#links.get(ifName, netns ? { netns } : {});
    if (link === null) throw missingDevice(op, route, netns);
    return { ...spec, ifindex: link.ifindex };
  }
}

function missingDevice(op: string, route: RouteWrite, netns: string | undefined): NativeError {
  const where = netns ? ` in network namespace ${netns}` : '';
  return new NativeError(op, errnoOf('ENODEV'), `route ${describeRoute(route)}: interface ${route.ifName} does not exist${where}; ${ROUTE_HINTS.ENODEV}`);
}

const WRITABLE_TYPES: ReadonlySet<string> = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit']);

/** HOST_BITS[len]: the host part of a /len as a mask (0 for /32), for a check without Math.pow. */
const HOST_BITS: readonly number[] = Array.from({ length: 33 }, (_, len) => (len === 32 ? 0 : 0xffffffff >>> len));

/** An integer in [min, max]: what checkInt accepts, without building its message. */
function intIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** "route <dst>", the start of every message about a route; built only for a message. */
function routeLabel(route: RouteWrite): string {
  return `route ${typeof route.dst === 'string' ? route.dst : '?'}`;
}

/** Checks a route before it is encoded; returns it unchanged. */
/** The last gateway checkRoute found good: a batch's routes share a few next hops. */
let lastGoodGateway: string | undefined;

export function checkRoute(op: string, route: RouteWrite, mode: 'replace' | 'delete'): RouteWrite {
  if (typeof route !== 'object' || route === null) throw argumentError(op, 'a route must be an object { dst, type?, gateway?, ifName?|ifindex?, ... }');
  // This runs for every route of a 100,000-route batch: messages (and the strings in them)
  // are built only when a check fails.
  if (typeof route.dst !== 'string') throw argumentError(op, `${routeLabel(route)}: dst must be a CIDR string such as 10.0.0.0/24`);
  const dst = route.dst;
  const slash = dst.indexOf('/');
  const base = slash > 0 ? ipv4Value(dst, 0, slash) : -1;
  const prefixLen = base >= 0 ? prefixLengthOf(dst, slash + 1) : -1;
  if (prefixLen < 0) {
    // Not a.b.c.d/len: let the thorough parser say what is wrong.
    try {
      parseIpv4Cidr(dst);
    } catch (err) {
      throw argumentError(op, `${routeLabel(route)}: ${(err as Error).message}`);
    }
    throw argumentError(op, `${routeLabel(route)}: dst needs a prefix length (a.b.c.d/len)`);
  }
  // base is an unsigned 32-bit value; `&` works on its two's-complement bits, which are the same.
  if ((base & (HOST_BITS[prefixLen] as number)) !== 0) throw argumentError(op, `${routeLabel(route)}: ${dst} has host bits set; write the network address`);
  const type = route.type ?? 'unicast';
  if (type !== 'unicast' && !WRITABLE_TYPES.has(type)) {
    throw argumentError(op, `${routeLabel(route)}: type must be unicast, blackhole, unreachable or prohibit, got '${String(type)}'`);
  }
  if (route.gateway !== undefined && route.gateway !== lastGoodGateway) {
    if (typeof route.gateway !== 'string' || !isIpv4(route.gateway)) throw argumentError(op, `${routeLabel(route)}: gateway '${String(route.gateway)}' is not an IPv4 address`);
    lastGoodGateway = route.gateway;
  }
  if (route.prefsrc !== undefined && (typeof route.prefsrc !== 'string' || !isIpv4(route.prefsrc))) {
    throw argumentError(op, `${routeLabel(route)}: prefsrc '${String(route.prefsrc)}' is not an IPv4 address`);
  }
  // checkInt is called only to throw, so its message is built for a failing route only.
  if (route.ifindex !== undefined && !intIn(route.ifindex, 1, 0x7fffffff)) checkInt(op, `${routeLabel(route)}: ifindex`, route.ifindex, 1, 0x7fffffff);
  if (route.ifName !== undefined) checkIfName(op, route.ifName);
  if (route.table !== undefined && !intIn(route.table, 1, 0xffffffff)) checkInt(op, `${routeLabel(route)}: table`, route.table, 1, 0xffffffff);
  if (route.protocol !== undefined && !intIn(route.protocol, 0, 255)) checkInt(op, `${routeLabel(route)}: protocol`, route.protocol, 0, 255);
  if (route.priority !== undefined && !intIn(route.priority, 0, 0xffffffff)) checkInt(op, `${routeLabel(route)}: priority`, route.priority, 0, 0xffffffff);
  if (route.scope !== undefined && !(route.scope in RT_SCOPES)) throw argumentError(op, `${routeLabel(route)}: unknown scope '${String(route.scope)}'`);
  const hasDevice = route.ifindex !== undefined || route.ifName !== undefined;
  if (type !== 'unicast' && (route.gateway !== undefined || hasDevice || route.onlink)) {
    throw argumentError(op, `${routeLabel(route)}: a ${type} route has no gateway, device or onlink`);
  }
  if (mode === 'replace' && type === 'unicast' && route.gateway === undefined && !hasDevice) {
    throw argumentError(op, `${routeLabel(route)}: a unicast route needs a gateway, a device, or both`);
  }
  if (route.onlink && (route.gateway === undefined || !hasDevice)) throw argumentError(op, `${routeLabel(route)}: onlink needs both a gateway and a device`);
  return route;
}
