/**
 * A pure codec for netlink messages and their attributes (TLVs). No I/O: the addon only
 * carries the bytes (native/netlink.cc), so everything here is unit tested and fuzzed.
 *
 * Netlink is in host byte order, except addresses (network order, copied as bytes).
 * Messages and attributes are padded to 4 bytes.
 */
import { endianness } from 'node:os';

import { NLA_F_NESTED, NLA_TYPE_MASK, NLMSG, NLMSG_HDRLEN, NLMSGERR_ATTR, NLM_F } from './netlink-constants.js';

const LE = endianness() === 'LE';

export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** One attribute to encode: raw bytes, or nested attributes. */
export interface Attr {
  type: number;
  value: Buffer | Attr[];
}

export function u8Bytes(v: number): Buffer {
  return Buffer.from([v & 0xff]);
}

export function u16Bytes(v: number): Buffer {
  const b = Buffer.alloc(2);
  if (LE) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}

export function u32Bytes(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}

export function s32Bytes(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeInt32LE(v);
  else b.writeInt32BE(v);
  return b;
}

/** A NUL-terminated string attribute value. */
export function stringBytes(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
}

export function readU16(b: Buffer, off = 0): number {
  return LE ? b.readUInt16LE(off) : b.readUInt16BE(off);
}

export function readU32(b: Buffer, off = 0): number {
  return LE ? b.readUInt32LE(off) : b.readUInt32BE(off);
}

export function readS32(b: Buffer, off = 0): number {
  return LE ? b.readInt32LE(off) : b.readInt32BE(off);
}

export function writeU16(b: Buffer, v: number, off: number): void {
  if (LE) b.writeUInt16LE(v, off);
  else b.writeUInt16BE(v, off);
}

export function writeU32(b: Buffer, v: number, off: number): void {
  if (LE) b.writeUInt32LE(v >>> 0, off);
  else b.writeUInt32BE(v >>> 0, off);
}

export function writeS32(b: Buffer, v: number, off: number): void {
  if (LE) b.writeInt32LE(v, off);
  else b.writeInt32BE(v, off);
}

/** Encodes attributes back to back, each padded to 4 bytes. */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const nested = Array.isArray(a.value);
    const body = nested ? encodeAttrs(a.value as Attr[]) : (a.value as Buffer);
    const len = 4 + body.length;
    if (len > 0xffff) throw new RangeError(`netlink attribute ${a.type} is ${len} bytes; at most 65535 fit`);
    const head = Buffer.alloc(4);
    writeU16(head, len, 0);
    writeU16(head, (a.type & NLA_TYPE_MASK) | (nested ? NLA_F_NESTED : 0), 2);
    parts.push(head, body, Buffer.alloc(align4(len) - len));
  }
  return Buffer.concat(parts);
}

/** A decoded attribute: type without the NESTED/BYTEORDER flags, and its payload. */
export interface RawAttr {
  type: number;
  nested: boolean;
  value: Buffer;
}

/**
 * Decodes attributes back to back. A truncated or overlong attribute ends the list
 * (the kernel never sends one; a malformed input must not throw past the codec).
 */
export function decodeAttrs(buf: Buffer): RawAttr[] {
  const out: RawAttr[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = readU16(buf, off);
    const type = readU16(buf, off + 2);
    if (len < 4 || off + len > buf.length) break;
    out.push({ type: type & NLA_TYPE_MASK, nested: (type & NLA_F_NESTED) !== 0, value: buf.subarray(off + 4, off + len) });
    off += align4(len);
  }
  return out;
}

/** Attributes by type; when a type repeats, the last one wins (as the kernel's nla_parse). */
export function attrMap(buf: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (const a of decodeAttrs(buf)) m.set(a.type, a.value);
  return m;
}

/** A string attribute: up to the first NUL. */
export function attrString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the 16-byte header. */
  payload: Buffer;
}

/** Encodes one message: the 16-byte header, a fixed family header, then attributes. */
export function encodeMessage(m: { type: number; flags: number; seq: number; pid?: number; header: Buffer; attrs?: readonly Attr[] }): Buffer {
  const attrs = encodeAttrs(m.attrs ?? []);
  const headerPad = Buffer.alloc(align4(m.header.length) - m.header.length);
  const len = NLMSG_HDRLEN + m.header.length + headerPad.length + attrs.length;
  const hdr = Buffer.alloc(NLMSG_HDRLEN);
  writeU32(hdr, len, 0);
  writeU16(hdr, m.type, 4);
  writeU16(hdr, m.flags, 6);
  writeU32(hdr, m.seq, 8);
  writeU32(hdr, m.pid ?? 0, 12);
  return Buffer.concat([hdr, m.header, headerPad, attrs]);
}

