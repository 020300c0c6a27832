/**
 * Adj-RIB-In per peer, Loc-RIB, Adj-RIB-Out per peer. Rib.apply(event) is the only way
 * in and returns everything that changed; there is no I/O and no clock here (the caller
 * owns the graceful-restart timer and feeds its expiry back as an event).
 */
import { AFI_IPV4, SAFI_UNICAST, isEndOfRib, type Prefix } from '../wire/index.js';
import { selectBest } from './decision.js';
import { attributesKey, exportRoute } from './export-policy.js';
import { importUpdate } from './import-policy.js';
import { prefixAfi, prefixKey } from './prefix-key.js';
import type { AdjRibOutDelta, DecisionStep, Family, LocRibChange, OutboundRoute, Path, RibChanges, RibConfig, RibEvent, RibPeer } from './types.js';

const sourceKey = (p: Path): string => (p.source.kind === 'local' ? 'local' : `peer:${p.source.peerId}`);
const samePath = (a: Path, b: Path): boolean =>
  a === b || (sourceKey(a) === sourceKey(b) && (a.attributes === b.attributes || attributesKey(a.attributes) === attributesKey(b.attributes)));

interface PeerEntry {
  peer: RibPeer;
  up: boolean;
  adjIn: Map<string, Path>;
  adjOut: Map<string, { route: OutboundRoute; key: string }>;
}

interface BestEntry {
  path: Path;
  reason: DecisionStep;
}

export class Rib {
  readonly config: RibConfig;
  #peers = new Map<string, PeerEntry>();
  #local = new Map<string, Path>();
  #best = new Map<string, BestEntry>();
  /** Every path per prefix key, in no particular order (the decision process does not depend on it). */
  #paths = new Map<string, Map<string, Path>>();

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
    const ch: RibChanges = { best: [], out: [], rejected: [], swept: [] };
    const touched = new Set<string>();
    switch (event.type) {
      case 'originate': {
        const path: Path = { prefix: event.prefix, source: { kind: 'local' }, attributes: { origin: 'igp', asPath: [], ...event.attributes }, stale: false };
        this.#local.set(prefixKey(event.prefix), path);
        this.#setPath(path, 'local', touched);
        break;
      }
      case 'withdraw-local':
        this.#local.delete(prefixKey(event.prefix));
        this.#removePath(event.prefix, 'local', touched);
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
          const announce = [...e.adjOut.values()].map((o) => o.route).filter((r) => prefixAfi(r.prefix) === event.afi);
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
    return [...this.#best.values()].map((b) => ({ prefix: b.path.prefix, best: b.path, reason: b.reason }));
  }

  /** The paths a peer sent us that we hold (including stale ones). */
  adjRibIn(peerId: string): Path[] {
    return [...(this.#peers.get(peerId)?.adjIn.values() ?? [])];
  }

  /** What we last advertised to a peer. */
  adjRibOut(peerId: string): OutboundRoute[] {
    return [...(this.#peers.get(peerId)?.adjOut.values() ?? [])].map((o) => o.route);
  }

  #setPath(path: Path, sourceKey: string, touched: Set<string>): void {
    const key = prefixKey(path.prefix);
    let m = this.#paths.get(key);
    if (!m) this.#paths.set(key, (m = new Map()));
    m.set(sourceKey, path);
    touched.add(key);
  }

  #removePath(prefix: Prefix, sourceKey: string, touched: Set<string>): void {
    const key = prefixKey(prefix);
    const m = this.#paths.get(key);
    if (!m?.delete(sourceKey)) return;
    if (m.size === 0) this.#paths.delete(key);
    touched.add(key);
  }

  #peerUp(peer: RibPeer, ch: RibChanges, touched: Set<string>): void {
    let e = this.#peers.get(peer.id);
    if (!e) {
      e = { peer, up: true, adjIn: new Map(), adjOut: new Map() };
      this.#peers.set(peer.id, e);
    } else {
      e.peer = peer;
      e.up = true;
      e.adjOut.clear();
      // RFC 4724 §4.2: stale routes of families the restarted peer no longer preserves go now.
      const kept = new Set((peer.gracefulRestart?.families ?? []).filter((f) => f.forwardingPreserved).map((f) => f.afi));
      for (const afi of new Set([...e.adjIn.values()].filter((p) => p.stale).map((p) => prefixAfi(p.prefix)))) {
        if (!kept.has(afi)) this.#sweep(e, afi, ch, touched);
      }
    }
    // The whole table goes out, then End-of-RIB for each family.
    const announce: OutboundRoute[] = [];
    for (const b of this.#best.values()) {
      const r = exportRoute(b.path, peer, this.config);
      if (!r) continue;
      e.adjOut.set(prefixKey(r.prefix), { route: r, key: attributesKey(r.attributes) });
      announce.push(r);
    }
    const families: Family[] = peer.families ?? [{ afi: AFI_IPV4, safi: SAFI_UNICAST }];
    ch.out.push({ peerId: peer.id, announce, withdraw: [], endOfRib: families });
  }

  #peerDown(peerId: string, graceful: boolean, ch: RibChanges, touched: Set<string>): void {
    const e = this.#peers.get(peerId);
    if (!e) return;
    e.up = false;
    e.adjOut.clear();
    const gr = e.peer.gracefulRestart;
    if (graceful && gr) {
      const preserved = new Set(gr.families.map((f) => f.afi));
      for (const p of [...e.adjIn.values()]) {
        if (preserved.has(prefixAfi(p.prefix))) {
          const stale: Path = { ...p, stale: true };
          e.adjIn.set(prefixKey(p.prefix), stale);
          this.#setPath(stale, `peer:${peerId}`, touched);
        } else {
          e.adjIn.delete(prefixKey(p.prefix));
          this.#removePath(p.prefix, `peer:${peerId}`, touched);
        }
      }
      if (e.adjIn.size > 0) ch.staleTimer = { peerId, restartTime: gr.restartTime };
      return;
    }
    for (const p of e.adjIn.values()) this.#removePath(p.prefix, `peer:${peerId}`, touched);
    e.adjIn.clear();
  }

  #update(event: Extract<RibEvent, { type: 'update' }>, ch: RibChanges, touched: Set<string>): void {
    const e = this.#peers.get(event.peerId);
    if (!e || !e.up) return;
    const eor = isEndOfRib(event.update);
    if (eor && (event.withdrawnDueToError ?? []).length === 0) {
      this.#sweep(e, eor.afi, ch, touched);
      return;
    }
    const peer = e.peer;
    const source = {
      kind: 'peer' as const, peerId: peer.id, address: peer.address, asn: peer.asn, routerId: peer.routerId,
      ibgp: peer.asn === this.config.localAs, routeReflectorClient: peer.routeReflectorClient ?? false,
    };
    const opts = { ...(event.withdrawnDueToError ? { withdrawnDueToError: event.withdrawnDueToError } : {}), ...(event.fourOctetAs !== undefined ? { fourOctetAs: event.fourOctetAs } : {}) };
    const r = importUpdate(event.update, source, this.config, opts);
    ch.rejected.push(...r.rejected);
    for (const w of r.withdrawn) {
      e.adjIn.delete(prefixKey(w));
      this.#removePath(w, `peer:${peer.id}`, touched);
    }
    for (const p of r.accepted) {
      e.adjIn.set(prefixKey(p.prefix), p);
      this.#setPath(p, `peer:${peer.id}`, touched);
    }
  }

