/**
 * The legacy dataplane (kernel routes now; iptables/ipset policy managers join later): fans
 * every message to each manager and applies them in order. It keeps no state of its own
 * beyond whether it has seen InSync.
 *
 * Kernel routes are two managers with two protocols: the cluster's routes (every type but
 * `bgp`, protocol 84) and the routes BGP learned from peers (`bgp`, protocol 85), whose
 * sweep after a restart waits for `onBgpConverged()` (learned-routes.ts says why). The
 * cluster manager applies first: when it sweeps a destination the learned one deferred on
 * (an older agent's protocol-84 learned route), the learned one claims it in the same apply.
 */
import type { Logger } from '../../log/logger.js';
import { applyManagers, type ApplyReport, type Manager } from '../driver.js';
import type { DataplaneMessage, RouteType } from '../messages.js';
import { LearnedRoutesManager, type LearnedRoutesDataplane, type LearnedRoutesOptions } from './learned-routes.js';
import type { IpipProbe, RouteKernel } from './route-kernel.js';
import { RouteManager } from './route-manager.js';

export interface LegacyDataplaneOptions {
  routeKernel: RouteKernel;
  hasIpipModule: IpipProbe;
  uplinkIfName?: string;
  /** Route protocol and table; defaults TABBY_ROUTE_PROTOCOL and main. */
  routeProtocol?: number;
  /** Protocol of learned (`bgp`) routes; default TABBY_LEARNED_ROUTE_PROTOCOL. */
  learnedRouteProtocol?: number;
  routeTable?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Learned routes are written behind the apply loop (see LearnedRoutesOptions.writeBehind). */
  learnedWriteBehind?: LearnedRoutesOptions['writeBehind'];
}

/** Every route type but `bgp`; a Record so a new RouteType fails to compile until placed. */
const CLUSTER_ROUTE_TYPES: Record<Exclude<RouteType, 'bgp'>, true> = { 'local-workload': true, 'local-block': true, 'remote-block': true, 'remote-workload': true, host: true };

export class LegacyDataplane implements LearnedRoutesDataplane {
  private inSync = false;

  constructor(
    private readonly managers: readonly Manager[],
    private readonly learned?: Pick<LearnedRoutesManager, 'onBgpConverged' | 'settled'>,
  ) {}

  static create(opts: LegacyDataplaneOptions): LegacyDataplane {
    const routes = new RouteManager({
      kernel: opts.routeKernel,
      hasIpipModule: opts.hasIpipModule,
      routeTypes: Object.keys(CLUSTER_ROUTE_TYPES) as RouteType[],
      ...(opts.uplinkIfName !== undefined ? { uplinkIfName: opts.uplinkIfName } : {}),
      ...(opts.routeProtocol !== undefined ? { protocol: opts.routeProtocol } : {}),
      ...(opts.routeTable !== undefined ? { table: opts.routeTable } : {}),
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
    });
    const learned = new LearnedRoutesManager({
      routeKernel: opts.routeKernel,
      hasIpipModule: opts.hasIpipModule,
      ...(opts.learnedRouteProtocol !== undefined ? { routeProtocol: opts.learnedRouteProtocol } : {}),
      ...(opts.routeTable !== undefined ? { routeTable: opts.routeTable } : {}),
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
      ...(opts.learnedWriteBehind !== undefined ? { writeBehind: opts.learnedWriteBehind } : {}),
    });
    return new LegacyDataplane([routes, learned], learned);
  }

  send(msgs: DataplaneMessage[]): void {
    for (const msg of msgs) {
      if (msg.type === 'InSync') this.inSync = true;
      for (const m of this.managers) m.onUpdate(msg);
    }
  }

  /** The next apply re-reads the kernel in every manager (call it periodically to repair tampering). */
  requestResync(): void {
    for (const m of this.managers) m.requestResync?.();
  }

  /** BGP has brought what it will after the start: the learned routes' sweep may run. */
  onBgpConverged(): void {
    this.learned?.onBgpConverged();
  }

  settled(): Promise<void> {
    return this.learned?.settled() ?? Promise.resolve();
  }

  apply(): Promise<ApplyReport> {
    // inSync is the datastore's: a held learned sweep does not hold readiness.
    return applyManagers(this.managers, this.inSync);
  }
}