/** Splits a buffer of messages; throws on a length that does not fit (a malformed reply). */
export function decodeMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = readU32(buf, off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new RangeError(`malformed netlink message at offset ${off}: length ${len}, ${buf.length - off} bytes left`);
    }
    out.push({
      type: readU16(buf, off + 4),
      flags: readU16(buf, off + 6),
      seq: readU32(buf, off + 8),
      pid: readU32(buf, off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  if (off < buf.length && buf.length - off >= NLMSG_HDRLEN) throw new RangeError('malformed netlink message stream');
  return out;
}

/** The content of an NLMSG_ERROR: errno 0 is an ACK; `message` is the kernel's extended ACK text. */
export interface NlError {
  /** Positive errno, 0 for success. */
  errno: number;
  message?: string;
  /** Byte offset in our request of the attribute the kernel blamed. */
  offset?: number;
}

export function decodeError(msg: NlMessage): NlError {
  if (msg.payload.length < 4) return { errno: 0 };
  const v = readS32(msg.payload, 0);
  const errno = v === 0 ? 0 : -v;
  const out: NlError = { errno };
  if ((msg.flags & NLM_F.ACK_TLVS) === 0) return out;
  // struct nlmsgerr = error + the request's header, followed by the request's payload unless capped.
  let tlvStart = 4 + NLMSG_HDRLEN;
  if ((msg.flags & NLM_F.CAPPED) === 0 && msg.payload.length >= tlvStart) {
    tlvStart = 4 + align4(readU32(msg.payload, 4));
  }
  if (tlvStart > msg.payload.length) return out;
  const attrs = attrMap(msg.payload.subarray(tlvStart));
  const text = attrs.get(NLMSGERR_ATTR.MSG);
  if (text) out.message = attrString(text);
  const offs = attrs.get(NLMSGERR_ATTR.OFFS);
  if (offs && offs.length >= 4) out.offset = readU32(offs);
  return out;
}

/** NLMSG_DONE may carry an error code (dumps that failed part way). */
export function decodeDone(msg: NlMessage): NlError {
  if (msg.payload.length < 4) return { errno: 0 };
  const v = readS32(msg.payload, 0);
  return { errno: v < 0 ? -v : 0 };
}

export function isTerminal(msg: NlMessage): boolean {
  return msg.type === NLMSG.DONE || msg.type === NLMSG.ERROR;
}

// ----- addresses -----

/**
 * The dotted quad in s[from, to) as a 32-bit unsigned number, or -1 when it is not one:
 * four octets 0-255 without leading zeros. A char loop, not a regex and a split: checkRoute
 * runs it for every route of a batch, and a learned table is 100,000 routes.
 */
export function ipv4Value(s: string, from = 0, to = s.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // a leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

export function isIpv4(s: string): boolean {
  return ipv4Value(s) >= 0;
}

export function ipv4Bytes(s: string): Buffer {
  if (!isIpv4(s)) throw new RangeError(`'${s}' is not an IPv4 address`);
  return Buffer.from(s.split('.').map(Number));
}

export function ipv4String(b: Buffer): string {
  if (b.length !== 4) throw new RangeError(`an IPv4 address is 4 bytes, got ${b.length}`);
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

export interface Ipv4Cidr {
  address: string;
  prefixLen: number;
}

/** `a.b.c.d/n` (or a bare address, as /32). */
export function parseIpv4Cidr(s: string): Ipv4Cidr {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  if (ipv4Value(addr) < 0) throw new RangeError(`'${s}' is not an IPv4 address or CIDR`);
  if (slash < 0) return { address: addr, prefixLen: 32 };
  const prefixLen = prefixLengthOf(s, slash + 1);
  if (prefixLen < 0) throw new RangeError(`'${s}' has an invalid prefix length (0 to 32)`);
  return { address: addr, prefixLen };
}

/** The prefix length written from s[from] to its end (0-32, no leading zero), or -1. */
export function prefixLengthOf(s: string, from: number): number {
  const n = s.length - from;
  const d0 = s.charCodeAt(from) - 48;
  if (n === 1) return d0 >= 0 && d0 <= 9 ? d0 : -1;
  const d1 = s.charCodeAt(from + 1) - 48;
  if (n !== 2 || d0 < 1 || d0 > 3 || d1 < 0 || d1 > 9) return -1;
  const len = d0 * 10 + d1;
  return len <= 32 ? len : -1;
}

/** True when the address has no bits set beyond the prefix. */
export function hostBitsZero(c: Ipv4Cidr): boolean {
  const b = ipv4Bytes(c.address);
  const n = b.readUInt32BE(0);
  const mask = c.prefixLen === 0 ? 0 : (0xffffffff << (32 - c.prefixLen)) >>> 0;
  return ((n & ~mask) >>> 0) === 0;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function isMac(s: string): boolean {
  return MAC_RE.test(s);
}

export function macBytes(s: string): Buffer {
  if (!isMac(s)) throw new RangeError(`'${s}' is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  return Buffer.from(s.split(':').map((h) => parseInt(h, 16)));
}

export function macString(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