  /** Removes a peer's stale paths: of one family, or all when `afi` is null. */
  #sweep(e: PeerEntry, afi: number | null, ch: RibChanges, touched: Set<string>): void {
    let count = 0;
    for (const p of [...e.adjIn.values()]) {
      if (!p.stale || (afi !== null && prefixAfi(p.prefix) !== afi)) continue;
      e.adjIn.delete(prefixKey(p.prefix));
      this.#removePath(p.prefix, `peer:${e.peer.id}`, touched);
      count++;
    }
    if (count > 0) ch.swept.push({ peerId: e.peer.id, count });
  }

  /** Re-runs the decision for touched prefixes and diffs every up peer's Adj-RIB-Out. */
  #recompute(touched: Set<string>, ch: RibChanges): void {
    if (touched.size === 0) return;
    const deltas = new Map<string, AdjRibOutDelta>();
    const deltaFor = (id: string): AdjRibOutDelta => {
      let d = deltas.get(id);
      if (!d) deltas.set(id, (d = { peerId: id, announce: [], withdraw: [] }));
      return d;
    };
    for (const key of [...touched].sort()) {
      const paths = [...(this.#paths.get(key)?.values() ?? [])];
      const decision = selectBest(paths, this.config);
      const old = this.#best.get(key);
      if (!decision) {
        if (old) {
          this.#best.delete(key);
          ch.best.push({ prefix: old.path.prefix, best: null, reason: 'withdrawn' });
        }
      } else if (old && old.reason === decision.reason && samePath(old.path, decision.best)) {
        // Same route (e.g. only its stale flag changed): keep the newer object, report nothing.
        old.path = decision.best;
      } else {
        this.#best.set(key, { path: decision.best, reason: decision.reason });
        const change: LocRibChange = { prefix: decision.best.prefix, best: decision.best, reason: decision.reason };
        ch.best.push(change);
      }
      for (const e of this.#peers.values()) {
        if (!e.up) continue;
        const want = decision ? exportRoute(decision.best, e.peer, this.config) : null;
        const have = e.adjOut.get(key);
        if (!want) {
          if (have) {
            e.adjOut.delete(key);
            deltaFor(e.peer.id).withdraw.push(have.route.prefix);
          }
          continue;
        }
        const wantKey = attributesKey(want.attributes);
        if (have?.key === wantKey) continue;
        e.adjOut.set(key, { route: want, key: wantKey });
        deltaFor(e.peer.id).announce.push(want);
      }
    }
    for (const d of deltas.values()) if (d.announce.length > 0 || d.withdraw.length > 0) ch.out.push(d);
  }
}
