/**
 * Crafted packets for BPF_PROG_TEST_RUN: Ethernet + IPv4 + UDP with correct checksums, and
 * broken variants. Plain byte building, independent of the codecs under test.
 */

export function macBytes(mac: string): Buffer {
  const parts = mac.split(':').map((p) => parseInt(p, 16));
  if (parts.length !== 6 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`bad MAC ${mac}`);
  return Buffer.from(parts);
}

export function ipv4Bytes(addr: string): Buffer {
  return Buffer.from(addr.split('.').map(Number));
}

/** The Internet checksum (RFC 1071) of `buf`. */
export function inetChecksum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2 === 1) sum += (buf[buf.length - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface UdpPacketOptions {
  srcMac?: string;
  dstMac?: string;
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  ttl?: number;
  payload?: Buffer;
  /** IPv4 protocol number to put in the header (17 = UDP). */
  protocol?: number;
}

/** Ethernet + IPv4 (20 bytes, DF) + UDP + payload, both checksums filled in. */
export function udpPacket(o: UdpPacketOptions = {}): Buffer {
  const payload = o.payload ?? Buffer.from('tabby test payload');
  const eth = Buffer.concat([macBytes(o.dstMac ?? '02:00:00:00:00:02'), macBytes(o.srcMac ?? '02:00:00:00:00:01'), Buffer.from([0x08, 0x00])]);
  const udpLen = 8 + payload.length;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udpLen, 2);
  ip.writeUInt16BE(0x1234, 4);
  ip.writeUInt16BE(0x4000, 6);
  ip[8] = o.ttl ?? 64;
  ip[9] = o.protocol ?? 17;
  ipv4Bytes(o.src ?? '192.0.2.1').copy(ip, 12);
  ipv4Bytes(o.dst ?? '192.0.2.2').copy(ip, 16);
  ip.writeUInt16BE(inetChecksum(ip), 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(o.sport ?? 40000, 0);
  udp.writeUInt16BE(o.dport ?? 5353, 2);
  udp.writeUInt16BE(udpLen, 4);
  const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17]), Buffer.from([udpLen >> 8, udpLen & 0xff]), udp, payload]);
  const csum = inetChecksum(pseudo);
  udp.writeUInt16BE(csum === 0 ? 0xffff : csum, 6);
  return Buffer.concat([eth, ip, udp, payload]);
}

/** An ARP request (not IPv4): the programs must let it pass untouched. */
export function arpPacket(): Buffer {
  const eth = Buffer.concat([macBytes('ff:ff:ff:ff:ff:ff'), macBytes('02:00:00:00:00:01'), Buffer.from([0x08, 0x06])]);
  const arp = Buffer.from([0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 192, 0, 2, 2]);
  return Buffer.concat([eth, arp]);
}
