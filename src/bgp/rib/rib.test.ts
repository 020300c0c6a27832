import { describe, expect, it } from 'vitest';
import { endOfRib, type PathAttributes, type Prefix, type UpdateMessage } from '../wire/index.js';
import { Rib } from './rib.js';
import type { RibChanges, RibConfig, RibPeer } from './types.js';

const P1: Prefix = { prefix: '10.1.0.0', length: 26 };
const P2: Prefix = { prefix: '10.1.0.64', length: 26 };
const gr = { restartTime: 30, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] };

function peer(id: string, asn: number, extra: Partial<RibPeer> = {}): RibPeer {
  return { id, address: id, asn, routerId: id, localAddress: '192.168.0.1', ...extra };
}
function announce(prefixes: Prefix[], attrs: PathAttributes = {}): UpdateMessage {
  return { type: 'update', withdrawn: [], nlri: prefixes, attributes: { origin: 'igp', asPath: [], nextHop: '192.168.0.9', ...attrs } };
}
const withdraw = (prefixes: Prefix[]): UpdateMessage => ({ type: 'update', withdrawn: prefixes, nlri: [], attributes: {} });
const outFor = (ch: RibChanges, id: string) => ch.out.filter((o) => o.peerId === id);
const announcedTo = (ch: RibChanges, id: string) => outFor(ch, id).flatMap((o) => o.announce);

const mesh: RibConfig = { localAs: 64512, routerId: '192.168.0.1' };

describe('originated routes', () => {
  it('go to every peer with next-hop-self; eBGP gets our AS prepended and no LOCAL_PREF', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.3', 65000, { localAddress: '172.16.0.1' }) });
    const ch = rib.originate(P1);
    expect(ch.best).toEqual([expect.objectContaining({ prefix: P1, reason: 'only-path' })]);
    expect(announcedTo(ch, '192.168.0.2')).toEqual([{ prefix: P1, attributes: { origin: 'igp', asPath: [], nextHop: '192.168.0.1', localPref: 100 } }]);
    expect(announcedTo(ch, '192.168.0.3')).toEqual([{ prefix: P1, attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [64512] }], nextHop: '172.16.0.1' } }]);
    const w = rib.withdrawLocal(P1);
    expect(w.best).toEqual([{ prefix: P1, best: null, reason: 'withdrawn' }]);
    expect(outFor(w, '192.168.0.2')[0]!.withdraw).toEqual([P1]);
  });
  it('a peer coming up gets the whole table then End-of-RIB', () => {
    const rib = new Rib(mesh);
    rib.originate(P1);
    rib.originate(P2);
    const ch = rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512) });
    expect(ch.out).toHaveLength(1);
    expect(ch.out[0]!.announce.map((r) => r.prefix)).toEqual([P1, P2]);
    expect(ch.out[0]!.endOfRib).toEqual([{ afi: 1, safi: 1 }]);
  });
  it('unchanged re-originations produce no updates', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512) });
    rib.originate(P1);
    const again = rib.originate(P1);
    expect(again.out).toEqual([]);
    expect(again.best).toEqual([]);
  });
});

