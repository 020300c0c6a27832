/**
 * Adj-RIB-In per peer, Loc-RIB, Adj-RIB-Out per peer. Rib.apply(event) is the only way
 * in and returns everything that changed; there is no I/O and no clock here (the caller
 * owns the graceful-restart timer and feeds its expiry back as an event).
 *
 * Storage is built for full tables (see route-table.ts): the Adj-RIBs-In and the Loc-RIB
 * share one map from prefix to paths, paths are shared by every prefix of an UPDATE, and
 * what a peer is sent is computed once per shared path, not once per prefix.
 */
import { AFI_IPV4, AFI_IPV6, SAFI_UNICAST, isEndOfRib, type PathAttributes, type Prefix } from '../wire/index.js';
import { selectBest } from './decision.js';
import { attributesKey, exportRoute } from './export-policy.js';
import { importUpdate } from './import-policy.js';
import { prefixAfi, prefixId, prefixIdAfi, prefixOfId, type PrefixId } from './prefix-key.js';
import { PrefixMap } from './prefix-map.js';
import { LOCAL_SID, MultiPath, RouteTable, Touched, bestOf, pathOf, reasonOf, type SharedPath } from './route-table.js';
import type { AdjRibOutDelta, DecisionStep, Family, OutboundRoute, Path, PathSource, RibChanges, RibConfig, RibEvent, RibPeer } from './types.js';

/** What one peer is sent for one shared path: computed once, shared by its prefixes. */
interface OutPath {
  attributes: PathAttributes;
  key: string;
}

interface PeerEntry {
  peer: RibPeer;
  up: boolean;
  /** The source of this session's paths (a new one per peer-up). */
  source: Extract<PathSource, { kind: 'peer' }>;
  /** This session's shared paths by family and attributes. */
  pool: Map<string, SharedPath>;
  /** Prefixes in its Adj-RIB-In, and how many of those are stale. */
  held: number;
  stale: number;
  adjOut: PrefixMap<OutPath>;
  /** exportRoute per shared path for this session (null: not sent). */
  exports: WeakMap<SharedPath, OutPath | null>;
}

const LOCAL: PathSource = { kind: 'local' };
/** exportRoute looks at a path's prefix only for its family. */
const ANY: Record<number, Prefix> = { [AFI_IPV4]: { prefix: '0.0.0.0', length: 0 }, [AFI_IPV6]: { prefix: '::', length: 0 } };

const samePath = (a: SharedPath, b: SharedPath): boolean => a === b || (a.sid === b.sid && a.key === b.key);
const toPath = (prefix: Prefix, p: SharedPath): Path => ({ prefix, source: p.source, attributes: p.attributes, stale: p.stale });

function sourceOf(peer: RibPeer, config: RibConfig): Extract<PathSource, { kind: 'peer' }> {
  return {
    kind: 'peer', peerId: peer.id, address: peer.address, asn: peer.asn, routerId: peer.routerId,
    ibgp: peer.asn === config.localAs, routeReflectorClient: peer.routeReflectorClient ?? false,
  };
}

function intern(pool: Map<string, SharedPath>, source: PathSource, sid: string, attributes: PathAttributes, afi: number): SharedPath {
  const key = attributesKey(attributes);
  const poolKey = `${afi}|${key}`;
  let p = pool.get(poolKey);
  if (!p) pool.set(poolKey, (p = { source, sid, attributes, stale: false, afi, key, refs: 0, pool, poolKey }));
  return p;
}

export class Rib {
  readonly config: RibConfig;
  #peers = new Map<string, PeerEntry>();
  #table = new RouteTable();
  #localPool = new Map<string, SharedPath>();

  constructor(config: RibConfig) {
    this.config = config;
  }

  originate(prefix: Prefix, attributes?: Extract<RibEvent, { type: 'originate' }>['attributes']): RibChanges {
    return this.apply(attributes ? { type: 'originate', prefix, attributes } : { type: 'originate', prefix });
  }

