// The dataplane programs under BPF_PROG_TEST_RUN, byte for byte: routing verdicts, IPIP
// encapsulation and decapsulation, malformed packets dropped with the right reason,
// conntrack through the TCP states, UDP and ICMP flows, and the GC with an injected clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CT_FLAG, CT_STATE, ctKey } from '../../src/dataplane/bpf/codecs/conntrack.js';
import { collectConntrack } from '../../src/dataplane/bpf/conntrack-gc.js';
import type { BpfObject } from '../../src/native/index.js';
import { isRoot, needsRoot } from '../support/root.js';
import { arpPacket, inetChecksum, macBytes, udpPacket } from './packets.js';
import { ensureBpffs, newPinDir, removePinDir, sweepStalePins, TC_ACT_OK, TC_ACT_SHOT } from './support.js';
import {
  addEndpoint,
  addRoute,
  ctEntries,
  decTtl,
  delta,
  icmpEcho,
  ipipPacket,
  loadDataplane,
  TC_ACT_REDIRECT,
  TCP,
  tcpPacket,
  verdicts,
} from './dataplane-support.js';

const NODE = '192.168.50.1';
const PEER = '192.168.50.2';
const STRANGER = '192.168.50.66';
const POD_A = '10.65.0.2';
const POD_B = '10.65.0.3';
const POD_NOMAC = '10.65.0.4';
const REMOTE_POD = '10.65.1.5';
const PLAIN_REMOTE_POD = '10.65.2.5';
const IF_B = 42;
const IF_NOMAC = 43;
const MAC_B = '0a:58:0a:41:00:03';