describe('learned routes and split horizon', () => {
  it('an iBGP route is not sent to other iBGP peers without reflection, but goes to eBGP peers', () => {
    const rib = new Rib(mesh);
    for (const p of [peer('192.168.0.2', 64512), peer('192.168.0.3', 64512), peer('192.168.0.4', 65000)]) rib.apply({ type: 'peer-up', peer: p });
    const ch = rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1], { localPref: 100 }) });
    expect(ch.best[0]).toMatchObject({ reason: 'only-path', best: { source: { peerId: '192.168.0.2' } } });
    expect(announcedTo(ch, '192.168.0.2')).toEqual([]); // never echoed
    expect(announcedTo(ch, '192.168.0.3')).toEqual([]); // split horizon
    expect(announcedTo(ch, '192.168.0.4')).toEqual([{ prefix: P1, attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [64512] }], nextHop: '192.168.0.1' } }]);
  });
  it('an eBGP route goes to iBGP peers with its next hop kept (or ours with nextHopSelf)', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.3', 64512, { nextHopSelf: true }) });
    rib.apply({ type: 'peer-up', peer: peer('172.16.0.9', 65000) });
    const ch = rib.apply({ type: 'update', peerId: '172.16.0.9', update: announce([P1], { asPath: [{ type: 'sequence', asns: [65000] }], nextHop: '172.16.0.9', med: 7 }) });
    expect(announcedTo(ch, '192.168.0.2')[0]!.attributes).toMatchObject({ nextHop: '172.16.0.9', localPref: 100, med: 7 });
    expect(announcedTo(ch, '192.168.0.3')[0]!.attributes).toMatchObject({ nextHop: '192.168.0.1' });
  });
  it('withdrawals and treat-as-withdraw remove the path', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512) });
    rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1, P2]) });
    expect(rib.apply({ type: 'update', peerId: '192.168.0.2', update: withdraw([P1]) }).best).toEqual([{ prefix: P1, best: null, reason: 'withdrawn' }]);
    const ch = rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([]), withdrawnDueToError: [P2] });
    expect(ch.best).toEqual([{ prefix: P2, best: null, reason: 'withdrawn' }]);
    expect(rib.locRib()).toEqual([]);
  });
  it('the best path moves when a better one arrives, and the decision is recorded', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.3', 64512) });
    rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1], { localPref: 100 }) });
    const ch = rib.apply({ type: 'update', peerId: '192.168.0.3', update: announce([P1], { localPref: 300 }) });
    expect(ch.best).toEqual([expect.objectContaining({ reason: 'local-pref', best: expect.objectContaining({ source: expect.objectContaining({ peerId: '192.168.0.3' }) }) })]);
    expect(rib.locRib()[0]!.reason).toBe('local-pref');
  });
  it('IPv6 routes travel in their own family and need an IPv6 next hop', () => {
    const rib = new Rib(mesh);
    const v6 = { prefix: 'fd00:1::', length: 64 };
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512, { families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }], localAddress6: 'fd00::1' }) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.3', 64512) });
    const ch = rib.originate(v6);
    expect(announcedTo(ch, '192.168.0.2')).toEqual([{ prefix: v6, attributes: expect.objectContaining({ nextHop: 'fd00::1' }) }]);
    expect(announcedTo(ch, '192.168.0.3')).toEqual([]);
    const learned = rib.apply({ type: 'update', peerId: '192.168.0.2', update: { type: 'update', withdrawn: [], nlri: [], attributes: { origin: 'igp', asPath: [], mpReach: { afi: 2, safi: 1, nextHop: 'fd00::2', nlri: [{ prefix: 'fd00:2::', length: 64 }] } } } });
    expect(learned.best[0]!.best!.attributes.nextHop).toBe('fd00::2');
    expect(learned.best[0]!.best!.attributes.mpReach).toBeUndefined();
  });
});

describe('loop checks', () => {
  it('rejects eBGP paths containing our AS', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('172.16.0.9', 65000) });
    const ch = rib.apply({ type: 'update', peerId: '172.16.0.9', update: announce([P1], { asPath: [{ type: 'sequence', asns: [65000, 64512] }] }) });
    expect(ch.rejected).toEqual([{ peerId: '172.16.0.9', prefix: P1, reason: 'as-path-loop' }]);
    expect(ch.best).toEqual([]);
  });
  it('a rejected re-announcement removes the earlier path', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('172.16.0.9', 65000) });
    rib.apply({ type: 'update', peerId: '172.16.0.9', update: announce([P1], { asPath: [{ type: 'sequence', asns: [65000] }] }) });
    const ch = rib.apply({ type: 'update', peerId: '172.16.0.9', update: announce([P1], { asPath: [{ type: 'sequence', asns: [65000, 64512] }] }) });
    expect(ch.best).toEqual([{ prefix: P1, best: null, reason: 'withdrawn' }]);
  });
  it('rejects our own ORIGINATOR_ID and our CLUSTER_ID in CLUSTER_LIST', () => {
    const rib = new Rib({ ...mesh, clusterId: '1.1.1.1' });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512) });
    const a = rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1], { originatorId: '192.168.0.1', clusterList: ['2.2.2.2'] }) });
    expect(a.rejected[0]!.reason).toBe('originator-id-loop');
    const b = rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P2], { originatorId: '192.168.0.7', clusterList: ['2.2.2.2', '1.1.1.1'] }) });
    expect(b.rejected[0]!.reason).toBe('cluster-list-loop');
  });
});

