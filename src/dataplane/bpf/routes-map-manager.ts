/**
 * Keeps the `routes` map equal to the RouteUpdates received (felix's route manager, for a
 * BPF map instead of the kernel's table). onUpdate records; apply turns each route into a
 * map entry and reconciles the map (map-reconciler.ts), deleting unwanted entries only
 * after InSync. A route that cannot be programmed yet (its interface is not there) stays
 * pending and is retried by the next apply; a route this dataplane cannot express (VXLAN)
 * is reported and left to the kernel (no entry: packets to it pass to the kernel's routes).
 *
 * Routes of type `bgp` (learned from BGP peers, outside the pools) get no entry either, on
 * purpose: a destination the map does not know is passed to the kernel by every program,
 * so those routes are the kernel's business. The agent runs a legacy RouteManager limited
 * to `bgp` routes next to the BpfDataplane (src/agent/bgp.ts, withBgpKernelRoutes), which
 * programs them as kernel routes via their next hop.
 */
import type { Logger } from '../../log/logger.js';
import { ManagerApplyError, type ApplyFailure, type Manager } from '../driver.js';
import type { DataplaneMessage, RouteUpdate } from '../messages.js';
import { ROUTE_FLAG, ROUTE_TYPE, routeKey, routeKeyOf, routeValue, type RouteValue } from './codecs/routes.js';
import type { DataplaneMap } from './kernel.js';
import { readEntries, reconcileMap } from './map-reconciler.js';

export interface RoutesMapManagerOptions {
  /** The `routes` map (the dataplane object is loaded lazily, so this is a getter). */
  map: () => DataplaneMap;
  /** ifindex of a workload's host-side interface, or null when it does not exist (yet). */
  ifindex: (name: string) => number | null;
  nodeIPv4: string;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

type Plan = { kind: 'entry'; value: RouteValue } | { kind: 'kernel' } | { kind: 'fail'; code: string; message: string };

const MANAGER = 'bpf-routes';

export class RoutesMapManager implements Manager {
  readonly name = MANAGER;
  private readonly desired = new Map<string, RouteUpdate>();
  private inSync = false;
  /** Something changed (or failed) since the map last matched: the next apply must look. */
  private dirty = true;

  constructor(private readonly opts: RoutesMapManagerOptions) {}

  onUpdate(msg: DataplaneMessage): void {
    if (msg.type === 'RouteUpdate') this.desired.set(msg.dst, msg);
    else if (msg.type === 'RouteRemove') this.desired.delete(msg.dst);
    else if (msg.type === 'InSync') this.inSync = true;
    else return;
    this.dirty = true;
  }

  requestResync(): void {
    this.dirty = true;
  }

  /** What a RouteUpdate becomes in the map (pure, exported for tests). */
  plan(r: RouteUpdate): Plan {
    switch (r.routeType) {
      case 'local-workload': {
        if (!r.iface) return { kind: 'fail', code: 'ROUTE_NO_IFACE', message: `route ${r.dst}: local-workload route without an interface` };
        const ifindex = this.opts.ifindex(r.iface);
        if (ifindex === null) return { kind: 'fail', code: 'IFACE_MISSING', message: `route ${r.dst}: interface ${r.iface} does not exist (yet); retrying` };
        return { kind: 'entry', value: { type: ROUTE_TYPE['local-workload'], flags: 0, ifindex, next_hop: '0.0.0.0' } };
      }
      case 'local-block':
        return { kind: 'entry', value: { type: ROUTE_TYPE.blackhole, flags: 0, ifindex: 0, next_hop: '0.0.0.0' } };
      case 'remote-block':
      case 'remote-workload': {
        if (!r.nextHop) return { kind: 'fail', code: 'ROUTE_NO_NEXT_HOP', message: `route ${r.dst}: remote route without a next hop` };
        if (r.encap === 'vxlan') {
          return { kind: 'fail', code: 'VXLAN_UNSUPPORTED', message: `route ${r.dst}: VXLAN encapsulation is not in the bpf dataplane yet; set the pool's vxlanMode to Never and use ipipMode` };
        }
        return { kind: 'entry', value: { type: ROUTE_TYPE.remote, flags: r.encap === 'ipip' ? ROUTE_FLAG.ipip : 0, ifindex: 0, next_hop: r.nextHop } };
      }
      case 'bgp':
        return { kind: 'kernel' };
      case 'host': {
        const addr = r.dst.split('/')[0];
        return { kind: 'entry', value: { type: ROUTE_TYPE.host, flags: addr === this.opts.nodeIPv4 ? ROUTE_FLAG.thisNode : 0, ifindex: 0, next_hop: '0.0.0.0' } };
      }
    }
  }

  async apply(): Promise<void> {
    if (!this.dirty) return;
    const failures: ApplyFailure[] = [];
    const want = new Map<string, Buffer>();
    const pendingKeys = new Set<string>();
    for (const r of this.desired.values()) {
      const hex = routeKey.encode(routeKeyOf(r.dst)).toString('hex');
      const p = this.plan(r);
      if (p.kind === 'entry') want.set(hex, routeValue.encode(p.value));
      else if (p.kind === 'kernel') continue; // no entry: the sweep removes one left from before
      else {
        failures.push({ manager: MANAGER, item: `route ${r.dst}`, code: p.code, message: p.message });
        pendingKeys.add(hex);
      }
    }
    const map = this.opts.map();
    // A wanted route that cannot be programmed keeps whatever entry it had: an older entry
    // is likelier to deliver than none.
    if (pendingKeys.size > 0) {
      for (const { key, value } of readEntries(map)) {
        const hex = key.toString('hex');
        if (pendingKeys.has(hex) && !Array.isArray(value)) want.set(hex, value);
      }
    }
    const res = reconcileMap(map, want, { sweep: this.inSync });
    for (const f of res.failed) {
      const k = routeKey.decode(Buffer.from(f.key, 'hex'));
      failures.push({ manager: MANAGER, item: `route ${k.addr}/${k.prefixlen}`, code: 'ROUTE_MAP_WRITE_FAILED', message: `routes map: ${(f.error as Error).message}` });
    }
    if (res.written + res.deleted > 0) this.opts.logger?.info({ written: res.written, deleted: res.deleted }, 'bpf routes map updated');
    this.dirty = failures.length > 0;
    if (failures.length > 0) throw new ManagerApplyError(MANAGER, failures);
  }
}
