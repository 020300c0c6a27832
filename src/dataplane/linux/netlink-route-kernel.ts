/**
 * RouteKernel (../legacy/route-kernel.ts) over raw rtnetlink from the native addon. The
 * legacy route manager depends only on the interface; this is the real kernel it gets.
 */
import { isErrno, Netlink, type ListedRoute, type RouteWrite } from '../../native/netlink.js';
import { MAIN_ROUTE_TABLE, type KernelRoute, type ListRoutesFilter, type RouteKernel, type RouteWriteOp, type RouteWriteResult } from '../legacy/route-kernel.js';

export interface NetlinkRouteKernelOptions {
  /** Program routes in this network namespace instead of the process's own. */
  netns?: string;
  netlink?: Netlink;
}

/** A kernel route as the route manager sees it; null for types it does not manage (local, unreachable, ...). */
export function toKernelRoute(r: ListedRoute): KernelRoute | null {
  if (r.type !== 'unicast' && r.type !== 'blackhole') return null;
  const out: KernelRoute = { dst: r.dst, type: r.type, protocol: r.protocol, table: r.table };
  if (r.gateway !== undefined) out.gateway = r.gateway;
  if (r.ifName !== undefined) out.ifName = r.ifName;
  if (r.ifindex !== undefined) out.ifindex = r.ifindex;
  if (r.onlink) out.onlink = true;
  if (r.scope === 'link' || r.scope === 'universe') out.scope = r.scope;
  return out;
}

/**
 * The netlink route for a KernelRoute (ifName resolved by the netlink layer): the route
 * itself when it has that shape already (no index next to a name, a table, and a blackhole
 * with nothing but its destination), else a copy with only what the write takes.
 */
export function fromKernelRoute(r: KernelRoute): RouteWrite {
  if (r.ifindex === undefined && r.table !== undefined && (r.type === 'unicast' || (r.gateway === undefined && r.ifName === undefined && !r.onlink))) return r;
  const w: RouteWrite = { dst: r.dst, type: r.type, protocol: r.protocol, table: r.table ?? MAIN_ROUTE_TABLE };
  if (r.type === 'unicast') {
    if (r.gateway !== undefined) w.gateway = r.gateway;
    if (r.ifName !== undefined) w.ifName = r.ifName;
    else if (r.ifindex !== undefined) w.ifindex = r.ifindex;
    if (r.onlink) w.onlink = true;
  }
  if (r.scope !== undefined) w.scope = r.scope;
  return w;
}

export class NetlinkRouteKernel implements RouteKernel {
  readonly #netlink: Netlink;
  readonly #netns: string | undefined;

  constructor(opts: NetlinkRouteKernelOptions = {}) {
    this.#netlink = opts.netlink ?? new Netlink();
    this.#netns = opts.netns;
  }

  async listRoutes(filter: ListRoutesFilter): Promise<KernelRoute[]> {
    const routes = this.#netlink.routes.list({
      table: filter.table ?? MAIN_ROUTE_TABLE,
      ...(filter.protocol !== undefined ? { protocol: filter.protocol } : {}),
      ...this.#ns(),
    });
    const out: KernelRoute[] = [];
    for (const r of routes) {
      // tos != 0 routes live in other slots than the ones we write; leave them out.
      if (r.tos !== 0) continue;
      const k = toKernelRoute(r);
      if (k) out.push(k);
    }
    return out;
  }

  async replaceRoute(route: KernelRoute): Promise<void> {
    this.#netlink.routes.replace(fromKernelRoute(route), this.#ns());
  }

  async deleteRoute(route: KernelRoute): Promise<void> {
    // Matched on table, dst and protocol only: the slot is ours whatever it points at now.
    try {
      this.#netlink.routes.delete({ dst: route.dst, protocol: route.protocol, table: route.table ?? MAIN_ROUTE_TABLE }, this.#ns());
    } catch (err) {
      if (isErrno(err, 'ESRCH')) return;
      throw err;
    }
  }

  /**
   * The whole batch through one native call (NetlinkRoutes.writeBatch: one socket, several
   * messages per syscall, on a worker thread). Deletes match table, dst and protocol, as
   * deleteRoute does; each op settles on its own.
   */
  async writeRoutes(ops: readonly RouteWriteOp[]): Promise<RouteWriteResult[]> {
    return this.#netlink.routes.writeBatch(
      ops.map((o) => {
        if (o.op === 'delete') return { op: 'delete', route: { dst: o.route.dst, protocol: o.route.protocol, table: o.route.table ?? MAIN_ROUTE_TABLE } };
        // The route managers' routes are already what a write takes: pass them on (100,000
        // copies of a learned table are garbage the agent does not need).
        const w = fromKernelRoute(o.route);
        return w === o.route ? o : { op: o.op, route: w };
      }),
      this.#ns(),
    );
  }

  #ns(): { netns?: string } {
    return this.#netns !== undefined ? { netns: this.#netns } : {};
  }
}
