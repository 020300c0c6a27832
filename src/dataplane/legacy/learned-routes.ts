/**
 * Kernel routes for what BGP learned from peers (type `bgp`: a ToR's default, external
 * networks), in both dataplane modes.
 *
 * They carry their own route protocol (TABBY_LEARNED_ROUTE_PROTOCOL, 85) and have their own
 * RouteManager (`LearnedRoutesManager`, limited to `routeTypes: ['bgp']`), apart from the
 * cluster's routes (protocol 84). The reason is a restart: a RouteManager sweeps the routes
 * of its protocol that nobody wants on its first full pass after InSync, and InSync comes
 * from the datastore within a second while the BGP sessions take seconds to come back. One
 * manager for both would withdraw the ToR's routes from the kernel and add them back: an
 * outage for external traffic. So the learned manager is told InSync only once BGP has
 * converged as well (`onBgpConverged()`; the agent judges it with BgpConvergence): until
 * then it adopts what the previous run left (a full pass keeps the routes that are the
 * same) and programs what is learned, but removes nothing. Two managers with different
 * protocols never sweep each other's routes.
 *
 * The datastore's InSync also makes it re-read the kernel: the cluster manager (84) sweeps
 * on that same apply, before this one runs, and may free a destination this one deferred
 * to (a route an older agent programmed as 84, or a cluster route that is now a learned
 * one); without the re-read this manager would leave the destination empty until the next
 * periodic resync.
 *
 * Known gap: a destination that moves from learned to cluster while the sweep is held keeps
 * its protocol-85 route until convergence; the cluster manager reports ROUTE_CONFLICT for
 * it meanwhile (and retries), traffic follows the old learned route.
 *
 * The bpf dataplane's programs pass every destination the `routes` map does not know to the
 * kernel (RoutesMapManager gives `bgp` routes no entry on purpose), so in bpf mode too the
 * learned routes must be kernel routes: `withLearnedKernelRoutes(inner, ...)` is the inner
 * dataplane plus this manager, plus a sweeper of protocol-84 routes (in bpf mode tabby has
 * no cluster kernel routes in the node's namespace; ones a legacy run left are stale, the
 * programs redirect pod traffic before the kernel sees it). Every message goes to all of
 * them, an apply applies all and reports the failures of all. The legacy dataplane composes
 * the same manager next to its cluster RouteManager (legacy-dataplane.ts).
 */
import type { Logger } from '../../log/logger.js';
import { applyManagers, ManagerApplyError, type ApplyFailure, type ApplyReport, type Dataplane, type Manager } from '../driver.js';
import type { DataplaneMessage } from '../messages.js';
import { MAIN_ROUTE_TABLE, TABBY_LEARNED_ROUTE_PROTOCOL, TABBY_ROUTE_PROTOCOL, describeKernelRoute, type IpipProbe, type RouteKernel } from './route-kernel.js';
import { RouteManager } from './route-manager.js';

export const LEARNED_ROUTES_MANAGER = 'bgp-routes';
export const STALE_ROUTES_SWEEPER = 'stale-routes';

export interface LearnedRoutesOptions {
  routeKernel: RouteKernel;
  /** Never consulted (bgp routes are not encapsulated); the RouteManager wants one. */
  hasIpipModule?: IpipProbe;
  /** Default TABBY_LEARNED_ROUTE_PROTOCOL. */
  routeProtocol?: number;
  routeTable?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /**
   * Write-behind (the agent's choice; tests leave it off): apply() does not wait for the
   * kernel. It starts a pass of the learned RouteManager, or, while one runs, has another
   * follow it as soon as it ends, and reports the failures of the last pass that finished.
   * A full table arrives in a few hundred UPDATEs while earlier ones are still being
   * written; waiting would leave the kernel idle from the end of each pass until the apply
   * loop comes round again (behind whatever the event loop is doing), and the last batch
   * would be the biggest. `wake` is called when a pass ends with different failures than
   * the last, so the apply loop reports them (and retries them with its backoff).
   */
  writeBehind?: { wake(): void };
}