describe('route reflection (RFC 4456)', () => {
  const rr: RibConfig = { localAs: 64512, routerId: '192.168.0.1', clusterId: '1.1.1.1' };
  function reflector(): Rib {
    const rib = new Rib(rr);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.11', 64512, { routeReflectorClient: true }) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.12', 64512, { routeReflectorClient: true }) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.21', 64512) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.22', 64512) });
    return rib;
  }
  it('a client route goes to other clients and to non-clients, with ORIGINATOR_ID and CLUSTER_LIST', () => {
    const ch = reflector().apply({ type: 'update', peerId: '192.168.0.11', update: announce([P1], { nextHop: '192.168.0.11', localPref: 100 }) });
    expect(announcedTo(ch, '192.168.0.11')).toEqual([]);
    for (const id of ['192.168.0.12', '192.168.0.21', '192.168.0.22']) {
      expect(announcedTo(ch, id)).toEqual([{ prefix: P1, attributes: { origin: 'igp', asPath: [], nextHop: '192.168.0.11', localPref: 100, originatorId: '192.168.0.11', clusterList: ['1.1.1.1'] } }]);
    }
  });
  it('a non-client route goes to clients only', () => {
    const ch = reflector().apply({ type: 'update', peerId: '192.168.0.21', update: announce([P1], { localPref: 100 }) });
    expect(ch.out.map((o) => o.peerId).sort()).toEqual(['192.168.0.11', '192.168.0.12']);
  });
  it('keeps an existing ORIGINATOR_ID and prepends to the CLUSTER_LIST', () => {
    const ch = reflector().apply({ type: 'update', peerId: '192.168.0.21', update: announce([P1], { originatorId: '10.0.0.5', clusterList: ['2.2.2.2'] }) });
    expect(announcedTo(ch, '192.168.0.11')[0]!.attributes).toMatchObject({ originatorId: '10.0.0.5', clusterList: ['1.1.1.1', '2.2.2.2'] });
  });
});

describe('graceful restart helper (RFC 4724)', () => {
  function withGrPeer(): Rib {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512, { gracefulRestart: gr }) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.3', 65000) });
    rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1, P2]) });
    return rib;
  }
  it('keeps routes stale across a graceful drop without telling anyone', () => {
    const rib = withGrPeer();
    const ch = rib.apply({ type: 'peer-down', peerId: '192.168.0.2', graceful: true });
    expect(ch.staleTimer).toEqual({ peerId: '192.168.0.2', restartTime: 30 });
    expect(ch.best).toEqual([]);
    expect(ch.out).toEqual([]);
    expect(rib.adjRibIn('192.168.0.2').every((p) => p.stale)).toBe(true);
  });
  it('a non-graceful drop removes the routes at once', () => {
    const ch = withGrPeer().apply({ type: 'peer-down', peerId: '192.168.0.2', graceful: false });
    expect(ch.best.map((b) => b.reason)).toEqual(['withdrawn', 'withdrawn']);
    expect(outFor(ch, '192.168.0.3')[0]!.withdraw).toEqual([P1, P2]);
  });
  it('after the restart, re-announced routes stay and the rest are swept at End-of-RIB', () => {
    const rib = withGrPeer();
    rib.apply({ type: 'peer-down', peerId: '192.168.0.2', graceful: true });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512, { gracefulRestart: gr }) });
    const re = rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1]) });
    expect(re.best).toEqual([]); // same route, just no longer stale
    const ch = rib.apply({ type: 'update', peerId: '192.168.0.2', update: endOfRib(1, 1) });
    expect(ch.swept).toEqual([{ peerId: '192.168.0.2', count: 1 }]);
    expect(ch.best).toEqual([{ prefix: P2, best: null, reason: 'withdrawn' }]);
    expect(outFor(ch, '192.168.0.3')[0]!.withdraw).toEqual([P2]);
  });
  it('the restart timer sweeps everything still stale', () => {
    const rib = withGrPeer();
    rib.apply({ type: 'peer-down', peerId: '192.168.0.2', graceful: true });
    const ch = rib.apply({ type: 'stale-timer-expired', peerId: '192.168.0.2' });
    expect(ch.swept).toEqual([{ peerId: '192.168.0.2', count: 2 }]);
    expect(rib.locRib()).toEqual([]);
  });
  it('a restarted peer that no longer preserves forwarding has its stale routes swept at once', () => {
    const rib = withGrPeer();
    rib.apply({ type: 'peer-down', peerId: '192.168.0.2', graceful: true });
    const ch = rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512, { gracefulRestart: { restartTime: 30, families: [{ afi: 1, safi: 1, forwardingPreserved: false }] } }) });
    expect(ch.swept).toEqual([{ peerId: '192.168.0.2', count: 2 }]);
  });
});

describe('route refresh', () => {
  it('resends the Adj-RIB-Out of the family', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512) });
    rib.originate(P1);
    const ch = rib.apply({ type: 'route-refresh', peerId: '192.168.0.2', afi: 1, safi: 1 });
    expect(ch.out).toEqual([{ peerId: '192.168.0.2', announce: [expect.objectContaining({ prefix: P1 })], withdraw: [] }]);
  });
});

