/**
 * The legacy dataplane's kernel-route manager.
 *
 * `onUpdate` records desired routes from RouteUpdate/RouteRemove (no I/O). `apply` reads
 * the routing table, then:
 *  - programs every desired route that is missing or differs (replace);
 *  - once the driver is in sync, deletes routes carrying OUR protocol number that nothing
 *    wants any more (mark and sweep: a restarted agent adopts the routes a previous run
 *    left, rewrites only those that differ and removes only the unwanted);
 *  - never touches a route of another protocol: if one holds a destination we want and
 *    forwards differently, that is reported as a conflict, not overwritten.
 * Before InSync nothing is deleted: a restarting agent has not yet been told about every
 * route, and deleting what it has not heard of would drop live traffic.
 *
 * Routes of type `bgp` (learned by the speaker, outside the pools) go via their next hop
 * on whatever device the kernel finds for it. Unlike cluster routes they defer to the
 * host's own routes: a destination another protocol holds (the node's DHCP default, a
 * static route) is left alone without a conflict, because the operator's configuration
 * outranks what a peer advertises.
 *
 * `routeTypes` restricts the manager to some route types; the bpf dataplane runs one for
 * `bgp` routes only, since its programs pass destinations they do not know to the kernel.
 *
 * Every failure stays pending and is retried by the next apply; `apply` rejects with a
 * ManagerApplyError listing them after doing everything else it could. Each distinct
 * failure is logged once when it starts and once when it clears, not on every retry.
 */
import type { Logger } from '../../log/logger.js';
import { ManagerApplyError, type ApplyFailure, type Manager } from '../driver.js';
import type { DataplaneMessage, RouteType, RouteUpdate } from '../messages.js';
import {
  MAIN_ROUTE_TABLE,
  TABBY_ROUTE_PROTOCOL,
  describeKernelRoute,
  sameForwarding,
  type IpipProbe,
  type KernelRoute,
  type RouteKernel,
} from './route-kernel.js';

