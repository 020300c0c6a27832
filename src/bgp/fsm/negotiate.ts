import { AFI_IPV4, SAFI_UNICAST, peerAsOf, type Capability, type OpenMessage } from '../wire/index.js';
import type { FsmConfig, NegotiatedSession } from './types.js';

/**
 * Hold time (RFC 4271 §4.2): the smaller of the two proposals; 0 disables keepalives and
 * the hold timer. Keepalives go at a third of it, rounded down, at least 1 s.
 */
export function negotiateHoldTime(local: number, remote: number): { holdTime: number; keepaliveTime: number } {
  const holdTime = Math.min(local, remote);
  if (holdTime === 0) return { holdTime: 0, keepaliveTime: 0 };
  return { holdTime, keepaliveTime: Math.max(1, Math.floor(holdTime / 3)) };
}

const familyKey = (f: { afi: number; safi: number }): string => `${f.afi}/${f.safi}`;

/** The families both sides advertised; without any MP capability a side speaks IPv4 unicast (RFC 4760 §8). */
function families(local: Capability[], remote: Capability[]): Array<{ afi: number; safi: number }> {
  const of = (caps: Capability[]): Array<{ afi: number; safi: number }> => {
    const mp = caps.flatMap((c) => (c.kind === 'multiprotocol' ? [{ afi: c.afi, safi: c.safi }] : []));
    return mp.length > 0 ? mp : [{ afi: AFI_IPV4, safi: SAFI_UNICAST }];
  };
  const theirs = new Set(of(remote).map(familyKey));
  return of(local).filter((f) => theirs.has(familyKey(f)));
}

/** Everything the session needs to know once the peer's OPEN passed the checks. */
export function negotiateSession(config: FsmConfig, open: OpenMessage): NegotiatedSession {
  const peerAs = peerAsOf(open);
  const { holdTime, keepaliveTime } = negotiateHoldTime(config.holdTime, open.holdTime);
  const has = (caps: Capability[], kind: Capability['kind']): boolean => caps.some((c) => c.kind === kind);
  const fam = families(config.capabilities, open.capabilities);
  const theirGr = open.capabilities.find((c) => c.kind === 'graceful-restart');
  const n: NegotiatedSession = {
    peerAs,
    peerId: open.bgpId,
    ebgp: peerAs !== config.localAs,
    holdTime,
    keepaliveTime,
    // buildOpen always advertises four-octet-as, so it is on when the peer has it too.
    fourOctetAs: has(open.capabilities, 'four-octet-as'),
    routeRefresh: has(config.capabilities, 'route-refresh') && has(open.capabilities, 'route-refresh'),
    families: fam,
    peerOpen: open,
  };
  if (theirGr && theirGr.kind === 'graceful-restart' && has(config.capabilities, 'graceful-restart')) {
    n.gracefulRestart = { restartTime: theirGr.restartTime, restarting: theirGr.restarting, families: theirGr.families };
  }
  return n;
}