  withdrawLocal(prefix: Prefix): RibChanges {
    return this.apply({ type: 'withdraw-local', prefix });
  }

  apply(event: RibEvent): RibChanges {
    const ch: RibChanges = { best: [], replaced: [], out: [], rejected: [], swept: [] };
    const touched = new Touched();
    switch (event.type) {
      case 'originate': {
        const path = intern(this.#localPool, LOCAL, LOCAL_SID, { origin: 'igp', asPath: [], ...event.attributes }, prefixAfi(event.prefix));
        this.#table.set(prefixId(event.prefix), path, touched, event.prefix);
        break;
      }
      case 'withdraw-local':
        this.#table.remove(prefixId(event.prefix), LOCAL_SID, touched, event.prefix);
        break;
      case 'peer-up':
        this.#peerUp(event.peer, ch, touched);
        break;
      case 'peer-down':
        this.#peerDown(event.peerId, event.graceful, ch, touched);
        break;
      case 'update':
        this.#update(event, ch, touched);
        break;
      case 'stale-timer-expired': {
        const e = this.#peers.get(event.peerId);
        if (e) this.#sweep(e, null, ch, touched);
        break;
      }
      case 'route-refresh': {
        const e = this.#peers.get(event.peerId);
        if (e?.up) {
          const announce: OutboundRoute[] = [];
          for (const [id, o] of e.adjOut) if (prefixIdAfi(id) === event.afi) announce.push({ prefix: prefixOfId(id), attributes: o.attributes });
          // RFC 2918: just the routes again (no End-of-RIB; enhanced refresh markers are not negotiated).
          ch.out.push({ peerId: e.peer.id, announce, withdraw: [] });
        }
        break;
      }
    }
    this.#recompute(touched, ch);
    return ch;
  }

  /** The current best path per prefix (the Loc-RIB), with the step that decided. */
  locRib(): Array<{ prefix: Prefix; best: Path; reason: DecisionStep }> {
    const out: Array<{ prefix: Prefix; best: Path; reason: DecisionStep }> = [];
    for (const [id, e] of this.#table.entries()) {
      const prefix = prefixOfId(id);
      out.push({ prefix, best: toPath(prefix, bestOf(e)!), reason: reasonOf(e) });
    }
    return out;
  }

  /** The paths a peer sent us that we hold (including stale ones). */
  adjRibIn(peerId: string): Path[] {
    const out: Path[] = [];
    if (!this.#peers.get(peerId)?.held) return out;
    for (const [id, e] of this.#table.entries()) {
      const p = pathOf(e, peerId);
      if (p) out.push(toPath(prefixOfId(id), p));
    }
    return out;
  }

  /** What we last advertised to a peer. */
  adjRibOut(peerId: string): OutboundRoute[] {
    return [...(this.#peers.get(peerId)?.adjOut ?? [])].map(([id, o]) => ({ prefix: prefixOfId(id), attributes: o.attributes }));
  }

  #set(e: PeerEntry, id: PrefixId, path: SharedPath, touched: Touched, prefix?: Prefix): void {
    const old = this.#table.set(id, path, touched, prefix);
    if (!old) e.held++;
    else if (old.stale) e.stale--;
    if (path.stale) e.stale++;
  }

  #remove(e: PeerEntry, id: PrefixId, touched: Touched, prefix?: Prefix): boolean {
    const old = this.#table.remove(id, e.peer.id, touched, prefix);
    if (!old) return false;
    e.held--;
    if (old.stale) e.stale--;
    return true;
  }

  #peerUp(peer: RibPeer, ch: RibChanges, touched: Touched): void {
    let e = this.#peers.get(peer.id);
    const source = sourceOf(peer, this.config);
    if (!e) {
      e = { peer, up: true, source, pool: new Map(), held: 0, stale: 0, adjOut: new PrefixMap(), exports: new WeakMap() };
      this.#peers.set(peer.id, e);
    } else {
      e.peer = peer;
      e.source = source;
      e.pool = new Map();
      e.adjOut.clear();
      e.exports = new WeakMap();
      if (e.stale > 0) {
        // RFC 4724 §4.2: stale routes of families the restarted peer no longer preserves go now.
        const kept = new Set((peer.gracefulRestart?.families ?? []).filter((f) => f.forwardingPreserved).map((f) => f.afi));
        const staleFamilies = new Set<number>();
        for (const [, entry] of this.#table.entries()) {
          const p = pathOf(entry, peer.id);
          if (p?.stale) staleFamilies.add(p.afi);
        }
        for (const afi of staleFamilies) if (!kept.has(afi)) this.#sweep(e, afi, ch, touched);
        // Settle the Loc-RIB before sending the table; this peer is told the result below.
        e.up = false;
        this.#recompute(touched, ch);
        touched.clear();
      }
      e.up = true;
    }
    // The whole table goes out, then End-of-RIB for each family.
    const announce: OutboundRoute[] = [];
    for (const [id, entry] of this.#table.entries()) {
      const o = this.#exportFor(e, bestOf(entry)!);
      if (!o) continue;
      e.adjOut.set(id, o);
      announce.push({ prefix: prefixOfId(id), attributes: o.attributes });
    }
    const families: Family[] = peer.families ?? [{ afi: AFI_IPV4, safi: SAFI_UNICAST }];
    ch.out.push({ peerId: peer.id, announce, withdraw: [], endOfRib: families });
  }

  #peerDown(peerId: string, graceful: boolean, ch: RibChanges, touched: Touched): void {
    const e = this.#peers.get(peerId);
    if (!e) return;
    e.up = false;
    e.adjOut.clear();
    if (e.held === 0) return;
    const gr = e.peer.gracefulRestart;
    if (graceful && gr) {
      const preserved = new Set(gr.families.map((f) => f.afi));
      const twins = new Map<SharedPath, SharedPath>();
      for (const [id, entry] of this.#table.entries()) {
        const p = pathOf(entry, peerId);
        if (!p) continue;
        if (!preserved.has(p.afi)) {
          this.#remove(e, id, touched);
        } else if (!p.stale) {
          let twin = twins.get(p);
          if (!twin) twins.set(p, (twin = { source: p.source, sid: p.sid, attributes: p.attributes, stale: true, afi: p.afi, key: p.key, refs: 0 }));
          this.#set(e, id, twin, touched);
        }
      }
      if (e.held > 0) ch.staleTimer = { peerId, restartTime: gr.restartTime };
      return;
    }
    for (const [id, entry] of this.#table.entries()) if (pathOf(entry, peerId)) this.#remove(e, id, touched);
  }

  #update(event: Extract<RibEvent, { type: 'update' }>, ch: RibChanges, touched: Touched): void {
    const e = this.#peers.get(event.peerId);
    if (!e || !e.up) return;
    const eor = isEndOfRib(event.update);
    if (eor && (event.withdrawnDueToError ?? []).length === 0) {
      this.#sweep(e, eor.afi, ch, touched);
      return;
    }
    const opts = { ...(event.withdrawnDueToError ? { withdrawnDueToError: event.withdrawnDueToError } : {}), ...(event.fourOctetAs !== undefined ? { fourOctetAs: event.fourOctetAs } : {}) };
    const r = importUpdate(event.update, e.source, this.config, opts);
    for (const x of r.rejected) ch.rejected.push(x);
    for (const w of r.withdrawn) this.#remove(e, prefixId(w), touched, w);
    for (const g of r.accepted) {
      if (g.prefixes.length === 0) continue;
      const path = intern(e.pool, e.source, e.peer.id, g.attributes, prefixAfi(g.prefixes[0]!));
      for (const p of g.prefixes) this.#set(e, prefixId(p), path, touched, p);
    }
  }