describe.skipIf(!isRoot)(needsRoot('dataplane programs under BPF_PROG_TEST_RUN'), () => {
  let dir: string;
  let obj: BpfObject;
  const run = (prog: string, data: Buffer) => obj.program(prog).testRun({ data });

  beforeAll(() => {
    ensureBpffs();
    sweepStalePins();
    dir = newPinDir();
    obj = loadDataplane(dir, NODE, 7);
    addRoute(obj, '10.65.0.0/26', { type: 'blackhole' });
    addRoute(obj, `${POD_B}/32`, { type: 'local-workload', ifindex: IF_B });
    addRoute(obj, `${POD_NOMAC}/32`, { type: 'local-workload', ifindex: IF_NOMAC });
    addRoute(obj, `${POD_A}/32`, { type: 'local-workload', ifindex: 41 });
    addRoute(obj, '10.65.1.0/26', { type: 'remote', nextHop: PEER, ipip: true });
    addRoute(obj, '10.65.2.0/26', { type: 'remote', nextHop: PEER });
    addRoute(obj, `${PEER}/32`, { type: 'host' });
    addRoute(obj, `${NODE}/32`, { type: 'host' });
    addEndpoint(obj, IF_B, MAC_B);
    addEndpoint(obj, IF_NOMAC);
  });
  afterAll(() => {
    obj?.close();
    if (dir) removePinDir(dir);
  });

  describe('routing', () => {
    it('passes destinations the maps do not know unchanged (TC_ACT_OK, same bytes)', () => {
      for (const pkt of [udpPacket({ src: POD_A, dst: '203.0.113.9' }), arpPacket(), udpPacket({ src: POD_A, dst: PEER })]) {
        const r = run('from_workload', pkt);
        expect(r.retval).toBe(TC_ACT_OK);
        expect(r.data.equals(pkt)).toBe(true);
      }
    });

    it('redirects to a local workload with its MAC, the host veth MAC, and the TTL a router owes', () => {
      const before = verdicts(obj);
      const pkt = udpPacket({ src: POD_A, dst: POD_B, sport: 1111 });
      const r = run('from_workload', pkt);
      expect(r.retval).toBe(TC_ACT_REDIRECT);
      const want = decTtl(pkt);
      macBytes(MAC_B).copy(want, 0);
      macBytes('ee:ee:ee:ee:ee:ee').copy(want, 6);
      expect(r.data.toString('hex')).toBe(want.toString('hex'));
      expect(inetChecksum(r.data.subarray(14, 34))).toBe(0);
      expect(delta(before, verdicts(obj))).toEqual({ redirect_local: 1, ct_new: 1 });
    });

    it('redirects to a local workload whose MAC is unknown without touching the MACs (the kernel resolves it)', () => {
      const pkt = udpPacket({ src: POD_A, dst: POD_NOMAC, sport: 1112 });
      const r = run('from_workload', pkt);
      expect(r.retval).toBe(TC_ACT_REDIRECT);
      expect(r.data.toString('hex')).toBe(decTtl(pkt).toString('hex'));
    });

    it('drops addresses of a local block that no workload has (blackhole)', () => {
      const before = verdicts(obj);
      const r = run('from_workload', udpPacket({ src: POD_A, dst: '10.65.0.9' }));
      expect(r.retval).toBe(TC_ACT_SHOT);
      expect(delta(before, verdicts(obj))).toMatchObject({ drop_blackhole: 1 });
    });

    it('sends remote destinations without encapsulation to the uplink as they are (but the TTL)', () => {
      const before = verdicts(obj);
      const pkt = udpPacket({ src: POD_A, dst: PLAIN_REMOTE_POD, sport: 1113 });
      const r = run('from_workload', pkt);
      expect(r.retval).toBe(TC_ACT_REDIRECT);
      expect(r.data.toString('hex')).toBe(decTtl(pkt).toString('hex'));
      expect(delta(before, verdicts(obj))).toMatchObject({ redirect_remote: 1 });
    });

    it('leaves a packet whose TTL would expire to the kernel', () => {
      const pkt = udpPacket({ src: POD_A, dst: POD_B, ttl: 1, sport: 1114 });
      const r = run('from_workload', pkt);
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.data.equals(pkt)).toBe(true);
    });
  });

  describe('IPIP', () => {
    it('encapsulates: outer header exact (protocol 4, lengths, id, DF, TTL, node addresses, valid checksum), inner intact', () => {
      const before = verdicts(obj);
      const pkt = udpPacket({ src: POD_A, dst: REMOTE_POD, sport: 2222, payload: Buffer.from('inner payload stays as it is') });
      const r = run('from_workload', pkt);
      expect(r.retval).toBe(TC_ACT_REDIRECT);
      expect(r.data.length).toBe(pkt.length + 20);
      expect(r.data.subarray(0, 14).equals(pkt.subarray(0, 14))).toBe(true);
      const outer = r.data.subarray(14, 34);
      const innerLen = pkt.length - 14;
      const want = Buffer.alloc(20);
      want[0] = 0x45;
      want[1] = pkt[15] ?? 0; // TOS copied
      want.writeUInt16BE(innerLen + 20, 2);
      want.writeUInt16BE(pkt.readUInt16BE(18), 4); // id copied (DF set)
      want.writeUInt16BE(0x4000, 6);
      want[8] = 64;
      want[9] = 4;
      Buffer.from([192, 168, 50, 1]).copy(want, 12);
      Buffer.from([192, 168, 50, 2]).copy(want, 16);
      want.writeUInt16BE(inetChecksum(want), 10);
      expect(outer.toString('hex')).toBe(want.toString('hex'));
      expect(inetChecksum(outer)).toBe(0);
      // The inner packet: the original, but for the TTL the sending node's routing hop takes.
      expect(r.data.subarray(34).toString('hex')).toBe(decTtl(pkt).subarray(14).toString('hex'));
      expect(delta(before, verdicts(obj))).toEqual({ redirect_ipip: 1, ct_new: 1 });
    });

    it('uses a random identification when the inner packet may be fragmented (no DF)', () => {
      const pkt = udpPacket({ src: POD_A, dst: REMOTE_POD, sport: 2223 });
      pkt.writeUInt16BE(0, 20); // clear DF
      pkt.writeUInt16BE(0, 24);
      pkt.writeUInt16BE(inetChecksum(pkt.subarray(14, 34)), 24);
      const r = run('from_workload', pkt);
      expect(r.retval).toBe(TC_ACT_REDIRECT);
      expect(r.data.readUInt16BE(20)).toBe(0); // no DF on the outer either
      expect(inetChecksum(r.data.subarray(14, 34))).toBe(0);
    });

    it('decapsulates IPIP to this node and delivers the inner packet to the local workload', () => {
      const before = verdicts(obj);
      const inner = udpPacket({ src: REMOTE_POD, dst: POD_B, sport: 3333 });
      const r = run('from_uplink', ipipPacket(PEER, NODE, inner));
      expect(r.retval).toBe(TC_ACT_REDIRECT);
      const want = decTtl(inner);
      macBytes(MAC_B).copy(want, 0);
      macBytes('ee:ee:ee:ee:ee:ee').copy(want, 6);
      expect(r.data.toString('hex')).toBe(want.toString('hex'));
      expect(delta(before, verdicts(obj))).toEqual({ decap: 1, ct_new: 1, redirect_local: 1 });
    });

    it('decapsulation gives back the inner packet unchanged when the kernel is to route it', () => {
      const inner = udpPacket({ src: REMOTE_POD, dst: '203.0.113.7', sport: 3334 });
      const r = run('from_uplink', ipipPacket(PEER, NODE, inner));
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.data.subarray(14).toString('hex')).toBe(inner.subarray(14).toString('hex'));
      expect(r.data.length).toBe(inner.length);
    });

    it('encap on one node then decap on the other delivers the inner packet (two objects, two pin dirs)', () => {
      const peerDir = newPinDir();
      const peer = loadDataplane(peerDir, PEER, 7);
      try {
        addRoute(peer, `${NODE}/32`, { type: 'host' });
        addRoute(peer, '10.65.1.44/32', { type: 'local-workload', ifindex: 50 });
        addEndpoint(peer, 50, '0a:58:0a:41:01:2c');
        const pkt = udpPacket({ src: POD_A, dst: '10.65.1.44', sport: 2224, ttl: 30 });
        const enc = run('from_workload', pkt);
        expect(enc.retval).toBe(TC_ACT_REDIRECT);
        const dec = peer.program('from_uplink').testRun({ data: enc.data });
        expect(dec.retval).toBe(TC_ACT_REDIRECT);
        // Two routing hops (one per node), nothing else changed.
        const want = decTtl(decTtl(pkt));
        macBytes('0a:58:0a:41:01:2c').copy(want, 0);
        macBytes('ee:ee:ee:ee:ee:ee').copy(want, 6);
        expect(dec.data.toString('hex')).toBe(want.toString('hex'));
      } finally {
        peer.close();
        removePinDir(peerDir);
      }
    });

    it("to_uplink encapsulates the node's own packets to pods behind IPIP routes (TTL kept), and nothing else", () => {
      const before = verdicts(obj);
      const own = udpPacket({ src: NODE, dst: REMOTE_POD, sport: 2225 });
      const r = run('to_uplink', own);
      expect(r.retval).toBe(TC_ACT_REDIRECT);
      expect(r.data.subarray(26, 34).toString('hex')).toBe('c0a83201c0a83202'); // NODE -> PEER
      expect(r.data[23]).toBe(4);
      expect(inetChecksum(r.data.subarray(14, 34))).toBe(0);
      expect(r.data.subarray(34).equals(own.subarray(14))).toBe(true);
      // A pod's packet (already handled by from_workload), a plain remote route, the
      // encapsulated packet coming through again, and other traffic: all left alone.
      for (const pkt of [
        udpPacket({ src: POD_A, dst: REMOTE_POD }),
        udpPacket({ src: NODE, dst: PLAIN_REMOTE_POD }),
        r.data,
        udpPacket({ src: NODE, dst: PEER }),
        arpPacket(),
      ]) {
        const again = run('to_uplink', pkt);
        expect(again.retval).toBe(TC_ACT_OK);
        expect(again.data.equals(pkt)).toBe(true);
      }
      expect(delta(before, verdicts(obj))).toEqual({ host_ipip: 1, uplink_out: 5 });
    });

    it('drops IPIP from an address that is not a node, and fragmented IPIP', () => {
      const before = verdicts(obj);
      const inner = udpPacket({ src: REMOTE_POD, dst: POD_B });
      expect(run('from_uplink', ipipPacket(STRANGER, NODE, inner)).retval).toBe(TC_ACT_SHOT);
      const frag = ipipPacket(PEER, NODE, inner);
      frag.writeUInt16BE(0x2000, 20); // MF
      frag.writeUInt16BE(0, 24);
      frag.writeUInt16BE(inetChecksum(frag.subarray(14, 34)), 24);
      expect(run('from_uplink', frag).retval).toBe(TC_ACT_SHOT);
      expect(delta(before, verdicts(obj))).toEqual({ drop_ipip_source: 1, drop_ipip_fragment: 1 });
    });

    it('passes IPIP to other addresses and ordinary traffic to the node unchanged', () => {
      for (const pkt of [ipipPacket(PEER, '192.168.50.9', udpPacket()), udpPacket({ src: PEER, dst: NODE }), arpPacket()]) {
        const r = run('from_uplink', pkt);
        expect(r.retval).toBe(TC_ACT_OK);
        expect(r.data.equals(pkt)).toBe(true);
      }
    });
  });

  describe('malformed packets are dropped and counted, never passed half-parsed', () => {
    function mangle(pkt: Buffer, f: (b: Buffer) => void): Buffer {
      const b = Buffer.from(pkt);
      f(b);
      return b;
    }
    const good = () => udpPacket({ src: POD_A, dst: POD_B, sport: 4444 });
    const cases: { name: string; pkt: () => Buffer; reason: string }[] = [
      { name: 'IHL below 5', pkt: () => mangle(good(), (b) => (b[14] = 0x44)), reason: 'drop_ip_header' },
      { name: 'IPv4 version not 4', pkt: () => mangle(good(), (b) => (b[14] = 0x65)), reason: 'drop_ip_header' },
      { name: 'total length below the header', pkt: () => mangle(good(), (b) => b.writeUInt16BE(12, 16)), reason: 'drop_ip_header' },
      { name: 'total length beyond the packet', pkt: () => mangle(good(), (b) => b.writeUInt16BE(1400, 16)), reason: 'drop_ip_truncated' },
      { name: 'IHL beyond the packet', pkt: () => mangle(udpPacket({ payload: Buffer.alloc(0) }), (b) => { b[14] = 0x4f; b.writeUInt16BE(60, 16); }), reason: 'drop_ip_truncated' },
      { name: 'UDP header cut by the total length', pkt: () => mangle(good(), (b) => b.writeUInt16BE(24, 16)), reason: 'drop_l4_truncated' },
      {
        name: 'TCP header cut short',
        pkt: () => mangle(tcpPacket({ src: POD_A, dst: POD_B, sport: 1, dport: 2, flags: TCP.SYN }), (b) => b.writeUInt16BE(30, 16)),
        reason: 'drop_l4_truncated',
      },
      { name: 'TCP data offset below 5', pkt: () => tcpPacket({ src: POD_A, dst: POD_B, sport: 1, dport: 2, flags: TCP.SYN, doff: 4 }), reason: 'drop_l4_truncated' },
      { name: 'ICMP header cut short', pkt: () => mangle(icmpEcho({ src: POD_A, dst: POD_B, id: 9 }), (b) => b.writeUInt16BE(24, 16)), reason: 'drop_l4_truncated' },
    ];
    for (const c of cases) {
      it(`${c.name}: TC_ACT_SHOT, counted as ${c.reason}, no conntrack entry`, () => {
        const before = verdicts(obj);
        const ctBefore = ctEntries(obj).length;
        for (const prog of ['from_workload', 'to_workload', 'from_uplink']) expect(run(prog, c.pkt()).retval).toBe(TC_ACT_SHOT);
        expect(delta(before, verdicts(obj))).toEqual({ [c.reason]: 3 });
        expect(ctEntries(obj).length).toBe(ctBefore);
      });
    }

    it('a malformed inner packet of IPIP is dropped after decapsulation', () => {
      const before = verdicts(obj);
      const inner = mangle(udpPacket({ src: REMOTE_POD, dst: POD_B }), (b) => b.writeUInt16BE(24, 16));
      expect(run('from_uplink', ipipPacket(PEER, NODE, inner)).retval).toBe(TC_ACT_SHOT);
      expect(delta(before, verdicts(obj))).toEqual({ decap: 1, drop_l4_truncated: 1 });
    });
  });

  describe('conntrack', () => {
    function entry(a: string, b: string, pa: number, pb: number, proto: number) {
      const k = ctKey.encode({ addr_a: a, addr_b: b, port_a: pa, port_b: pb, proto });
      const found = ctEntries(obj).find((e) => ctKey.encode(e.key).equals(k));
      return found?.value ?? null;
    }

    it('follows a TCP connection through SYN, SYN-ACK, ACK, FIN, FIN and RST', () => {
      const A = POD_A;
      const B = POD_B;
      const send = (from: 'a' | 'b', flags: number) =>
        run('from_workload', from === 'a' ? tcpPacket({ src: A, dst: B, sport: 40000, dport: 80, flags }) : tcpPacket({ src: B, dst: A, sport: 80, dport: 40000, flags }));
      // 10.65.0.2 < 10.65.0.3, so A is the key's `a` side.
      const state = () => entry(A, B, 40000, 80, 6);
      expect(state()).toBeNull();
      const before = verdicts(obj);
      send('a', TCP.SYN);
      expect(state()).toMatchObject({ state: CT_STATE.SYN_SENT, flags: CT_FLAG.initA, packets: 1n });
      send('b', TCP.SYN | TCP.ACK);
      expect(state()?.state).toBe(CT_STATE.SYN_RECV);
      send('a', TCP.ACK);
      expect(state()?.state).toBe(CT_STATE.ESTABLISHED);
      send('b', TCP.ACK | TCP.PSH);
      expect(state()).toMatchObject({ state: CT_STATE.ESTABLISHED, packets: 4n });
      send('a', TCP.FIN | TCP.ACK);
      expect(state()).toMatchObject({ state: CT_STATE.FIN_WAIT, flags: CT_FLAG.initA | CT_FLAG.finA });
      send('b', TCP.FIN | TCP.ACK);
      expect(state()).toMatchObject({ state: CT_STATE.TIME_WAIT, flags: CT_FLAG.initA | CT_FLAG.finA | CT_FLAG.finB });
      // Only the first packet was a new flow (and asked policy).
      expect(delta(before, verdicts(obj)).ct_new).toBe(1);
      // A new SYN on the closed tuple starts a new flow.
      send('a', TCP.SYN);
      expect(state()).toMatchObject({ state: CT_STATE.SYN_SENT, packets: 1n });
      expect(delta(before, verdicts(obj)).ct_new).toBe(2);
      send('b', TCP.RST | TCP.ACK);
      expect(state()?.state).toBe(CT_STATE.CLOSE);
    });

    it('normalises the tuple: the responder can be the lower address', () => {
      run('from_workload', tcpPacket({ src: POD_B, dst: POD_A, sport: 50000, dport: 22, flags: TCP.SYN }));
      const v = entry(POD_A, POD_B, 22, 50000, 6);
      expect(v).toMatchObject({ state: CT_STATE.SYN_SENT, flags: 0 }); // initiator is b
      run('to_workload', tcpPacket({ src: POD_A, dst: POD_B, sport: 22, dport: 50000, flags: TCP.SYN | TCP.ACK }));
      expect(entry(POD_A, POD_B, 22, 50000, 6)?.state).toBe(CT_STATE.SYN_RECV);
    });

    it('picks up a TCP flow mid-way as established', () => {
      run('from_workload', tcpPacket({ src: POD_A, dst: POD_B, sport: 40001, dport: 443, flags: TCP.ACK }));
      expect(entry(POD_A, POD_B, 40001, 443, 6)?.state).toBe(CT_STATE.ESTABLISHED);
    });

    it('tracks UDP and ICMP echo flows: unreplied, then replied', () => {
      run('from_workload', udpPacket({ src: POD_A, dst: POD_B, sport: 5353, dport: 53 }));
      expect(entry(POD_A, POD_B, 5353, 53, 17)?.state).toBe(CT_STATE.UNREPLIED);
      run('from_workload', udpPacket({ src: POD_B, dst: POD_A, sport: 53, dport: 5353 }));
      expect(entry(POD_A, POD_B, 5353, 53, 17)?.state).toBe(CT_STATE.REPLIED);

      run('from_workload', icmpEcho({ src: POD_A, dst: POD_B, id: 777 }));
      expect(entry(POD_A, POD_B, 777, 777, 1)).toMatchObject({ state: CT_STATE.UNREPLIED, flags: CT_FLAG.initA });
      run('from_workload', icmpEcho({ src: POD_B, dst: POD_A, id: 777, reply: true }));
      expect(entry(POD_A, POD_B, 777, 777, 1)?.state).toBe(CT_STATE.REPLIED);
    });

    it('the GC deletes entries idle past their timeout, by the injected clock, and nothing earlier', () => {
      run('from_workload', udpPacket({ src: POD_A, dst: POD_B, sport: 6000, dport: 6001 }));
      const v = entry(POD_A, POD_B, 6000, 6001, 17);
      expect(v).not.toBeNull();
      const lastSeen = v?.last_seen ?? 0n;
      const map = obj.map('ct');
      // Unreplied UDP lives 30 s.
      collectConntrack(map, lastSeen + 29_000_000_000n);
      expect(entry(POD_A, POD_B, 6000, 6001, 17)).not.toBeNull();
      // Established TCP lives an hour: the flow of the mid-way test is still there.
      expect(entry(POD_A, POD_B, 40001, 443, 6)).not.toBeNull();
      const r = collectConntrack(map, lastSeen + 31_000_000_000n);
      expect(r.expired).toBeGreaterThanOrEqual(1);
      expect(entry(POD_A, POD_B, 6000, 6001, 17)).toBeNull();
    });
  });
});
