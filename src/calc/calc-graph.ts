/**
 * The calculation graph: syncer updates in, dataplane messages out.
 *
 *   syncer ──updates──► FactsStore ──facts──► computeDesiredState(facts, localNode)
 *          ──status───►     │                          │ desired state
 *                           │                          ▼
 *                           │               diffDesiredState(last, next)
 *                           │                          │ Update/Remove messages
 *                           ▼                          ▼
 *                     (ignored kinds)            sink (the Sequencer)
 *   BGP speaker ──onExternalRoutes──► FactsStore.externalRoutes ('bgp' routes; with
 *                                     clusterRoutes 'bgp' also remote-block/-workload)
 *   agent ──onBgpConverged──► ends the startup bridge (clusterRoutes 'bgp' only)
 *
 * Nothing is emitted before the syncer is first in sync: a partial snapshot would make the
 * dataplane program (and later unprogram) a state that never existed. At the first in-sync
 * the whole state goes out, followed by InSync; after that, every batch of updates yields
 * only the difference. The desired state is recomputed whole per batch — simple and
 * obviously right; it costs O(state) per batch, which the syncer's batching keeps cheap
 * at the sizes we run (see docs/design/pipeline.md for when to go incremental).
 */
import type { DataplaneMessage, RouteRemove, RouteUpdate } from '../dataplane/messages.js';
import { Keys } from '../datastore/keys.js';
import type { SyncStatus, SyncerUpdate } from '../datastore/syncer.js';
import { computeDesiredState, emptyDesiredState, type ClusterRouteSource, type DesiredState } from './desired-state.js';
import { FactsStore } from './facts-store.js';
import { diffDesiredState } from './state-diff.js';

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
  private last: DesiredState = emptyDesiredState();
  private inSync = false;
  private dirty = false;
  private readonly clusterRoutes: ClusterRouteSource;
  private bridge: boolean;

  constructor(private readonly opts: CalcGraphOptions) {
    this.clusterRoutes = opts.clusterRoutes ?? 'datastore';
    this.bridge = this.clusterRoutes === 'bgp';
    this.facts = new FactsStore(opts.keys ?? new Keys(), this.clusterRoutes);
  }

  onUpdates(updates: readonly SyncerUpdate[]): void {
    for (const u of updates) if (this.facts.apply(u)) this.dirty = true;
    if (this.inSync) this.recompute();
  }

  /**
   * Routes the BGP speaker learned (its onRoutes output). `bgp` routes (outside the pools)
   * are used below every route calc derives itself; cluster routes only with clusterRoutes
   * `bgp`. They go out like any other change once in sync.
   */
  onExternalRoutes(msgs: readonly (RouteUpdate | RouteRemove)[]): void {
    if (this.facts.applyExternalRoutes(msgs)) this.dirty = true;
    if (this.inSync) this.recompute();
  }

  /**
   * clusterRoutes `bgp`: BGP has brought what it will (every peer up and settled, or the
   * wait timed out); from now on only learned routes lead to other nodes. Idempotent.
   */
  onBgpConverged(): void {
    if (!this.bridge) return;
    this.bridge = false;
    this.dirty = true;
    if (this.inSync) this.recompute();
  }

  /** Whether datastore cluster routes still bridge for BGP (clusterRoutes `bgp`, before convergence). */
  get bridging(): boolean {
    return this.bridge;
  }

  onStatus(status: SyncStatus): void {
    if (status !== 'in-sync' || this.inSync) return;
    this.inSync = true;
    this.dirty = true;
    this.recompute();
    this.opts.sink.push([{ type: 'InSync' }]);
  }

  /** The state last handed to the sink (for status output and tests). */
  desiredState(): DesiredState {
    return this.last;
  }

  private recompute(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const next = computeDesiredState(this.facts, this.opts.localNode, { clusterRoutes: this.clusterRoutes, bridge: this.bridge });
    const msgs = diffDesiredState(this.last, next);
    this.last = next;
    if (msgs.length > 0) this.opts.sink.push(msgs);
  }
}
