/**
 * An in-memory RouteKernel for unit tests, modelled on Linux: a route is identified by
 * (table, dst) (tos and metric are always 0 here), replace overwrites whatever holds that
 * slot whatever its protocol, and a route through a device needs the device to exist.
 * Test hooks: `addLink`/`removeLink`, `failOn(dst, op, errno)` until cleared (a `replace`
 * fault also fails `create`), and `ops`, the log of every mutating call.
 */
import { EEXIST, MAIN_ROUTE_TABLE, type KernelRoute, type ListRoutesFilter, type RouteKernel, type RouteWriteOp, type RouteWriteResult } from './route-kernel.js';

export type RouteOp = 'replace' | 'create' | 'delete';

export class KernelOpError extends Error {
  constructor(
    readonly op: RouteOp,
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

const ENODEV = 19;

export class MemoryRouteKernel implements RouteKernel {
  private readonly routes = new Map<string, KernelRoute>();
  private readonly links = new Map<string, number>();
  private nextIfindex = 2;
  private readonly faults = new Map<string, number>();
  readonly ops: { op: RouteOp; dst: string }[] = [];

  constructor(opts: { links?: string[] } = {}) {
    for (const l of opts.links ?? []) this.addLink(l);
  }

  addLink(name: string): void {
    if (!this.links.has(name)) this.links.set(name, this.nextIfindex++);
  }

  removeLink(name: string): void {
    const idx = this.links.get(name);
    this.links.delete(name);
    // Like the kernel: routes through a vanished device vanish with it.
    for (const [k, r] of this.routes) if (r.ifindex === idx) this.routes.delete(k);
  }

  /** Every `op` on `dst` fails with `errno` until `clearFaults`. */
  failOn(dst: string, op: RouteOp, errno: number): void {
    this.faults.set(`${op} ${dst}`, errno);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Puts a route in place directly (another daemon's, or one left by a previous agent). */
  seed(route: KernelRoute): void {
    this.routes.set(this.slot(route), this.withIndex(route));
  }

  /** Current routes, sorted by dst, for assertions. */
  dump(table = MAIN_ROUTE_TABLE): KernelRoute[] {
    return [...this.routes.values()].filter((r) => (r.table ?? MAIN_ROUTE_TABLE) === table).sort((a, b) => a.dst.localeCompare(b.dst));
  }

  get(dst: string, table = MAIN_ROUTE_TABLE): KernelRoute | undefined {
    return this.routes.get(`${table} ${dst}`);
  }

  async listRoutes(filter: ListRoutesFilter): Promise<KernelRoute[]> {
    return this.dump(filter.table ?? MAIN_ROUTE_TABLE)
      .filter((r) => filter.protocol === undefined || r.protocol === filter.protocol)
      .map((r) => ({ ...r }));
  }

  async replaceRoute(route: KernelRoute): Promise<void> {
    this.ops.push({ op: 'replace', dst: route.dst });
    this.fault('replace', route);
    if (route.ifName !== undefined && !this.links.has(route.ifName)) {
      throw new KernelOpError('replace', ENODEV, `replace route ${route.dst}: device ${route.ifName} does not exist (ENODEV)`);
    }
    this.routes.set(this.slot(route), this.withIndex(route));
  }

  /**
   * Like the kernel with NLM_F_EXCL: EEXIST when any route holds the slot. A `replace` fault
   * fails a create too: it stands for a route the kernel will not take (an unreachable next
   * hop), whichever flags the RTM_NEWROUTE carries.
   */
  async createRoute(route: KernelRoute): Promise<void> {
    this.ops.push({ op: 'create', dst: route.dst });
    this.fault('create', route);
    const refused = this.faults.get(`replace ${route.dst}`);
    if (refused !== undefined) throw new KernelOpError('create', refused, `create route ${route.dst}: injected failure (errno ${refused})`);
    if (this.routes.has(this.slot(route))) throw new KernelOpError('create', EEXIST, `create route ${route.dst}: the slot is taken (EEXIST)`);
    if (route.ifName !== undefined && !this.links.has(route.ifName)) {
      throw new KernelOpError('create', ENODEV, `create route ${route.dst}: device ${route.ifName} does not exist (ENODEV)`);
    }
    this.routes.set(this.slot(route), this.withIndex(route));
  }

  async writeRoutes(ops: readonly RouteWriteOp[]): Promise<RouteWriteResult[]> {
    const out: RouteWriteResult[] = [];
    for (const { op, route } of ops) {
      try {
        if (op === 'replace') await this.replaceRoute(route);
        else if (op === 'create') await this.createRoute(route);
        else await this.deleteRoute(route);
        out.push(undefined);
      } catch (err) {
        out.push(err as Error);
      }
    }
    return out;
  }

  async deleteRoute(route: KernelRoute): Promise<void> {
    this.ops.push({ op: 'delete', dst: route.dst });
    this.fault('delete', route);
    const have = this.routes.get(this.slot(route));
    if (have && have.protocol === route.protocol) this.routes.delete(this.slot(route));
  }

  private fault(op: RouteOp, route: KernelRoute): void {
    const errno = this.faults.get(`${op} ${route.dst}`);
    if (errno !== undefined) throw new KernelOpError(op, errno, `${op} route ${route.dst}: injected failure (errno ${errno})`);
  }

  private slot(r: KernelRoute): string {
    return `${r.table ?? MAIN_ROUTE_TABLE} ${r.dst}`;
  }

  private withIndex(r: KernelRoute): KernelRoute {
    const ifindex = r.ifName !== undefined ? this.links.get(r.ifName) : undefined;
    return { ...r, table: r.table ?? MAIN_ROUTE_TABLE, ...(ifindex !== undefined ? { ifindex } : {}) };
  }
}
