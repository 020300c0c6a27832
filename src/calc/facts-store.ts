/**
 * The datastore facts calc works from, kept up to date from syncer updates. Keys are
 * dispatched by their place in Calico's layout; kinds calc does not use (yet) are ignored.
 * Block affinity is read from the block documents themselves (their `affinity` field is
 * what allocation honours); the affinity keys under ipam/v2/host only serve IPAM's claim
 * protocol and add nothing for routing.
 */
import type { RouteRemove, RouteUpdate } from '../dataplane/messages.js';
import type { SyncerUpdate } from '../datastore/syncer.js';
import type { Keys } from '../datastore/keys.js';
import type { CalcFacts, ClusterRouteSource } from './desired-state.js';
import { readBlock, readEndpoint, readNode, readPool, type BlockFacts, type EndpointFacts, type NodeFacts, type PoolFacts } from './inputs.js';

export class FactsStore implements CalcFacts {
  readonly nodes = new Map<string, NodeFacts>();
  readonly pools = new Map<string, PoolFacts>();
  readonly blocks = new Map<string, BlockFacts>();
  readonly endpoints = new Map<string, EndpointFacts>();
  readonly externalRoutes = new Map<string, RouteUpdate>();

  /** `clusterRoutes`: which learned routes are worth keeping (default datastore: `bgp` ones only). */
  constructor(
    private readonly keys: Keys,
    private readonly clusterRoutes: ClusterRouteSource = 'datastore',
  ) {}

  /**
   * Routes from the BGP speaker. `bgp` ones (outside the pools) are always kept; cluster
   * routes (remote-block / remote-workload) only when they are the source of cluster routes
   * (`--cluster-routes bgp`), otherwise the datastore is and they would only cost a
   * recompute. Any other message about a destination forgets it: a RouteRemove, or a
   * reclassification into a type not kept. Returns whether anything changed.
   */
  applyExternalRoutes(msgs: Iterable<RouteUpdate | RouteRemove>): boolean {
    let changed = false;
    for (const m of msgs) if (this.applyExternalRoute(m)) changed = true;
    return changed;
  }

  /** One message of applyExternalRoutes; returns whether it changed anything. */
  applyExternalRoute(m: RouteUpdate | RouteRemove): boolean {
    const kept = this.kept(m);
    if (kept) {
      this.externalRoutes.set(m.dst, kept);
      return true;
    }
    return this.externalRoutes.delete(m.dst);
  }

  /** What externalRoutes holds for m.dst once m is applied (m itself, or nothing). */
  kept(m: RouteUpdate | RouteRemove): RouteUpdate | undefined {
    return m.type === 'RouteUpdate' && this.keeps(m.routeType) ? m : undefined;
  }

  private keeps(t: RouteUpdate['routeType']): boolean {
    return t === 'bgp' || (this.clusterRoutes === 'bgp' && (t === 'remote-block' || t === 'remote-workload'));
  }

  /** Applies one update; returns whether it concerned anything calc uses. */
  apply(u: SyncerUpdate): boolean {
    const k = this.keys.parse(u.key);
    if (!k) return false;
    if (k.kind === 'block') {
      if (k.family !== 'ipv4') return false;
      return setOrDelete(this.blocks, k.cidr, u.value === null ? undefined : readBlock(k.cidr, u.value));
    }
    if (k.kind !== 'resource' || k.group !== 'projectcalico.org') return false;
    const gone = u.value === null;
    switch (k.plural) {
      case 'nodes':
        return setOrDelete(this.nodes, k.name, gone ? undefined : readNode(k.name, u.value));
      case 'ippools':
        return setOrDelete(this.pools, k.name, gone ? undefined : readPool(k.name, u.value));
      case 'workloadendpoints':
        return setOrDelete(this.endpoints, u.key, gone ? undefined : readEndpoint(k.namespace, k.name, u.value));
      default:
        return false;
    }
  }
}

function setOrDelete<V>(m: Map<string, V>, key: string, v: V | undefined): boolean {
  if (v === undefined) m.delete(key);
  else m.set(key, v);
  return true;
}
