/**
 * Kernel routes for what BGP learned, next to a dataplane that does not program them.
 *
 * The bpf dataplane's programs pass every destination the `routes` map does not know to
 * the kernel (RoutesMapManager gives `bgp` routes no entry on purpose), so in bpf mode the
 * routes learned from peers (a ToR's default, external networks) must still be kernel
 * routes. `withLearnedKernelRoutes(inner, ...)` is the inner dataplane plus a legacy
 * RouteManager limited to `routeType: 'bgp'`: every message goes to both, an apply applies
 * both and reports the failures of both. The legacy dataplane needs none of this (its own
 * RouteManager already programs `bgp` routes).
 *
 * The extra manager sweeps routes of tabby's protocol that are not `bgp` routes; in bpf
 * mode tabby has no other kernel routes in the node's namespace, and ones a legacy run
 * left behind are stale there (the programs redirect pod traffic before the kernel sees it).
 */
import type { Logger } from '../../log/logger.js';
import { applyManagers, type ApplyReport, type Dataplane, type Manager } from '../driver.js';
import type { DataplaneMessage } from '../messages.js';
import type { IpipProbe, RouteKernel } from './route-kernel.js';
import { RouteManager } from './route-manager.js';

export interface LearnedKernelRoutesOptions {
  routeKernel: RouteKernel;
  /** Never consulted (bgp routes are not encapsulated); the RouteManager wants one. */
  hasIpipModule?: IpipProbe;
  routeProtocol?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export const LEARNED_ROUTES_MANAGER = 'bgp-routes';

class WithLearnedKernelRoutes<D extends Dataplane> implements Dataplane {
  readonly #routes: Manager;
  #inSync = false;

  constructor(
    readonly inner: D & { requestResync?(): void },
    opts: LearnedKernelRoutesOptions,
  ) {
    this.#routes = new RouteManager({
      kernel: opts.routeKernel,
      hasIpipModule: opts.hasIpipModule ?? (async () => false),
      routeTypes: ['bgp'],
      name: LEARNED_ROUTES_MANAGER,
      ...(opts.routeProtocol !== undefined ? { protocol: opts.routeProtocol } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }

  send(msgs: DataplaneMessage[]): void {
    this.inner.send(msgs);
    for (const m of msgs) {
      if (m.type === 'InSync') this.#inSync = true;
      this.#routes.onUpdate(m);
    }
  }

  requestResync(): void {
    this.inner.requestResync?.();
    this.#routes.requestResync?.();
  }

  async apply(): Promise<ApplyReport> {
    const first = await this.inner.apply();
    const mine = await applyManagers([this.#routes], this.#inSync);
    return { inSync: first.inSync && mine.inSync, failures: [...first.failures, ...mine.failures] };
  }
}

export function withLearnedKernelRoutes<D extends Dataplane>(inner: D & { requestResync?(): void }, opts: LearnedKernelRoutesOptions): Dataplane & { requestResync(): void } {
  return new WithLearnedKernelRoutes(inner, opts);
}