export interface RouteManagerOptions {
  kernel: RouteKernel;
  /** Probed on each apply that has IPIP routes to program (the module may be loaded later). */
  hasIpipModule: IpipProbe;
  protocol?: number;
  table?: number;
  /** Device for unencapsulated routes to other nodes; when absent the kernel picks by gateway. */
  uplinkIfName?: string;
  /** The kernel's IPIP device (created by the ipip module). */
  ipipIfName?: string;
  /**
   * Only these route types are this manager's (messages about others are ignored, and the
   * sweep then removes routes of our protocol that are not of these types); default all.
   */
  routeTypes?: readonly RouteType[];
  /** Manager name in apply reports (default `routes`). */
  name?: string;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** What a desired route turns into: a kernel route, nothing (not the kernel's business), or a failure. */
type Plan = { kind: 'route'; route: KernelRoute } | { kind: 'none' } | { kind: 'fail'; code: string; message: string };

const MANAGER = 'routes';

export class RouteManager implements Manager {
  readonly name: string;
  private readonly desired = new Map<string, RouteUpdate>();
  private inSync = false;
  private dirty = true;
  private readonly protocol: number;
  private readonly table: number;
  private readonly ipipIfName: string;
  /** `item\0code` of the failures of the last apply, to log transitions only. */
  private failing = new Map<string, ApplyFailure>();
  /** Learned (bgp) destinations left to a foreign route, to log once each. */
  private deferred = new Set<string>();
  private readonly routeTypes: ReadonlySet<RouteType> | undefined;

  constructor(private readonly opts: RouteManagerOptions) {
    this.protocol = opts.protocol ?? TABBY_ROUTE_PROTOCOL;
    this.table = opts.table ?? MAIN_ROUTE_TABLE;
    this.ipipIfName = opts.ipipIfName ?? 'tunl0';
    this.routeTypes = opts.routeTypes ? new Set(opts.routeTypes) : undefined;
    this.name = opts.name ?? MANAGER;
  }

  onUpdate(msg: DataplaneMessage): void {
    switch (msg.type) {
      case 'RouteUpdate':
        // A route that changed to a type not ours is no longer ours to program.
        if (this.routeTypes && !this.routeTypes.has(msg.routeType)) {
          if (!this.desired.delete(msg.dst)) return;
        } else {
          this.desired.set(msg.dst, msg);
        }
        break;
      case 'RouteRemove':
        this.desired.delete(msg.dst);
        break;
      case 'InSync':
        this.inSync = true;
        break;
      default:
        return;
    }
    this.dirty = true;
  }

  /** Forces the next apply to re-read the kernel even if nothing changed (periodic repair). */
  requestResync(): void {
    this.dirty = true;
  }

  /** Desired routes (for status output and tests). */
  desiredRoutes(): RouteUpdate[] {
    return [...this.desired.values()];
  }

  async apply(): Promise<void> {
    if (!this.dirty && this.failing.size === 0) return;
    this.dirty = false;
    const failures: ApplyFailure[] = [];
    let kernelRoutes: KernelRoute[];
    try {
      kernelRoutes = await this.opts.kernel.listRoutes({ table: this.table });
    } catch (err) {
      this.dirty = true;
      throw err;
    }
    const ours = new Map<string, KernelRoute>();
    const foreign = new Map<string, KernelRoute>();
    for (const r of kernelRoutes) (r.protocol === this.protocol ? ours : foreign).set(r.dst, r);

    const plans = await this.plan();
    const keep = new Set<string>();
    const ipipBlocked: string[] = [];
    const deferred = new Set<string>();
    for (const [dst, plan] of plans) {
      if (plan.kind === 'none') continue;
      // A destination we want but cannot program keeps whatever route of ours it has:
      // an outdated route is likelier to deliver than none.
      keep.add(dst);
      if (plan.kind === 'fail') {
        if (plan.code === 'IPIP_MODULE_MISSING') ipipBlocked.push(dst);
        else failures.push({ manager: this.name, item: `route ${dst}`, code: plan.code, message: plan.message });
        continue;
      }
      const want = plan.route;
      const have = ours.get(dst);
      if (have && sameForwarding(want, have)) continue;
      const other = foreign.get(dst);
      if (!have && other) {
        if (sameForwarding(want, other)) continue;
        if (this.desired.get(dst)?.routeType === 'bgp') {
          deferred.add(dst);
          if (!this.deferred.has(dst)) this.opts.logger?.info({ op: 'route', item: `route ${dst}` }, `learned route ${dst} via ${want.gateway} not programmed: the host's own route (${describeKernelRoute(other)}) holds that destination and takes precedence`);
          continue;
        }
        failures.push({
          manager: this.name,
          item: `route ${dst}`,
          code: 'ROUTE_CONFLICT',
          message: `route ${dst} is held by protocol ${other.protocol} (${describeKernelRoute(other)}) and tabby leaves other owners' routes alone; delete it (ip route del ${dst} proto ${other.protocol}) if tabby should own it`,
        });
        continue;
      }
      try {
        await this.opts.kernel.replaceRoute(want);
      } catch (err) {
        failures.push({ manager: this.name, item: `route ${dst}`, code: 'ROUTE_REPLACE_FAILED', message: `cannot program ${describeKernelRoute(want)}: ${(err as Error).message}` });
      }
    }
    if (ipipBlocked.length > 0) {
      // One line for all of them: the cause and the fix are the same.
      failures.push({
        manager: this.name,
        item: 'ipip',
        code: 'IPIP_MODULE_MISSING',
        message: `${ipipBlocked.length} route(s) need IPIP (first ${ipipBlocked[0]}) but this kernel has no ipip module (no ${this.ipipIfName}); load it with "modprobe ipip", or run the agent with --dataplane bpf, which encapsulates in BPF and needs no module`,
      });
    }

    if (this.inSync) {
      for (const [dst, r] of ours) {
        if (keep.has(dst)) continue;
        try {
          await this.opts.kernel.deleteRoute(r);
        } catch (err) {
          failures.push({ manager: this.name, item: `route ${dst}`, code: 'ROUTE_DELETE_FAILED', message: `cannot delete stale ${describeKernelRoute(r)}: ${(err as Error).message}` });
        }
      }
    }

    this.deferred = deferred;
    this.report(failures);
    if (failures.length > 0) throw new ManagerApplyError(this.name, failures);
  }

  private async plan(): Promise<Map<string, Plan>> {
    const plans = new Map<string, Plan>();
    let ipip: boolean | undefined;
    for (const u of this.desired.values()) {
      let plan = this.toKernel(u);
      if (plan.kind === 'route' && u.encap === 'ipip') {
        ipip ??= await this.opts.hasIpipModule().catch(() => false);
        if (!ipip) plan = { kind: 'fail', code: 'IPIP_MODULE_MISSING', message: 'no ipip module' };
      }
      plans.set(u.dst, plan);
    }
    return plans;
  }

  private toKernel(u: RouteUpdate): Plan {
    const base = { dst: u.dst, protocol: this.protocol, table: this.table };
    switch (u.routeType) {
      case 'host':
        // A node's own address is reached by the underlay's routes, not ours.
        return { kind: 'none' };
      case 'local-block':
        return { kind: 'route', route: { ...base, type: 'blackhole' } };
      case 'local-workload':
        if (!u.iface) return { kind: 'fail', code: 'ROUTE_INCOMPLETE', message: `local workload route ${u.dst} names no interface` };
        return { kind: 'route', route: { ...base, type: 'unicast', ifName: u.iface, scope: 'link' } };
      case 'bgp':
        if (!u.nextHop) return { kind: 'fail', code: 'ROUTE_INCOMPLETE', message: `learned route ${u.dst} has no next hop` };
        // Never encapsulated; the kernel finds the device for the next hop (it may not be the uplink).
        return { kind: 'route', route: { ...base, type: 'unicast', gateway: u.nextHop, scope: 'universe' } };
      case 'remote-block':
      case 'remote-workload':
        if (!u.nextHop) return { kind: 'fail', code: 'ROUTE_INCOMPLETE', message: `route ${u.dst} to node ${u.dstNode ?? '?'} has no next hop (the node has no IPv4 address)` };
        if (u.encap === 'vxlan') {
          return { kind: 'fail', code: 'VXLAN_UNSUPPORTED', message: `route ${u.dst} needs VXLAN, which the legacy dataplane does not program yet; use --dataplane bpf or an IPIP/unencapsulated pool` };
        }
        if (u.encap === 'ipip') {
          return { kind: 'route', route: { ...base, type: 'unicast', gateway: u.nextHop, ifName: this.ipipIfName, onlink: true, scope: 'universe' } };
        }
        return {
          kind: 'route',
          route: { ...base, type: 'unicast', gateway: u.nextHop, scope: 'universe', ...(this.opts.uplinkIfName ? { ifName: this.opts.uplinkIfName } : {}) },
        };
    }
  }

  private report(failures: ApplyFailure[]): void {
    const now = new Map(failures.map((f) => [`${f.item}\0${f.code}`, f]));
    const log = this.opts.logger;
    for (const [k, f] of now) {
      if (this.failing.has(k)) continue;
      if (f.code === 'IPIP_MODULE_MISSING') log?.error({ op: 'route', code: f.code }, f.message);
      else log?.warn({ op: 'route', code: f.code, item: f.item }, f.message);
    }
    for (const [k, f] of this.failing) if (!now.has(k)) log?.info({ op: 'route', code: f.code, item: f.item }, `resolved: ${f.item}`);
    this.failing = now;
  }
}
