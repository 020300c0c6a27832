/**
 * The calculation graph: syncer updates in, dataplane messages out.
 *
 *   syncer ──updates──► FactsStore ──facts──► computeDatastoreState(facts, localNode)
 *          ──status───►     │                          │ hosts, pools, endpoints, their routes
 *                           │                          ▼
 *                           │        diff, then per changed destination: preferredRoute
 *                           │        (datastore route vs learned one)   │ Update/Remove
 *                           ▼                                           ▼
 *                     (ignored kinds)                            sink (the Sequencer)
 *   BGP speaker ──onExternalRoutes──► FactsStore.externalRoutes ('bgp' routes; with
 *                                     clusterRoutes 'bgp' also remote-block/-workload)
 *   agent ──onBgpConverged──► ends the startup bridge (clusterRoutes 'bgp' only)
 *
 * Nothing is emitted before the syncer is first in sync: a partial snapshot would make the
 * dataplane program (and later unprogram) a state that never existed. At the first in-sync
 * the whole state goes out, followed by InSync; after that, every change yields only the
 * difference.
 *
 * Two parts, two costs. The datastore's part (hosts, pools, local endpoints and the routes
 * they imply; computeDatastoreState) is recomputed whole per syncer batch: O(cluster), which
 * the syncer's batching keeps cheap. Learned routes can be a full table (100k prefixes from
 * a ToR, in a few hundred UPDATEs), so they are applied one destination at a time: each
 * learned change re-decides only its own destination (preferredRoute over the datastore's
 * route there). A datastore batch re-decides only the destinations whose datastore route
 * changed, and everything when this node's own address changed (a learned next hop may now
 * be this node). Calc keeps no merged copy of the routes: what the sink has for a
 * destination is, by construction, the winner over the previous datastore route and the
 * previous learned one, so each decision compares that with the new winner.
 * computeDesiredState is the whole-state definition this always agrees with
 * (calc-graph-incremental.test.ts checks it on random histories).
 */
import type { DataplaneMessage, RouteRemove, RouteUpdate } from '../dataplane/messages.js';
import { Keys } from '../datastore/keys.js';
import type { SyncStatus, SyncerUpdate } from '../datastore/syncer.js';
import {
  computeDatastoreState,
  eligibleLearnedRoute,
  emptyDesiredState,
  preferredRoute,
  type ClusterRouteSource,
  type DesiredState,
} from './desired-state.js';
import { FactsStore } from './facts-store.js';
import { diffAllButRoutes, sameValue } from './state-diff.js';

export interface MessageSink {
  push(msgs: Iterable<DataplaneMessage>): void;
}

export interface CalcGraphOptions {
  /** This node's name (its Node resource's name). */
  localNode: string;
  sink: MessageSink;
  /** Datastore layout (root); default `/calico`. */
  keys?: Keys;
  /**
   * Where routes to other nodes' blocks come from (default `datastore`). With `bgp`, the
   * datastore's are kept as a bridge until `onBgpConverged()`: the routes a previous agent
   * programmed stay while the sessions come up instead of being swept and re-added.
   */
  clusterRoutes?: ClusterRouteSource;
}

export class CalcGraph {
  private readonly facts: FactsStore;
  /** Hosts, pools and endpoints as the sink has them. */
  private shown: Omit<DesiredState, 'routes'> = emptyDesiredState();
  /** The datastore's part alone, as last computed. */
  private fromDatastore: DesiredState = emptyDesiredState();
  /** This node's address when learned routes were last decided (their eligibility depends on it). */
  private learnedFor: string | undefined;
  /** Whether learned routes have been decided at all (they are first at in-sync). */
  private learnedDecided = false;
  private inSync = false;
  private dirty = false;
  private readonly clusterRoutes: ClusterRouteSource;
  private bridge: boolean;
  /**
   * opts.sink, read per batch of learned routes: held here because callers build their
   * options objects differently, and a load through them would then see several shapes.
   */
  private readonly sink: CalcGraphOptions['sink'];

  constructor(private readonly opts: CalcGraphOptions) {
    this.sink = opts.sink;
    this.clusterRoutes = opts.clusterRoutes ?? 'datastore';
    this.bridge = this.clusterRoutes === 'bgp';
    this.facts = new FactsStore(opts.keys ?? new Keys(), this.clusterRoutes);
  }

  onUpdates(updates: readonly SyncerUpdate[]): void {
    for (const u of updates) if (this.facts.apply(u)) this.dirty = true;
    if (this.inSync) this.recomputeDatastore();
  }

