/**
 * What we send a peer for a best path, or null when it must not be sent: iBGP split
 * horizon, route reflection (RFC 4456 §6), next-hop rules and the attributes eBGP strips.
 */
import { AFI_IPV6, propagateUnknown, type PathAttributes } from '../wire/index.js';
import { prefixAfi } from './prefix-key.js';
import type { Family, OutboundRoute, Path, RibConfig, RibPeer } from './types.js';

const ibgpPeer = (peer: RibPeer, config: RibConfig): boolean => peer.asn === config.localAs;

function supportsFamily(peer: RibPeer, afi: number): boolean {
  const fams: Family[] = peer.families ?? [{ afi: 1, safi: 1 }];
  return fams.some((f) => f.afi === afi && f.safi === 1);
}

/** May `path` be advertised to `peer` at all? */
export function mayExport(path: Path, peer: RibPeer, config: RibConfig): boolean {
  const src = path.source;
  if (!supportsFamily(peer, prefixAfi(path.prefix))) return false;
  if (prefixAfi(path.prefix) === AFI_IPV6 && !peer.localAddress6) return false;
  if (src.kind === 'local') return true;
  if (src.peerId === peer.id) return false; // never echo a route to the peer it came from
  if (!ibgpPeer(peer, config) || !src.ibgp) return true;
  // iBGP-learned to iBGP: split horizon unless we reflect.
  if (config.clusterId === undefined) return false;
  // RFC 4456 §6: from a client, reflect to everyone; from a non-client, to clients only.
  return src.routeReflectorClient || peer.routeReflectorClient === true;
}

function selfNextHop(path: Path, peer: RibPeer): string {
  return prefixAfi(path.prefix) === AFI_IPV6 ? peer.localAddress6! : peer.localAddress;
}

/** The route to send, or null. */
export function exportRoute(path: Path, peer: RibPeer, config: RibConfig): OutboundRoute | null {
  if (!mayExport(path, peer, config)) return null;
  const src = path.source;
  const a = path.attributes;
  const out: PathAttributes = { origin: a.origin ?? 'igp', asPath: (a.asPath ?? []).map((s) => ({ type: s.type, asns: [...s.asns] })) };
  if (a.atomicAggregate) out.atomicAggregate = true;
  if (a.aggregator) out.aggregator = { ...a.aggregator };
  if (a.communities && a.communities.length > 0) out.communities = [...a.communities];
  const unknown = propagateUnknown(a);
  if (unknown && unknown.length > 0) out.unknown = unknown;

  if (!ibgpPeer(peer, config)) {
    // eBGP: prepend our AS, always our own next hop; LOCAL_PREF and reflection attributes
    // stay inside the AS; a MED we learned is not passed on to another AS (RFC 4271 §5.1.4).
    const first = out.asPath![0];
    if (first && first.type === 'sequence' && first.asns.length < 255) first.asns.unshift(config.localAs);
    else out.asPath!.unshift({ type: 'sequence', asns: [config.localAs] });
    out.nextHop = selfNextHop(path, peer);
    if (src.kind === 'local' && a.med !== undefined) out.med = a.med;
    return { prefix: path.prefix, attributes: out };
  }

  out.localPref = src.kind === 'peer' && !src.ibgp ? config.defaultLocalPref ?? 100 : a.localPref ?? config.defaultLocalPref ?? 100;
  if (a.med !== undefined) out.med = a.med;
  if (src.kind === 'local') {
    out.nextHop = selfNextHop(path, peer);
  } else if (!src.ibgp) {
    out.nextHop = peer.nextHopSelf ? selfNextHop(path, peer) : a.nextHop!;
  } else {
    // Reflected: next hop untouched, ORIGINATOR_ID set once, our cluster prepended (RFC 4456 §8).
    out.nextHop = a.nextHop!;
    out.originatorId = a.originatorId ?? src.routerId;
    out.clusterList = [config.clusterId!, ...(a.clusterList ?? [])];
  }
  return { prefix: path.prefix, attributes: out };
}

/** A stable text form of attributes, to tell whether an Adj-RIB-Out entry changed. */
export function attributesKey(a: PathAttributes): string {
  return JSON.stringify(a, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (o.type === 'Buffer' && Array.isArray(o.data)) return Buffer.from(o.data as number[]).toString('hex');
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return v;
  });
}
