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
 *   BGP speaker ──onExternalRoutes──► FactsStore.externalRoutes (routeType 'bgp' only)
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
import { computeDesiredState, emptyDesiredState, type DesiredState } from './desired-state.js';
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
}

export class CalcGraph {
  private readonly facts: FactsStore;
  private last: DesiredState = emptyDesiredState();
  private inSync = false;
  private dirty = false;

  constructor(private readonly opts: CalcGraphOptions) {
    this.facts = new FactsStore(opts.keys ?? new Keys());
  }

  onUpdates(updates: readonly SyncerUpdate[]): void {
    for (const u of updates) if (this.facts.apply(u)) this.dirty = true;
    if (this.inSync) this.recompute();
  }

  /**
   * Routes the BGP speaker learned (its onRoutes output). Only `bgp` routes (outside the
   * pools) are used, below every route calc derives itself; they go out like any other
   * change once in sync.
   */
  onExternalRoutes(msgs: readonly (RouteUpdate | RouteRemove)[]): void {
    if (this.facts.applyExternalRoutes(msgs)) this.dirty = true;
    if (this.inSync) this.recompute();
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
    const next = computeDesiredState(this.facts, this.opts.localNode);
    const msgs = diffDesiredState(this.last, next);
    this.last = next;
    if (msgs.length > 0) this.opts.sink.push(msgs);
  }
}