  /**
   * Routes the BGP speaker learned (its onRoutes output). `bgp` routes (outside the pools)
   * are used below every route calc derives itself; cluster routes only with clusterRoutes
   * `bgp`. Once in sync each one re-decides its own destination only.
   */
  onExternalRoutes(msgs: readonly (RouteUpdate | RouteRemove)[]): void {
    if (!this.inSync) {
      this.facts.applyExternalRoutes(msgs);
      return;
    }
    const out: DataplaneMessage[] = [];
    const ds = this.fromDatastore.routes;
    for (const m of msgs) {
      const before = this.facts.externalRoutes.get(m.dst);
      if (!this.facts.applyExternalRoute(m)) continue;
      const dsRoute = ds.get(m.dst);
      this.settle(m.dst, this.winner(dsRoute, before, this.learnedFor), this.winner(dsRoute, this.facts.kept(m), this.learnedFor), out);
    }
    if (out.length > 0) this.sink.push(out);
  }

  /**
   * clusterRoutes `bgp`: BGP has brought what it will (every peer up and settled, or the
   * wait timed out); from now on only learned routes lead to other nodes. Idempotent.
   */
  onBgpConverged(): void {
    if (!this.bridge) return;
    this.bridge = false;
    this.dirty = true;
    if (this.inSync) this.recomputeDatastore();
  }

  /** Whether datastore cluster routes still bridge for BGP (clusterRoutes `bgp`, before convergence). */
  get bridging(): boolean {
    return this.bridge;
  }

  onStatus(status: SyncStatus): void {
    if (status !== 'in-sync' || this.inSync) return;
    this.inSync = true;
    this.dirty = true;
    this.recomputeDatastore();
    this.sink.push([{ type: 'InSync' }]);
  }

  /**
   * The state last handed to the sink (for status output and tests). Its `routes` are
   * merged on each read: calc keeps no copy of a learned table it can derive.
   */
  desiredState(): DesiredState {
    const routes = new Map(this.fromDatastore.routes);
    if (this.learnedDecided) {
      for (const [dst, r] of this.facts.externalRoutes) {
        const win = this.winner(routes.get(dst), r, this.learnedFor);
        if (win) routes.set(dst, win);
      }
    }
    return { ...this.shown, routes };
  }

  /** Recomputes the datastore's part and re-decides the destinations it changed. */
  private recomputeDatastore(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const prev = this.fromDatastore;
    const next = computeDatastoreState(this.facts, this.opts.localNode, { clusterRoutes: this.clusterRoutes, bridge: this.bridge });
    const out = diffAllButRoutes({ ...this.shown, routes: new Map() }, next);
    this.shown = { hosts: next.hosts, pools: next.pools, endpoints: next.endpoints };
    this.fromDatastore = next;

    // What the sink has is the winner over the previous datastore part and the learned
    // routes as eligible for the previous local address (none before the first decision).
    const shownFor = this.learnedFor;
    const learnedShown = this.learnedDecided;
    const localIpv4 = this.facts.nodes.get(this.opts.localNode)?.ipv4;
    const touched = new Set<string>();
    if (!this.learnedDecided || localIpv4 !== this.learnedFor) {
      // Which learned routes are usable depends on this node's address: decide them all.
      this.learnedDecided = true;
      this.learnedFor = localIpv4;
      for (const dst of this.facts.externalRoutes.keys()) touched.add(dst);
    }
    for (const [dst, r] of next.routes) {
      const old = prev.routes.get(dst);
      if (!old || !sameValue(old, r)) touched.add(dst);
    }
    for (const dst of prev.routes.keys()) if (!next.routes.has(dst)) touched.add(dst);
    for (const dst of touched) {
      const heard = this.facts.externalRoutes.get(dst);
      const had = this.winner(prev.routes.get(dst), learnedShown ? heard : undefined, shownFor);
      this.settle(dst, had, this.winner(next.routes.get(dst), heard, localIpv4), out);
    }
    if (out.length > 0) this.sink.push(out);
  }

  /** The route a destination gets from the datastore's route and a learned one (as eligible for `localIpv4`). */
  private winner(fromDatastore: RouteUpdate | undefined, heard: RouteUpdate | undefined, localIpv4: string | undefined): RouteUpdate | undefined {
    const learned = heard ? eligibleLearnedRoute(heard, localIpv4, this.clusterRoutes === 'bgp') : undefined;
    return preferredRoute(fromDatastore, learned);
  }

  /** Tells the sink about one destination if what it should have differs from what it has. */
  private settle(dst: string, had: RouteUpdate | undefined, want: RouteUpdate | undefined, out: DataplaneMessage[]): void {
    if (want) {
      if (had && (had === want || sameValue(had, want))) return;
      out.push(want);
    } else if (had) {
      out.push({ type: 'RouteRemove', dst });
    }
  }
}
