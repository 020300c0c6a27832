import { describe, expect, it } from 'vitest';
import type { PathAttributes } from '../wire/index.js';
import { selectBest } from './decision.js';
import type { Path, RibConfig } from './types.js';

const config: RibConfig = { localAs: 64512, routerId: '10.0.0.1' };
const prefix = { prefix: '10.1.0.0', length: 26 };
let n = 0;
function peerPath(attrs: PathAttributes, o: Partial<{ asn: number; routerId: string; address: string }> = {}): Path {
  n++;
  const asn = o.asn ?? 64512;
  return {
    prefix,
    source: { kind: 'peer', peerId: `p${n}`, address: o.address ?? `192.168.0.${n}`, asn, routerId: o.routerId ?? `10.9.0.${n}`, ibgp: asn === 64512, routeReflectorClient: false },
    attributes: { origin: 'igp', asPath: [], nextHop: '192.168.0.1', ...attrs },
    stale: false,
  };
}
const seq = (...asns: number[]): PathAttributes['asPath'] => [{ type: 'sequence', asns }];
const pick = (...ps: Path[]): { best: Path; reason: string } => selectBest(ps, config)!;

describe('best path selection records the deciding step', () => {
  it('a single path wins as only-path; none gives null', () => {
    const a = peerPath({});
    expect(pick(a)).toEqual({ best: a, reason: 'only-path' });
    expect(selectBest([], config)).toBeNull();
  });
  it('highest LOCAL_PREF (missing = 100; eBGP paths use the default)', () => {
    const a = peerPath({ localPref: 200 });
    const b = peerPath({ localPref: 150, asPath: [] });
    const c = peerPath({});
    expect(pick(b, a, c)).toEqual({ best: a, reason: 'local-pref' });
    const ebgp = peerPath({ localPref: 500, asPath: seq(65001) }, { asn: 65001 });
    expect(pick(ebgp, peerPath({ localPref: 150 })).reason).toBe('local-pref');
    expect(pick(ebgp, peerPath({ localPref: 150 })).best).not.toBe(ebgp);
  });
  it('locally originated beats learned at equal LOCAL_PREF', () => {
    const local: Path = { prefix, source: { kind: 'local' }, attributes: { origin: 'igp', asPath: [] }, stale: false };
    expect(pick(peerPath({}), local)).toEqual({ best: local, reason: 'locally-originated' });
  });
  it('shortest AS_PATH (a set counts as one)', () => {
    const a = peerPath({ asPath: seq(65001, 65002) }, { asn: 65001 });
    const b = peerPath({ asPath: [{ type: 'sequence', asns: [65003] }, { type: 'set', asns: [1, 2, 3] }] }, { asn: 65003 });
    const c = peerPath({ asPath: seq(65004, 65005, 65006) }, { asn: 65004 });
    expect(pick(a, c).best).toBe(a);
    expect(pick(c, a).reason).toBe('as-path-length');
    expect(pick(a, b, c).reason).not.toBe('as-path-length'); // a and b tie at 2
  });
  it('lowest ORIGIN', () => {
    const a = peerPath({ origin: 'incomplete' });
    const b = peerPath({ origin: 'egp' });
    const c = peerPath({ origin: 'igp' });
    expect(pick(a, b, c)).toEqual({ best: c, reason: 'origin' });
  });
  it('lowest MED, only among paths from the same neighbour AS', () => {
    const a = peerPath({ asPath: seq(65001), med: 50 }, { asn: 65001, routerId: '10.9.9.9' });
    const b = peerPath({ asPath: seq(65001), med: 10 }, { asn: 65001, routerId: '10.9.9.8' });
    expect(pick(a, b)).toEqual({ best: b, reason: 'med' });
    // Different neighbour AS: MED is not compared, the router id decides.
    const c = peerPath({ asPath: seq(65002), med: 500 }, { asn: 65002, routerId: '10.0.0.5' });
    expect(pick(a, c)).toEqual({ best: c, reason: 'router-id' });
    // Missing MED counts as 0.
    const d = peerPath({ asPath: seq(65001) }, { asn: 65001, routerId: '10.9.9.99' });
    expect(pick(b, d)).toEqual({ best: d, reason: 'med' });
  });
  it('eBGP over iBGP', () => {
    const i = peerPath({ asPath: seq(65001) }, { routerId: '1.1.1.1' });
    const e = peerPath({ asPath: seq(65001) }, { asn: 65001, routerId: '9.9.9.9' });
    expect(pick(i, e)).toEqual({ best: e, reason: 'ebgp-over-ibgp' });
  });
  it('lowest router id, using ORIGINATOR_ID for reflected paths', () => {
    const a = peerPath({}, { routerId: '10.0.0.20' });
    const b = peerPath({}, { routerId: '10.0.0.3' });
    expect(pick(a, b)).toEqual({ best: b, reason: 'router-id' });
    const reflected = peerPath({ originatorId: '10.0.0.2', clusterList: ['1.1.1.1'] }, { routerId: '10.0.0.200' });
    expect(pick(b, reflected)).toEqual({ best: reflected, reason: 'router-id' });
  });
  it('shortest CLUSTER_LIST', () => {
    const a = peerPath({ originatorId: '10.0.0.7', clusterList: ['1.1.1.1', '2.2.2.2'] });
    const b = peerPath({ originatorId: '10.0.0.7', clusterList: ['3.3.3.3'] });
    expect(pick(a, b)).toEqual({ best: b, reason: 'cluster-list-length' });
  });
  it('lowest peer address last', () => {
    const a = peerPath({ originatorId: '10.0.0.7' }, { address: '192.168.1.20' });
    const b = peerPath({ originatorId: '10.0.0.7' }, { address: '192.168.1.3' });
    expect(pick(a, b)).toEqual({ best: b, reason: 'peer-address' });
  });
  it('does not depend on the order of candidates', () => {
    const ps = [peerPath({ asPath: seq(65001), med: 5 }, { asn: 65001 }), peerPath({ asPath: seq(65002), med: 1 }, { asn: 65002 }), peerPath({ asPath: seq(65001), med: 3 }, { asn: 65001 })];
    const w = pick(...ps).best;
    expect(pick(...[...ps].reverse()).best).toBe(w);
    expect(pick(ps[1]!, ps[0]!, ps[2]!).best).toBe(w);
  });
});
