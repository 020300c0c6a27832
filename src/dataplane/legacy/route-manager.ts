/**
 * The legacy dataplane's kernel-route manager.
 *
 * `onUpdate` records desired routes from RouteUpdate/RouteRemove and marks their
 * destinations pending (no I/O). `apply` makes the kernel match, by one of two passes:
 *
 * Full pass (today's mark and sweep): dump the table, then
 *  - program every desired route that is missing or differs (replace);
 *  - once the driver is in sync, delete routes carrying OUR protocol number that nothing
 *    wants any more (a restarted agent adopts the routes a previous run left, rewrites only
 *    those that differ and removes only the unwanted);
 *  - never touch a route of another protocol: if one holds a destination we want and
 *    forwards differently, that is reported as a conflict, not overwritten.
 * It runs on the first apply, after `requestResync()`, on the first apply after InSync (the
 * sweep), and whenever the incremental pass finds its picture of the kernel wrong.
 *
 * Incremental pass (every other apply): only the pending destinations and those that failed
 * last time, with no dump. It decides from a view of the table (our routes and other
 * owners' by destination) that the last full pass read and our own successful writes keep
 * current, so 100,000 learned routes arriving in 200 batches cost O(batch) each, not
 * O(table). Per destination it decides as the full pass does, with one difference: a
 * destination not known to be ours is claimed with `create` (NLM_F_EXCL), which cannot
 * overwrite. EEXIST on a destination the view thought empty means another owner's route
 * appeared since the dump; the view is wrong, so the same apply falls back to a full pass,
 * which sees that route and defers or reports a conflict. On a destination the view says
 * another owner holds, `create` is how a retry finds out whether that route went away.
 * What the incremental pass cannot see until the next resync (the agent asks for one
 * periodically): our routes deleted or replaced behind our back, and another owner's route
 * that went away from a destination we defer on or that now forwards like ours.
 *
 * Before InSync nothing is swept: a restarting agent has not yet been told about every
 * route, and deleting what it has not heard of would drop live traffic. A route this run
 * was told about and then told to remove is deleted at once, InSync or not.
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
 * All writes of a pass go to the kernel in one `writeRoutes` batch. Every failure stays
 * pending and is retried by the next apply; `apply` rejects with a ManagerApplyError
 * listing them after doing everything else it could. Each distinct failure is logged once
 * when it starts and once when it clears, not on every retry.
 */
