/**
 * The legacy dataplane (kernel routes now; iptables/ipset policy managers join later): fans
 * every message to each manager and applies them in order. It keeps no state of its own
 * beyond whether it has seen InSync.
 */
import type { Logger } from '../../log/logger.js';
import { applyManagers, type ApplyReport, type Dataplane, type Manager } from '../driver.js';
import type { DataplaneMessage } from '../messages.js';
import type { IpipProbe, RouteKernel } from './route-kernel.js';
import { RouteManager } from './route-manager.js';

export interface LegacyDataplaneOptions {
  routeKernel: RouteKernel;
  hasIpipModule: IpipProbe;
  uplinkIfName?: string;
  /** Route protocol and table; defaults TABBY_ROUTE_PROTOCOL and main. */
  routeProtocol?: number;
  routeTable?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export class LegacyDataplane implements Dataplane {
  private inSync = false;

  constructor(private readonly managers: readonly Manager[]) {}

  static create(opts: LegacyDataplaneOptions): LegacyDataplane {
    const routes = new RouteManager({
      kernel: opts.routeKernel,
      hasIpipModule: opts.hasIpipModule,
      ...(opts.uplinkIfName !== undefined ? { uplinkIfName: opts.uplinkIfName } : {}),
      ...(opts.routeProtocol !== undefined ? { protocol: opts.routeProtocol } : {}),
      ...(opts.routeTable !== undefined ? { table: opts.routeTable } : {}),
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
    });
    return new LegacyDataplane([routes]);
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

  apply(): Promise<ApplyReport> {
    return applyManagers(this.managers, this.inSync);
  }
}