describe('shared paths (full-table storage)', () => {
  const P3: Prefix = { prefix: '10.1.0.128', length: 26 };
  it('all prefixes of one UPDATE share one attributes object, inbound and outbound', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 65000) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.3', 64512) });
    const ch = rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1, P2, P3], { asPath: [{ type: 'sequence', asns: [65000] }] }) });
    expect(ch.best.map((b) => b.prefix)).toEqual([P1, P2, P3]);
    expect(new Set(ch.best.map((b) => b.best!.attributes)).size).toBe(1);
    expect(new Set(announcedTo(ch, '192.168.0.3').map((r) => r.attributes)).size).toBe(1);
    expect(new Set(rib.adjRibIn('192.168.0.2').map((p) => p.attributes)).size).toBe(1);
  });
  it('a later UPDATE with equal attributes changes nothing; different attributes change only its prefixes', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.3', 64512) });
    rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1, P2]) });
    const same = rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P2, P1]) });
    expect(same.best).toEqual([]);
    expect(same.out).toEqual([]);
    const moved = rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P2], { nextHop: '192.168.0.8' }) });
    expect(moved.best).toEqual([expect.objectContaining({ prefix: P2, reason: 'only-path', best: expect.objectContaining({ attributes: expect.objectContaining({ nextHop: '192.168.0.8' }) }) })]);
    expect(rib.locRib().map((r) => [r.prefix.prefix, r.best.attributes.nextHop])).toEqual([['10.1.0.0', '192.168.0.9'], ['10.1.0.64', '192.168.0.8']]);
  });
  it('a withdrawal and a new announcement of one prefix in one UPDATE compare against the state before it', () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 64512) });
    rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1]) });
    const ch = rib.apply({ type: 'update', peerId: '192.168.0.2', update: { ...announce([P1]), withdrawn: [P1] } });
    expect(ch.best).toEqual([]);
    expect(rib.locRib()).toHaveLength(1);
  });
});

describe('a prefix changed twice in one UPDATE', () => {
  // The RIB skips its duplicate check and re-reads while no prefix was touched twice; these
  // are the cases that must take the careful path.
  const setup = () => {
    const rib = new Rib(mesh);
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.2', 65001) });
    rib.apply({ type: 'peer-up', peer: peer('192.168.0.3', 65000) });
    return rib;
  };
  it('the same NLRI twice is one change', () => {
    const rib = setup();
    const ch = rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1, P2, { ...P1 }]) });
    expect(ch.best.map((b) => b.prefix)).toEqual([P1, P2]);
    expect(ch.replaced).toEqual([null, null]);
    expect(announcedTo(ch, '192.168.0.3').map((r) => r.prefix)).toEqual([P1, P2]);
    expect(rib.adjRibIn('192.168.0.2')).toHaveLength(2);
  });
  it('a new prefix withdrawn and announced in one UPDATE is announced once', () => {
    const rib = setup();
    const u: UpdateMessage = { ...announce([P1]), withdrawn: [P1] };
    const ch = rib.apply({ type: 'update', peerId: '192.168.0.2', update: u });
    expect(ch.best).toEqual([expect.objectContaining({ prefix: P1, reason: 'only-path' })]);
    expect(ch.replaced).toEqual([null]);
    expect(outFor(ch, '192.168.0.3').flatMap((o) => o.withdraw)).toEqual([]);
    expect(announcedTo(ch, '192.168.0.3').map((r) => r.prefix)).toEqual([P1]);
  });
  it('a held prefix withdrawn and announced with new attributes reports the replacement, not a withdrawal', () => {
    const rib = setup();
    rib.apply({ type: 'update', peerId: '192.168.0.2', update: announce([P1, P2]) });
    const u: UpdateMessage = { ...announce([P2, P1], { nextHop: '192.168.0.10', asPath: [{ type: 'sequence', asns: [65001, 65009] }] }), withdrawn: [P1] };
    const ch = rib.apply({ type: 'update', peerId: '192.168.0.2', update: u });
    expect(ch.best.map((b) => [b.prefix, b.best?.attributes.nextHop])).toEqual([[P1, '192.168.0.10'], [P2, '192.168.0.10']]);
    expect(ch.replaced.map((r) => r?.attributes.nextHop)).toEqual(['192.168.0.9', '192.168.0.9']);
    expect(outFor(ch, '192.168.0.3').flatMap((o) => o.withdraw)).toEqual([]);
    expect(announcedTo(ch, '192.168.0.3').map((r) => r.prefix)).toEqual([P1, P2]);
    expect(rib.locRib().map((r) => r.best.attributes.nextHop)).toEqual(['192.168.0.10', '192.168.0.10']);
  });
});
