/**
 * Sits between calc and the dataplane driver: collects messages between flushes, keeps only
 * the last word about each object, and hands them over in an order the driver can apply
 * one by one without ever referring to something it has not been told about.
 */
import { messageKey, type DataplaneMessage } from '../dataplane/messages.js';

type Message = Exclude<DataplaneMessage, { type: 'InSync' }>;

/*
 * Flush order, and why.
 *
 * Updates, dependencies first:
 *  1. HostMetadataUpdate, IPPoolUpdate — routes name nodes (nextHop, dstNode) and take their
 *     encapsulation from pools; a driver that checks a route against its node or pool must
 *     already know them.
 *  2. (reserved) IPSetUpdate, then ActivePolicyUpdate — policies refer to IP sets, and
 *     endpoints refer to policies, so sets come before policies before endpoints.
 *  3. WorkloadEndpointUpdate — before the routes that point at the endpoint's interface, so
 *     that when traffic is first routed to a workload its endpoint (and policy) is in place.
 *  4. RouteUpdate.
 * Removals, in the reverse order:
 *  5. RouteRemove — stop sending traffic towards an endpoint before the endpoint goes.
 *  6. WorkloadEndpointRemove.
 *  7. (reserved) ActivePolicyRemove, then IPSetRemove — nothing refers to them any more.
 *  8. IPPoolRemove, HostMetadataRemove — last, when no route mentions them.
 * Updates go before removals so that an object that is replaced by another (a workload
 * moving to a new interface, a route changing owner) is never missing in between.
 * InSync goes last of all: it promises the driver that it has now heard everything.
 */
const FLUSH_RANK: Record<Message['type'], number> = {
  HostMetadataUpdate: 1,
  IPPoolUpdate: 1,
  WorkloadEndpointUpdate: 3,
  RouteUpdate: 4,
  RouteRemove: 5,
  WorkloadEndpointRemove: 6,
  IPPoolRemove: 8,
  HostMetadataRemove: 8,
};

type RouteMessage = Extract<Message, { type: 'RouteUpdate' | 'RouteRemove' }>;
type OtherMessage = Exclude<Message, RouteMessage>;

export class Sequencer {
  /** Latest message per object key, in first-seen order (stable output); routes apart. */
  private readonly pending = new Map<string, OtherMessage>();
  /**
   * Routes by dst: a learned full table is 100k of them, so they skip the generic key (a
   * string built per message) and the sort; their place in the order is fixed anyway.
   */
  private readonly routes = new Map<string, RouteMessage>();
  private inSyncPending = false;

  /**
   * Coalescing: the last message about an object wins. So update-then-remove leaves the
   * remove (and the driver, which may have had the object before this batch, removes it),
   * and remove-then-update leaves the update (a full replacement, so nothing is lost).
   */
  push(msgs: Iterable<DataplaneMessage>): void {
    for (const msg of msgs) {
      if (msg.type === 'RouteUpdate' || msg.type === 'RouteRemove') this.routes.set(msg.dst, msg);
      else if (msg.type === 'InSync') this.inSyncPending = true;
      else this.pending.set(messageKey(msg), msg);
    }
  }

  get size(): number {
    return this.pending.size + this.routes.size + (this.inSyncPending ? 1 : 0);
  }

  /** Everything pending, in dependency order; empties the sequencer. */
  flush(): DataplaneMessage[] {
    const ranked = [...this.pending.values()].map((msg, i) => ({ msg, i, rank: FLUSH_RANK[msg.type] }));
    ranked.sort((a, b) => a.rank - b.rank || a.i - b.i);
    const out: DataplaneMessage[] = [];
    let next = 0;
    for (; next < ranked.length && ranked[next]!.rank < FLUSH_RANK.RouteUpdate; next++) out.push(ranked[next]!.msg);
    for (const m of this.routes.values()) if (m.type === 'RouteUpdate') out.push(m);
    for (const m of this.routes.values()) if (m.type === 'RouteRemove') out.push(m);
    for (; next < ranked.length; next++) out.push(ranked[next]!.msg);
    if (this.inSyncPending) out.push({ type: 'InSync' });
    this.pending.clear();
    this.routes.clear();
    this.inSyncPending = false;
    return out;
  }
}