/** A dataplane that can be told that BGP has brought what it will after a start. */
export interface LearnedRoutesDataplane extends Dataplane {
  requestResync(): void;
  /** From now on the learned-routes manager may sweep (once the datastore is in sync too). Idempotent. */
  onBgpConverged(): void;
  /** Resolves once no write-behind pass is running (call after the apply loop stopped). */
  settled(): Promise<void>;
}

/**
 * The RouteManager of learned routes, with its sweep held until both the datastore is in
 * sync and BGP has converged.
 */
export class LearnedRoutesManager implements Manager {
  readonly name = LEARNED_ROUTES_MANAGER;
  readonly #routes: RouteManager;
  #datastoreInSync = false;
  #bgpConverged = false;
  #released = false;
  /** Whether a learned route was ever desired: until then (and the release) a pass would write nothing. */
  #heard = false;
  readonly #writeBehind: { wake(): void } | undefined;
  /** Write-behind: the pass running, whether another should follow it, the last one's failures. */
  #pass: Promise<void> | undefined;
  #passAgain = false;
  #outcome: ApplyFailure[] = [];
  #outcomeKey = '';

  constructor(opts: LearnedRoutesOptions) {
    this.#writeBehind = opts.writeBehind;
    this.#routes = new RouteManager({
      kernel: opts.routeKernel,
      hasIpipModule: opts.hasIpipModule ?? (async () => false),
      routeTypes: ['bgp'],
      name: LEARNED_ROUTES_MANAGER,
      protocol: opts.routeProtocol ?? TABBY_LEARNED_ROUTE_PROTOCOL,
      ...(opts.routeTable !== undefined ? { table: opts.routeTable } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }

  /** Whether routes of our protocol that nobody wants are removed now. */
  get sweeping(): boolean {
    return this.#released;
  }

  onUpdate(msg: DataplaneMessage): void {
    if (msg.type === 'RouteUpdate' && msg.routeType === 'bgp') this.#heard = true;
    if (msg.type !== 'InSync') return this.#routes.onUpdate(msg);
    if (this.#datastoreInSync) return;
    this.#datastoreInSync = true;
    // The cluster manager sweeps on this apply and may free destinations we deferred on.
    this.#routes.requestResync();
  }

  /** Called by the agent outside an apply; takes effect on the next one. */
  onBgpConverged(): void {
    this.#bgpConverged = true;
  }

  requestResync(): void {
    this.#routes.requestResync();
  }

  /** Desired routes (for status output and tests). */
  desiredRoutes(): ReturnType<RouteManager['desiredRoutes']> {
    return this.#routes.desiredRoutes();
  }

  apply(): Promise<void> {
    // Released here rather than in onBgpConverged so the manager's state changes only
    // between its applies, as with every other message.
    if (!this.#released && this.#datastoreInSync && this.#bgpConverged) {
      this.#released = true;
      this.#routes.onUpdate({ type: 'InSync' });
    }
    // Nothing desired and nothing to remove yet: skip the table dump (a start with BGP
    // still down, or a node without learned routes).
    if (!this.#heard && !this.#released) return Promise.resolve();
    if (!this.#writeBehind) return this.#routes.apply();
    this.#startPass();
    return this.#outcome.length > 0 ? Promise.reject(new ManagerApplyError(this.name, this.#outcome)) : Promise.resolve();
  }

  /** Resolves once no write-behind pass is running. */
  async settled(): Promise<void> {
    while (this.#pass) await this.#pass;
  }

  #startPass(): void {
    if (this.#pass) {
      this.#passAgain = true;
      return;
    }
    // The RouteManager takes messages during its own apply (what arrives is left for the
    // next pass), so sending goes on while a pass writes.
    this.#pass = this.#routes.apply().then(
      () => this.#passEnded([]),
      (err: unknown) => this.#passEnded(err instanceof ManagerApplyError ? err.failures : [{ manager: this.name, item: this.name, code: (err as { code?: string }).code ?? 'DATAPLANE_APPLY_FAILED', message: (err as Error).message ?? String(err) }]),
    );
  }

  #passEnded(failures: ApplyFailure[]): void {
    this.#pass = undefined;
    const key = failures.map((f) => `${f.item}\0${f.code}`).join('\n');
    const changed = key !== this.#outcomeKey;
    this.#outcome = failures;
    this.#outcomeKey = key;
    if (this.#passAgain) {
      this.#passAgain = false;
      this.#startPass();
    }
    if (changed) this.#writeBehind?.wake();
  }
}

/**
 * Removes every route of one protocol, on the first apply after InSync (until then a
 * restarting agent might still want them), and again only if that apply left some behind.
 * bpf mode uses it for protocol 84, which nothing programs there: such routes come from a
 * legacy run before this one, so a periodic resync has nothing to find, and each look
 * would cost a dump of the whole table (a full table of learned routes is 100,000).
 */
export class ProtocolSweeper implements Manager {
  readonly name = STALE_ROUTES_SWEEPER;
  #inSync = false;
  #due = false;

  constructor(private readonly o: { routeKernel: RouteKernel; protocol: number; table?: number; logger?: Pick<Logger, 'info'> }) {}

  onUpdate(msg: DataplaneMessage): void {
    if (msg.type !== 'InSync' || this.#inSync) return;
    this.#inSync = true;
    this.#due = true;
  }

  async apply(): Promise<void> {
    if (!this.#due) return;
    const table = this.o.table ?? MAIN_ROUTE_TABLE;
    const stale = await this.o.routeKernel.listRoutes({ protocol: this.o.protocol, table });
    this.#due = false;
    if (stale.length === 0) return;
    const results = await this.o.routeKernel.writeRoutes(stale.map((route) => ({ op: 'delete' as const, route })));
    const failures = stale.flatMap((r, i) => {
      const err = results[i];
      return err ? [{ manager: this.name, item: `route ${r.dst}`, code: 'ROUTE_DELETE_FAILED', message: `cannot delete stale ${describeKernelRoute(r)}: ${err.message}` }] : [];
    });
    this.o.logger?.info({ op: 'route', protocol: this.o.protocol, removed: stale.length - failures.length }, `removed ${stale.length - failures.length} stale route(s) of protocol ${this.o.protocol}`);
    if (failures.length > 0) {
      this.#due = true;
      throw new ManagerApplyError(this.name, failures);
    }
  }
}

class WithLearnedKernelRoutes<D extends Dataplane> implements LearnedRoutesDataplane {
  readonly #learned: LearnedRoutesManager;
  readonly #managers: readonly Manager[];
  #inSync = false;

  constructor(
    readonly inner: D & { requestResync?(): void },
    opts: LearnedRoutesOptions,
  ) {
    this.#learned = new LearnedRoutesManager(opts);
    const sweeper = new ProtocolSweeper({
      routeKernel: opts.routeKernel,
      protocol: TABBY_ROUTE_PROTOCOL,
      ...(opts.routeTable !== undefined ? { table: opts.routeTable } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    // The sweeper first: an older agent's protocol-84 learned routes go, then the learned
    // manager (re-reading the kernel after InSync) programs them again as 85.
    this.#managers = [sweeper, this.#learned];
  }

  send(msgs: DataplaneMessage[]): void {
    this.inner.send(msgs);
    for (const m of msgs) {
      if (m.type === 'InSync') this.#inSync = true;
      for (const mgr of this.#managers) mgr.onUpdate(m);
    }
  }

  requestResync(): void {
    this.inner.requestResync?.();
    for (const m of this.#managers) m.requestResync?.();
  }

  onBgpConverged(): void {
    this.#learned.onBgpConverged();
  }

  settled(): Promise<void> {
    return this.#learned.settled();
  }

  async apply(): Promise<ApplyReport> {
    const first = await this.inner.apply();
    // inSync means the datastore's: a held learned sweep must not hold readiness too.
    const mine = await applyManagers(this.#managers, this.#inSync);
    return { inSync: first.inSync && mine.inSync, failures: [...first.failures, ...mine.failures] };
  }
}

export function withLearnedKernelRoutes<D extends Dataplane>(inner: D & { requestResync?(): void }, opts: LearnedRoutesOptions): LearnedRoutesDataplane {
  return new WithLearnedKernelRoutes(inner, opts);
}