import type { Logger } from '../../log/logger.js';
import { ManagerApplyError, type ApplyFailure, type Manager } from '../driver.js';
import type { DataplaneMessage, RouteType, RouteUpdate } from '../messages.js';
import {
  EEXIST,
  MAIN_ROUTE_TABLE,
  TABBY_ROUTE_PROTOCOL,
  describeKernelRoute,
  sameForwarding,
  type IpipProbe,
  type KernelRoute,
  type RouteKernel,
  type RouteWriteOp,
  type RouteWriteResult,
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

/** Why a desired route cannot be programmed. */
interface PlanFailure {
  fail: true;
  code: string;
  message: string;
}

/**
 * What a desired route turns into: a kernel route (returned as is: no wrapper object per
 * route of a 100,000-route table), nothing (not the kernel's business), or a failure.
 */
type Plan = KernelRoute | undefined | PlanFailure;

const isFailure = (p: Plan): p is PlanFailure => p !== undefined && 'fail' in p;

/**
 * Everything the manager knows about one destination, in one place: what is desired there
 * and what the kernel holds there as the last full pass read it (kept current by our own
 * successful writes). One map lookup per message instead of one per map: a learned table
 * is 100,000 destinations, each touched several times per pass.
 */
interface Slot {
  readonly dst: string;
  desired: RouteUpdate | undefined;
  /** Our route there (our protocol), per the view. */
  ours: KernelRoute | undefined;
  /** Another owner's route there, per the view. */
  foreign: KernelRoute | undefined;
  /** Queued for the next apply (in `pending`). */
  queued: boolean;
}

/** One write of a pass: the op itself (handed to the kernel as is, no copy per route) plus our bookkeeping. */
interface Write extends RouteWriteOp {
  slot: Slot;
  /** For a `create`: the other owner's route the view says holds the slot (EEXIST then only confirms it). */
  held?: KernelRoute;
}

/** What one pass decided and met; committed (logged, remembered) only if the pass stands. */
interface Round {
  /** Failures of destinations we want, in the order met. */
  failures: ApplyFailure[];
  /** Failures to delete routes nothing wants (reported after the rest, as the sweep comes last). */
  deleteFailures: ApplyFailure[];
  /** Destinations to retry on the next apply. */
  failed: Set<Slot>;
  ipipBlocked: string[];
  /** Learned destinations left to another owner's route, with the line that says so. */
  deferred: Map<string, string>;
  writes: Write[];
  /** Whether the ipip module is there; undefined when this round's routes did not need the probe. */
  ipip: boolean | undefined;
  /** A `create` met a route the view did not know of: the view is wrong, redo as a full pass. */
  stale: boolean;
}

const MANAGER = 'routes';

export class RouteManager implements Manager {
  readonly name: string;
  /** Every destination that is desired or that the view has a route for. */
  private readonly slots = new Map<string, Slot>();
  /** Whether a full pass has read the table (the slots' `ours`/`foreign` mean something). */
  private viewed = false;
  private inSync = false;
  /**
   * Before InSync: destinations this run was told about and then told to remove. Nothing
   * unknown is deleted before InSync, but these are known: a withdrawal is applied at once
   * (a learned-routes manager may wait long for its InSync, see learned-routes.ts).
   */
  private readonly withdrawn = new Set<string>();
  /** An IPIP route arrived since the last apply (the incremental pass probes only then). */
  private ipipPending = false;
  /** Destinations whose desired route changed since they were last reconciled. */
  private pending: Slot[] = [];
  /** Destinations that failed in the last apply (retried by the next one). */
  private retry = new Set<Slot>();
  /** The next apply must dump the table (first apply, resync, InSync, a wrong view). */
  private needFull = true;
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
      case 'RouteUpdate': {
        // A route that changed to a type not ours is no longer ours to program.
        if (this.routeTypes && !this.routeTypes.has(msg.routeType)) {
          const slot = this.slots.get(msg.dst);
          if (!slot?.desired) return;
          slot.desired = undefined;
          this.queue(slot);
          return;
        }
        let slot = this.slots.get(msg.dst);
        if (!slot) this.slots.set(msg.dst, (slot = { dst: msg.dst, desired: msg, ours: undefined, foreign: undefined, queued: false }));
        else slot.desired = msg;
        if (msg.encap === 'ipip') this.ipipPending = true;
        this.queue(slot);
        return;
      }
      case 'RouteRemove': {
        const slot = this.slots.get(msg.dst);
        if (!slot?.desired) return;
        slot.desired = undefined;
        this.queue(slot);
        if (!this.inSync) this.withdrawn.add(msg.dst);
        return;
      }
      case 'InSync':
        // The first apply after it sweeps, which takes a fresh dump.
        this.inSync = true;
        this.needFull = true;
        this.withdrawn.clear();
        return;
      default:
        return;
    }
  }

  /** Forces the next apply to re-read the kernel even if nothing changed (periodic repair). */
  requestResync(): void {
    this.needFull = true;
  }

  /** Desired routes (for status output and tests). */
  desiredRoutes(): RouteUpdate[] {
    const out: RouteUpdate[] = [];
    for (const slot of this.slots.values()) if (slot.desired) out.push(slot.desired);
    return out;
  }

  async apply(): Promise<void> {
    if (!this.needFull && this.pending.length === 0 && this.retry.size === 0) return;
    // Updates that arrive while this apply awaits the kernel are left for the next one.
    const work = this.pending;
    this.pending = [];
    for (const slot of this.retry) {
      if (slot.queued) continue;
      slot.queued = true;
      work.push(slot);
    }
    for (const slot of work) slot.queued = false;
    let round: Round | undefined;
    let full = false;
    try {
      if (!this.needFull && this.viewed) round = await this.incremental(work);
      if (!round) {
        full = true;
        round = await this.full();
      }
    } catch (err) {
      for (const slot of work) this.queue(slot);
      throw err;
    }
    this.commit(round, full ? undefined : work);
  }

  private forgetIfEmpty(slot: Slot): void {
    if (slot.desired || slot.ours || slot.foreign || slot.queued || this.retry.has(slot)) return;
    if (this.slots.get(slot.dst) === slot) this.slots.delete(slot.dst);
  }

  private queue(slot: Slot): void {
    if (slot.queued) return;
    slot.queued = true;
    this.pending.push(slot);
  }

  private async full(): Promise<Round> {
    this.needFull = false;
    let listed: KernelRoute[];
    try {
      listed = await this.opts.kernel.listRoutes({ table: this.table });
    } catch (err) {
      this.needFull = true;
      throw err;
    }
    // A fresh view: forget what the last one said, keep only what is desired or listed.
    for (const slot of this.slots.values()) {
      slot.ours = slot.foreign = undefined;
      this.forgetIfEmpty(slot);
    }
    for (const r of listed) {
      let slot = this.slots.get(r.dst);
      if (!slot) this.slots.set(r.dst, (slot = { dst: r.dst, desired: undefined, ours: undefined, foreign: undefined, queued: false }));
      if (r.protocol === this.protocol) slot.ours = r;
      else slot.foreign = r;
    }
    this.viewed = true;

    const round = newRound(await this.probeIpip(this.slots.values()));
    // The dump is fresh, so an empty slot is claimed with replace (as before batching).
    for (const slot of this.slots.values()) {
      if (this.reconcile(round, slot, 'replace') || !slot.ours) continue;
      if (this.inSync || this.withdrawn.has(slot.dst)) round.writes.push({ op: 'delete', route: slot.ours, slot });
    }
    await this.write(round);
    return round;
  }

  /** Undefined when the view turned out wrong (the caller then does a full pass). */
  private async incremental(work: readonly Slot[]): Promise<Round | undefined> {
    // The probe only matters if one of these routes is an IPIP one; a learned table has none.
    const maybeIpip = this.ipipPending || this.retry.size > 0;
    this.ipipPending = false;
    const round = newRound(maybeIpip ? await this.probeIpip(work) : undefined);
    for (const slot of work) {
      if (this.reconcile(round, slot, 'create')) continue;
      const have = slot.ours;
      if (have && (this.inSync || this.withdrawn.has(slot.dst))) round.writes.push({ op: 'delete', route: have, slot });
    }
    await this.write(round);
    return round.stale ? undefined : round;
  }

  /**
   * Decides one destination against the view: records a write, a failure or a deferral.
   * Returns whether the destination is wanted (a wanted one keeps its route of ours even
   * when it cannot be programmed: an outdated route is likelier to deliver than none).
   */
  private reconcile(round: Round, slot: Slot, claim: 'replace' | 'create'): boolean {
    const u = slot.desired;
    if (!u) return false;
    const dst = slot.dst;
    let plan = this.toKernel(u);
    if (plan !== undefined && !isFailure(plan) && u.encap === 'ipip' && !round.ipip) plan = { fail: true, code: 'IPIP_MODULE_MISSING', message: 'no ipip module' };
    if (plan === undefined) return false;
    if (isFailure(plan)) {
      round.failed.add(slot);
      if (plan.code === 'IPIP_MODULE_MISSING') round.ipipBlocked.push(dst);
      else round.failures.push({ manager: this.name, item: `route ${dst}`, code: plan.code, message: plan.message });
      return true;
    }
    const want = plan;
    const have = slot.ours;
    if (have) {
      if (!sameForwarding(want, have)) round.writes.push({ op: 'replace', route: want, slot });
      return true;
    }
    const other = slot.foreign;
    if (other && sameForwarding(want, other)) return true;
    if (other && claim === 'replace') {
      this.blocked(round, slot, want, other);
      return true;
    }
    const write: Write = { op: claim, route: want, slot };
    if (other) write.held = other;
    round.writes.push(write);
    return true;
  }

  /** Another owner's route holds a destination we want: learned routes defer, cluster routes conflict. */
  private blocked(round: Round, slot: Slot, want: KernelRoute, other: KernelRoute): void {
    const dst = slot.dst;
    if (slot.desired?.routeType === 'bgp') {
      round.deferred.set(dst, `learned route ${dst} via ${want.gateway} not programmed: the host's own route (${describeKernelRoute(other)}) holds that destination and takes precedence`);
      return;
    }
    round.failed.add(slot);
    round.failures.push({
      manager: this.name,
      item: `route ${dst}`,
      code: 'ROUTE_CONFLICT',
      message: `route ${dst} is held by protocol ${other.protocol} (${describeKernelRoute(other)}) and tabby leaves other owners' routes alone; delete it (ip route del ${dst} proto ${other.protocol}) if tabby should own it`,
    });
  }

  /** Sends the round's writes as one batch and folds each outcome into the view and the round. */
  private async write(round: Round): Promise<void> {
    const { writes } = round;
    if (writes.length === 0) return;
    let results: RouteWriteResult[];
    try {
      results = await this.opts.kernel.writeRoutes(writes);
      if (results.length !== writes.length) throw new Error(`route batch settled ${results.length} of ${writes.length} writes`);
    } catch (err) {
      // The batch as a whole failed: every write in it did, and is retried.
      results = writes.map(() => err as Error);
    }
    for (let i = 0; i < writes.length; i++) {
      const err = results[i];
      const w = writes[i]!;
      const { op, route, slot } = w;
      if (!err) {
        if (op === 'delete') {
          slot.ours = undefined;
          this.forgetIfEmpty(slot);
        } else {
          slot.ours = route;
          // Only a claim over a route the view had as another owner's can have replaced one.
          if (w.held) slot.foreign = undefined;
        }
        continue;
      }
      if (op === 'create' && (err as { errno?: number }).errno === EEXIST) {
        if (w.held) this.blocked(round, slot, route, w.held);
        else round.stale = true;
        continue;
      }
      round.failed.add(slot);
      if (op === 'delete') {
        round.deleteFailures.push({ manager: this.name, item: `route ${slot.dst}`, code: 'ROUTE_DELETE_FAILED', message: `cannot delete stale ${describeKernelRoute(route)}: ${err.message}` });
      } else {
        round.failures.push({ manager: this.name, item: `route ${slot.dst}`, code: 'ROUTE_REPLACE_FAILED', message: `cannot program ${describeKernelRoute(route)}: ${err.message}` });
      }
    }
  }

  /** Asks the kernel about IPIP only if one of the slots wants an IPIP route programmed (undefined otherwise). */
  private async probeIpip(slots: Iterable<Slot>): Promise<boolean | undefined> {
    for (const { desired: u } of slots) {
      if (u?.encap !== 'ipip') continue;
      const plan = this.toKernel(u);
      if (plan !== undefined && !isFailure(plan)) return this.opts.hasIpipModule().catch(() => false);
    }
    return undefined;
  }

  /**
   * Makes a finished pass the manager's state: deferrals (logged once each), the retry set
   * and the failure report. `touched` is what an incremental pass looked at (undefined for
   * a full pass, which looked at everything).
   */
  private commit(round: Round, touched: readonly Slot[] | undefined): void {
    const failures = round.failures;
    if (round.ipipBlocked.length > 0) {
      // One line for all of them: the cause and the fix are the same.
      failures.push({
        manager: this.name,
        item: 'ipip',
        code: 'IPIP_MODULE_MISSING',
        message: `${round.ipipBlocked.length} route(s) need IPIP (first ${round.ipipBlocked[0]}) but this kernel has no ipip module (no ${this.ipipIfName}); load it with "modprobe ipip", or run the agent with --dataplane bpf, which encapsulates in BPF and needs no module`,
      });
    }
    failures.push(...round.deleteFailures);

    for (const [dst, line] of round.deferred) if (!this.deferred.has(dst)) this.opts.logger?.info({ op: 'route', item: `route ${dst}` }, line);
    if (!touched) this.deferred = new Set(round.deferred.keys());
    else if (round.deferred.size > 0 || this.deferred.size > 0) {
      for (const { dst } of touched) {
        if (round.deferred.has(dst)) this.deferred.add(dst);
        else this.deferred.delete(dst);
      }
    }

    this.retry = round.failed;
    // A destination with nothing desired and nothing in the kernel is forgotten (a churning
    // table would otherwise keep every destination it ever had until the next full pass).
    if (touched) for (const slot of touched) this.forgetIfEmpty(slot);
    this.report(failures);
    if (failures.length > 0) throw new ManagerApplyError(this.name, failures);
  }

  private toKernel(u: RouteUpdate): Plan {
    // Literals, not `{ ...base, ... }`: that spread cost ~9 µs a route on Node 20, which a
    // full pass over 100,000 routes paid on every resync.
    const { dst } = u;
    const { protocol, table } = this;
    switch (u.routeType) {
      case 'host':
        // A node's own address is reached by the underlay's routes, not ours.
        return undefined;
      case 'local-block':
        return { dst, protocol, table, type: 'blackhole' };
      case 'local-workload':
        if (!u.iface) return { fail: true, code: 'ROUTE_INCOMPLETE', message: `local workload route ${dst} names no interface` };
        return { dst, protocol, table, type: 'unicast', ifName: u.iface, scope: 'link' };
      case 'bgp':
        if (!u.nextHop) return { fail: true, code: 'ROUTE_INCOMPLETE', message: `learned route ${dst} has no next hop` };
        // Never encapsulated; the kernel finds the device for the next hop (it may not be the uplink).
        return { dst, protocol, table, type: 'unicast', gateway: u.nextHop, scope: 'universe' };
      case 'remote-block':
      case 'remote-workload': {
        if (!u.nextHop) return { fail: true, code: 'ROUTE_INCOMPLETE', message: `route ${dst} to node ${u.dstNode ?? '?'} has no next hop (the node has no IPv4 address)` };
        if (u.encap === 'vxlan') {
          return { fail: true, code: 'VXLAN_UNSUPPORTED', message: `route ${dst} needs VXLAN, which the legacy dataplane does not program yet; use --dataplane bpf or an IPIP/unencapsulated pool` };
        }
        if (u.encap === 'ipip') {
          return { dst, protocol, table, type: 'unicast', gateway: u.nextHop, ifName: this.ipipIfName, onlink: true, scope: 'universe' };
        }
        const route: KernelRoute = { dst, protocol, table, type: 'unicast', gateway: u.nextHop, scope: 'universe' };
        if (this.opts.uplinkIfName) route.ifName = this.opts.uplinkIfName;
        return route;
      }
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

function newRound(ipip: boolean | undefined): Round {
  // One shape for every round (ipip is always a field): the passes read rounds per route.
  return { failures: [], deleteFailures: [], failed: new Set(), ipipBlocked: [], deferred: new Map(), writes: [], ipip, stale: false };
}