  /** Removes a peer's stale paths: of one family, or all when `afi` is null. */
  #sweep(e: PeerEntry, afi: number | null, ch: RibChanges, touched: Touched): void {
    if (e.stale === 0) return;
    let count = 0;
    for (const [id, entry] of this.#table.entries()) {
      const p = pathOf(entry, e.peer.id);
      if (!p || !p.stale || (afi !== null && p.afi !== afi)) continue;
      this.#remove(e, id, touched);
      count++;
    }
    if (count > 0) ch.swept.push({ peerId: e.peer.id, count });
  }

  #exportFor(e: PeerEntry, p: SharedPath): OutPath | null {
    let o = e.exports.get(p);
    if (o !== undefined) return o;
    const r = exportRoute({ prefix: ANY[p.afi]!, source: p.source, attributes: p.attributes, stale: p.stale }, e.peer, this.config);
    o = r ? { attributes: r.attributes, key: attributesKey(r.attributes) } : null;
    e.exports.set(p, o);
    return o;
  }

  /** Re-runs the decision for touched prefixes and diffs every up peer's Adj-RIB-Out. */
  #recompute(touched: Touched, ch: RibChanges): void {
    if (touched.size === 0) return;
    const deltas = new Map<string, AdjRibOutDelta>();
    const deltaFor = (id: string): AdjRibOutDelta => {
      let d = deltas.get(id);
      if (!d) deltas.set(id, (d = { peerId: id, announce: [], withdraw: [] }));
      return d;
    };
    const up: PeerEntry[] = [];
    for (const e of this.#peers.values()) if (e.up) up.push(e);
    // Runs of prefixes share a path: remember each peer's last export answer.
    const lastPath: Array<SharedPath | undefined> = up.map(() => undefined);
    const lastOut: Array<OutPath | null> = up.map(() => null);
    const { ids, before: befores, after: afters, prefixes } = touched;
    // Unless a prefix changed twice, the entry each change left is the one to decide on.
    const reread = touched.repeated;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const before = befores[i]!;
      // Read the old decision first: `before` may be the very MultiPath decided again below.
      const oldBest = bestOf(before);
      const oldReason = before ? reasonOf(before) : undefined;
      const entry = reread ? this.#table.get(id) : afters[i];
      let best: SharedPath | undefined;
      let reason: DecisionStep = 'only-path';
      if (entry instanceof MultiPath) {
        const d = selectBest(entry.paths, this.config)!;
        entry.best = best = d.best;
        entry.reason = reason = d.reason;
      } else {
        best = entry;
      }
      let prefix = prefixes[i];
      if (!best) {
        if (oldBest) {
          ch.best.push({ prefix: (prefix ??= prefixOfId(id)), best: null, reason: 'withdrawn' });
          ch.replaced.push(oldBest);
        }
      } else if (!oldBest || oldReason !== reason || !samePath(oldBest, best)) {
        // (The same route, e.g. only its stale flag changed, is reported as nothing.)
        prefix ??= prefixOfId(id);
        ch.best.push({ prefix, best, reason });
        ch.replaced.push(oldBest ?? null);
      }
      for (let j = 0; j < up.length; j++) {
        const e = up[j]!;
        let want: OutPath | null = null;
        if (best && best === lastPath[j]) want = lastOut[j] ?? null;
        else if (best) {
          want = lastOut[j] = this.#exportFor(e, best);
          lastPath[j] = best;
        }
        // A prefix the table did not hold is in no Adj-RIB-Out (they only hold best paths).
        const have = before === null ? undefined : e.adjOut.get(id);
        if (!want) {
          if (have) {
            e.adjOut.delete(id);
            deltaFor(e.peer.id).withdraw.push((prefix ??= prefixOfId(id)));
          }
          continue;
        }
        if (have === want || have?.key === want.key) continue;
        e.adjOut.set(id, want);
        deltaFor(e.peer.id).announce.push({ prefix: (prefix ??= prefixOfId(id)), attributes: want.attributes });
      }
    }
    for (const d of deltas.values()) if (d.announce.length > 0 || d.withdraw.length > 0) ch.out.push(d);
  }
}
