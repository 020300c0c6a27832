/**
 * Helpers of the dataplane tests: the dataplane object under BPF_PROG_TEST_RUN, map
 * writes through the codecs, verdict counters, and crafted TCP / ICMP / IPIP packets
 * (plain byte building, independent of the programs under test).
 */
import { ctKey, ctValue, type CtKey, type CtValue } from '../../src/dataplane/bpf/codecs/conntrack.js';
import { ENDPOINT_FLAG, endpointKey, endpointValue } from '../../src/dataplane/bpf/codecs/endpoints.js';
import { ROUTE_FLAG, ROUTE_TYPE, routeKey, routeKeyOf, routeValue } from '../../src/dataplane/bpf/codecs/routes.js';
import { readVerdicts } from '../../src/dataplane/bpf/verdict-counters.js';
import { ipv4Global } from '../../src/dataplane/bpf/native-kernel.js';
import { BpfObject, bpfObjectPath } from '../../src/native/index.js';
import { inetChecksum, ipv4Bytes, macBytes } from './packets.js';

export const TC_ACT_REDIRECT = 7;
export const dataplaneObject = (): string => bpfObjectPath('tabby_dataplane');

export function loadDataplane(pinDir: string, nodeIPv4: string, uplinkIfindex: number): BpfObject {
  return BpfObject.open(dataplaneObject(), { pinRoot: pinDir, globals: { node_ipv4: ipv4Global(nodeIPv4), uplink_ifindex: uplinkIfindex } });
}

export function addRoute(obj: BpfObject, cidr: string, r: { type: keyof typeof ROUTE_TYPE; ifindex?: number; nextHop?: string; ipip?: boolean }): void {
  obj.map('routes').update(
    routeKey.encode(routeKeyOf(cidr)),
    routeValue.encode({ type: ROUTE_TYPE[r.type], flags: r.ipip ? ROUTE_FLAG.ipip : 0, ifindex: r.ifindex ?? 0, next_hop: r.nextHop ?? '0.0.0.0' }),
  );
}

export function addEndpoint(obj: BpfObject, ifindex: number, mac?: string): void {
  obj.map('endpoints').update(endpointKey.encode({ ifindex }), endpointValue.encode({ mac: mac ?? '00:00:00:00:00:00', flags: mac ? ENDPOINT_FLAG.macKnown : 0, identity: 0 }));
}

export function verdicts(obj: BpfObject): Record<string, bigint> {
  return Object.fromEntries(Object.entries(readVerdicts(obj.map('verdicts'))).map(([k, v]) => [k, v.packets]));
}

/** Counter increments between two readings (only the slots that moved). */
export function delta(before: Record<string, bigint>, after: Record<string, bigint>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0n)) out[k] = Number(v - (before[k] ?? 0n));
  return out;
}

export function ctEntries(obj: BpfObject): { key: CtKey; value: CtValue }[] {
  return [...obj.map('ct').entries()].map((e) => ({ key: ctKey.decode(e.key), value: ctValue.decode(e.value as Buffer) }));
}

function eth(type = 0x0800, dst = '02:00:00:00:00:02', src = '02:00:00:00:00:01'): Buffer {
  return Buffer.concat([macBytes(dst), macBytes(src), Buffer.from([type >> 8, type & 0xff])]);
}

/** A 20-byte IPv4 header with its checksum. */
export function ipv4Header(o: { src: string; dst: string; proto: number; payloadLen: number; ttl?: number; id?: number; df?: boolean; tos?: number }): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[1] = o.tos ?? 0;
  ip.writeUInt16BE(20 + o.payloadLen, 2);
  ip.writeUInt16BE(o.id ?? 0x4242, 4);
  ip.writeUInt16BE(o.df === false ? 0 : 0x4000, 6);
  ip[8] = o.ttl ?? 64;
  ip[9] = o.proto;
  ipv4Bytes(o.src).copy(ip, 12);
  ipv4Bytes(o.dst).copy(ip, 16);
  ip.writeUInt16BE(inetChecksum(ip), 10);
  return ip;
}

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** Ethernet + IPv4 + TCP (20 bytes, checksum over the pseudo header) + payload. */
export function tcpPacket(o: { src: string; dst: string; sport: number; dport: number; flags: number; payload?: Buffer; doff?: number }): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(o.sport, 0);
  tcp.writeUInt16BE(o.dport, 2);
  tcp.writeUInt32BE(1000, 4);
  tcp.writeUInt32BE(o.flags & TCP.ACK ? 2000 : 0, 8);
  tcp[12] = (o.doff ?? 5) << 4;
  tcp[13] = o.flags;
  tcp.writeUInt16BE(65535, 14);
  const len = tcp.length + payload.length;
  const pseudo = Buffer.concat([ipv4Bytes(o.src), ipv4Bytes(o.dst), Buffer.from([0, 6, len >> 8, len & 0xff]), tcp, payload]);
  tcp.writeUInt16BE(inetChecksum(pseudo), 16);
  return Buffer.concat([eth(), ipv4Header({ src: o.src, dst: o.dst, proto: 6, payloadLen: len }), tcp, payload]);
}

/** Ethernet + IPv4 + ICMP echo request (or reply). */
export function icmpEcho(o: { src: string; dst: string; id: number; seq?: number; reply?: boolean }): Buffer {
  const icmp = Buffer.alloc(16);
  icmp[0] = o.reply ? 0 : 8;
  icmp.writeUInt16BE(o.id, 4);
  icmp.writeUInt16BE(o.seq ?? 1, 6);
  icmp.write('tabbyping', 8);
  icmp.writeUInt16BE(inetChecksum(icmp), 2);
  return Buffer.concat([eth(), ipv4Header({ src: o.src, dst: o.dst, proto: 1, payloadLen: icmp.length }), icmp]);
}

/** `inner` (an Ethernet frame) put in IPIP from `src` to `dst`, as another node would send it. */
export function ipipPacket(src: string, dst: string, inner: Buffer, o: { id?: number } = {}): Buffer {
  const ip = inner.subarray(14);
  return Buffer.concat([eth(), ipv4Header({ src, dst, proto: 4, payloadLen: ip.length, ttl: 64, ...(o.id !== undefined ? { id: o.id } : {}) }), ip]);
}

/** The IPv4 packet with its TTL lowered by one and the checksum recomputed (what a router sends). */
export function decTtl(frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  out[14 + 8] = (out[14 + 8] ?? 0) - 1;
  out.writeUInt16BE(0, 14 + 10);
  out.writeUInt16BE(inetChecksum(out.subarray(14, 34)), 14 + 10);
  return out;
}
