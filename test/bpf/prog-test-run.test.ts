// Packets through the counters programs with BPF_PROG_TEST_RUN: verdicts, bytes out equal
// bytes in, counters move, the const volatile drop knob works, malformed packets are counted.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { skBuff } from '../../src/dataplane/bpf/codecs/skb.js';
import { BpfObject } from '../../src/native/index.js';
import { isRoot, needsRoot } from '../support/root.js';
import { arpPacket, inetChecksum, udpPacket } from './packets.js';
import { countersObject, ensureBpffs, newPinDir, readCounters, removePinDir, sweepStalePins, TC_ACT_OK, TC_ACT_SHOT } from './support.js';

// BPF_PROG_TEST_RUN runs tc programs on the loopback device of the caller's namespace
// unless ctx names another ifindex; we name lo (1) explicitly so the counter key is known.
const LO = 1;
const ctx = skBuff.encode({ len: 0, mark: 0, priority: 0, ingress_ifindex: 0, ifindex: LO });

describe.skipIf(!isRoot)(needsRoot('counters programs under BPF_PROG_TEST_RUN'), () => {
  const dirs: string[] = [];
  const objects: BpfObject[] = [];

  function load(globals: Record<string, number> = {}): BpfObject {
    const dir = newPinDir();
    dirs.push(dir);
    const obj = BpfObject.open(countersObject(), { pinRoot: dir, globals });
    objects.push(obj);
    return obj;
  }

  beforeAll(() => {
    ensureBpffs();
    sweepStalePins();
  });
  afterEach(() => {
    for (const o of objects.splice(0)) o.close();
    for (const d of dirs.splice(0)) removePinDir(d);
  });
  afterAll(() => {
    for (const d of dirs.splice(0)) removePinDir(d);
  });

  it('the crafted packet is well formed (checksums verify)', () => {
    const pkt = udpPacket();
    expect(inetChecksum(pkt.subarray(14, 34))).toBe(0);
    const udpLen = pkt.readUInt16BE(38);
    const pseudo = Buffer.concat([pkt.subarray(26, 34), Buffer.from([0, 17, udpLen >> 8, udpLen & 0xff]), pkt.subarray(34)]);
    expect(inetChecksum(pseudo)).toBe(0);
  });

  it('passes a UDP packet unchanged with TC_ACT_OK and counts it', () => {
    const obj = load();
    const map = obj.map('counters');
    const pkt = udpPacket();
    for (const name of ['count_ingress', 'count_egress'] as const) {
      const r = obj.program(name).testRun({ data: pkt, ctx });
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.data.equals(pkt)).toBe(true);
      expect(r.ctx).not.toBeNull();
      expect(skBuff.decode(r.ctx ?? Buffer.alloc(0)).ifindex).toBe(LO);
    }
    for (const dir of ['ingress', 'egress'] as const) {
      expect(readCounters(map, LO, dir)).toEqual({ packets: 1n, bytes: BigInt(pkt.length), dropped: 0n, malformed: 0n });
    }
  });

  it('counts every repetition', () => {
    const obj = load();
    const pkt = udpPacket({ payload: Buffer.alloc(100, 7) });
    const r = obj.program('count_ingress').testRun({ data: pkt, ctx, repeat: 10 });
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.duration).toBeGreaterThanOrEqual(0);
    expect(readCounters(obj.map('counters'), LO, 'ingress')).toMatchObject({ packets: 10n, bytes: BigInt(10 * pkt.length) });
  });

  it('lets non-IP packets pass', () => {
    const obj = load({ drop_ipv4_proto: 17 });
    const arp = arpPacket();
    const r = obj.program('count_ingress').testRun({ data: arp, ctx });
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data.equals(arp)).toBe(true);
    expect(readCounters(obj.map('counters'), LO, 'ingress')).toMatchObject({ packets: 1n, dropped: 0n });
  });

  it('drops UDP with TC_ACT_SHOT when drop_ipv4_proto is 17, and counts the drop', () => {
    const obj = load({ drop_ipv4_proto: 17 });
    const map = obj.map('counters');
    const pkt = udpPacket();
    const r = obj.program('count_egress').testRun({ data: pkt, ctx });
    expect(r.retval).toBe(TC_ACT_SHOT);
    expect(readCounters(map, LO, 'egress')).toEqual({ packets: 1n, bytes: BigInt(pkt.length), dropped: 1n, malformed: 0n });
    // Other protocols still pass.
    const tcpish = udpPacket({ protocol: 6 });
    expect(obj.program('count_egress').testRun({ data: tcpish, ctx }).retval).toBe(TC_ACT_OK);
    expect(readCounters(map, LO, 'egress')).toMatchObject({ packets: 2n, dropped: 1n });
  });

  it('the default object (drop_ipv4_proto 0) does not drop UDP', () => {
    const obj = load({ drop_ipv4_proto: 0 });
    expect(obj.program('count_ingress').testRun({ data: udpPacket(), ctx }).retval).toBe(TC_ACT_OK);
  });

  it('counts a truncated packet as malformed and drops it', () => {
    const obj = load();
    const map = obj.map('counters');
    // Ethernet + IPv4 header + 4 of UDP's 8 bytes: the IPv4 total length says 46 bytes of IP.
    // (The kernel refuses test-run packets shorter than Ethernet + 20 bytes of IPv4, so a
    // header cut in half cannot be fed in; the program's check for it runs on real traffic.)
    const truncated = udpPacket().subarray(0, 14 + 20 + 4);
    const r = obj.program('count_ingress').testRun({ data: truncated, ctx });
    expect(r.retval).toBe(TC_ACT_SHOT);
    expect(readCounters(map, LO, 'ingress')).toEqual({ packets: 1n, bytes: BigInt(truncated.length), dropped: 1n, malformed: 1n });

    const longIhl = Buffer.from(udpPacket().subarray(0, 14 + 20));
    longIhl[14] = 0x4f; // IHL 15: a 60-byte header in a packet that has 20
    longIhl.writeUInt16BE(20, 16);
    expect(obj.program('count_ingress').testRun({ data: longIhl, ctx }).retval).toBe(TC_ACT_SHOT);
    const shortIhl = Buffer.from(udpPacket());
    shortIhl[14] = 0x44; // IHL 4 (< 5)
    expect(obj.program('count_ingress').testRun({ data: shortIhl, ctx }).retval).toBe(TC_ACT_SHOT);
    const badLen = Buffer.from(udpPacket());
    badLen.writeUInt16BE(12, 16); // total length shorter than the header
    expect(obj.program('count_ingress').testRun({ data: badLen, ctx }).retval).toBe(TC_ACT_SHOT);
    expect(readCounters(map, LO, 'ingress')).toMatchObject({ packets: 4n, dropped: 4n, malformed: 4n });

    // Ethernet padding after a complete packet is not malformed.
    const padded = Buffer.concat([udpPacket({ payload: Buffer.alloc(2) }), Buffer.alloc(16)]);
    expect(obj.program('count_ingress').testRun({ data: padded, ctx }).retval).toBe(TC_ACT_OK);
    expect(readCounters(map, LO, 'ingress')).toMatchObject({ packets: 5n, malformed: 4n });
  });
});
