/**
 * The slice of the kernel's routing table the legacy route manager needs, injected so the
 * manager is testable without root (tests use MemoryRouteKernel; the agent passes the
 * netlink implementation from the native addon).
 *
 * Contract for implementations:
 *  - `listRoutes` returns IPv4 routes of one table (main unless `table`), optionally only
 *    those of one protocol. For a route with an output device it fills `ifName` (and
 *    `ifindex`), because desired routes name devices and are compared by name.
 *  - `replaceRoute` is RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE: it creates the route
 *    or replaces the one with the same (table, dst, tos 0, metric 0). The route's
 *    `protocol` is written as given. `ifName` is resolved to an index by the
 *    implementation; a missing device rejects with errno ENODEV.
 *  - `deleteRoute` is RTM_DELROUTE matching table, dst and protocol; deleting a route that
 *    is already gone resolves (ESRCH is success: the goal is absence).
 *  - `writeRoutes` carries many writes in one go (the netlink implementation batches them
 *    into few syscalls, off the event loop) and settles each on its own: it resolves with
 *    one entry per op, in order, `undefined` for success or the Error that op met; one
 *    failing op never stops the others. `create` is RTM_NEWROUTE with NLM_F_CREATE|NLM_F_EXCL:
 *    it fails with EEXIST when any route (of any protocol) holds the slot, so a destination
 *    not known to be ours is claimed without overwriting another owner's route.
 *  - Failures reject with an Error carrying `errno` (positive, e.g. 19 for ENODEV) where the
 *    kernel gave one, and a message naming the operation and the route.
 */

/**
 * tabby's route protocol number (rtm_protocol), so `ip route` shows who owns a route and a
 * restarted agent can find exactly its own routes. 84 ('T') is unused by the kernel's
 * reserved list (0-4), by /etc/iproute2/rt_protos (8-18, 42, 99, 186-192), by FRR (186-197)
 * and by Calico, whose felix tags its routes with 80.
 */
export const TABBY_ROUTE_PROTOCOL = 84;

/**
 * The protocol of the kernel routes for what the BGP speaker learned from peers (type `bgp`:
 * a ToR's default, external networks), in both dataplane modes. They are kept apart from
 * the cluster's routes (84) so each has its own RouteManager, and the learned one can hold
 * its sweep after a restart until the BGP sessions are back (a protocol is what a manager
 * adopts and sweeps). 85 is free in the same lists as 84.
 */
export const TABBY_LEARNED_ROUTE_PROTOCOL = 85;

/** The lines for `/etc/iproute2/rt_protos.d/tabby.conf`, so `ip route` prints `proto tabby` / `proto tabby-bgp`. */
export const TABBY_RT_PROTOS_LINE = `${TABBY_ROUTE_PROTOCOL}\ttabby\n${TABBY_LEARNED_ROUTE_PROTOCOL}\ttabby-bgp`;

export const MAIN_ROUTE_TABLE = 254;

export type KernelRouteType = 'unicast' | 'blackhole';

/** `link`: the destination is directly on the device (no gateway); `universe`: the rest. */
export type KernelRouteScope = 'link' | 'universe';

export interface KernelRoute {
  /** `a.b.c.d/len`, host bits zero. */
  dst: string;
  type: KernelRouteType;
  gateway?: string;
  /** Output device by name (what we set); implementations also report `ifindex`. */
  ifName?: string;
  ifindex?: number;
  /** RTNH_F_ONLINK: use the gateway even though no route says it is on the device (IPIP). */
  onlink?: boolean;
  scope?: KernelRouteScope;
  protocol: number;
  /** Defaults to the main table (254). */
  table?: number;
}

export interface ListRoutesFilter {
  /** Only routes with this rtm_protocol; all protocols when absent. */
  protocol?: number;
  table?: number;
}

/** One write of a batch (see the contract above). */
export interface RouteWriteOp {
  op: 'replace' | 'create' | 'delete';
  route: KernelRoute;
}

/** Per op of a batch, in order: undefined when it succeeded, else its Error (with `errno`). */
export type RouteWriteResult = Error | undefined;

export interface RouteKernel {
  listRoutes(filter: ListRoutesFilter): Promise<KernelRoute[]>;
  replaceRoute(route: KernelRoute): Promise<void>;
  deleteRoute(route: KernelRoute): Promise<void>;
  writeRoutes(ops: readonly RouteWriteOp[]): Promise<RouteWriteResult[]>;
}

/** EEXIST: what `create` meets when the slot is taken. */
export const EEXIST = 17;

/** Whether the kernel can do IPIP the legacy way (the `ipip` module, device `tunl0`). */
export type IpipProbe = () => Promise<boolean>;

/** Same forwarding behaviour (protocol and table aside): what "already programmed" means. */
export function sameForwarding(want: KernelRoute, have: KernelRoute): boolean {
  if (want.type !== have.type) return false;
  if (want.type === 'blackhole') return true;
  if ((want.gateway ?? '') !== (have.gateway ?? '')) return false;
  // A desired route without a device lets the kernel pick one; any is fine.
  if (want.ifName !== undefined && want.ifName !== have.ifName) return false;
  if ((want.onlink ?? false) !== (have.onlink ?? false)) return false;
  if (want.scope !== undefined && have.scope !== undefined && want.scope !== have.scope) return false;
  return true;
}

export function describeKernelRoute(r: KernelRoute): string {
  if (r.type === 'blackhole') return `blackhole ${r.dst}`;
  const parts = [r.dst];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  if (r.ifName) parts.push(`dev ${r.ifName}`);
  if (r.onlink) parts.push('onlink');
  if (r.scope === 'link') parts.push('scope link');
  parts.push(`proto ${r.protocol}`);
  return parts.join(' ');
}
