/** RFC 4271 §5.1 attributes: ORIGIN, NEXT_HOP, MED, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR. */
import { formatIpv4, parseIpv4 } from '../address.js';
import { BgpEncodeError } from '../errors.js';
import type { Aggregator, Origin } from '../types.js';
import { Malformed } from './codes.js';

const ORIGINS: readonly Origin[] = ['igp', 'egp', 'incomplete'];

export function decodeOrigin(v: Buffer): Origin | Malformed {
  if (v.length !== 1) return new Malformed(`ORIGIN must be 1 byte, got ${v.length}`);
  return ORIGINS[v[0]!] ?? new Malformed(`ORIGIN value ${v[0]} is undefined`);
}

export function encodeOrigin(o: Origin): Buffer {
  const i = ORIGINS.indexOf(o);
  if (i < 0) throw new BgpEncodeError(`ORIGIN '${String(o)}' must be igp, egp or incomplete`);
  return Buffer.from([i]);
}

/** NEXT_HOP: 4 bytes, and a unicast host address (not 0/8, 127/8, multicast or reserved). */
export function decodeNextHop(v: Buffer): string | Malformed {
  if (v.length !== 4) return new Malformed(`NEXT_HOP must be 4 bytes, got ${v.length}`);
  const first = v[0]!;
  if (first === 0 || first === 127 || first >= 224) return new Malformed(`NEXT_HOP ${formatIpv4(v)} is not a unicast host address`);
  return formatIpv4(v);
}

export function encodeIpv4(what: string, addr: string): Buffer {
  const b = parseIpv4(addr);
  if (!b) throw new BgpEncodeError(`${what} '${addr}' is not a dotted-quad IPv4 address`);
  return b;
}

/** MED, LOCAL_PREF: exactly 4 bytes. */
export function decodeU32(what: string, v: Buffer): number | Malformed {
  if (v.length !== 4) return new Malformed(`${what} must be 4 bytes, got ${v.length}`);
  return v.readUInt32BE(0);
}

export function encodeU32(what: string, n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new BgpEncodeError(`${what} ${n} must be 0..4294967295`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

export function decodeAtomicAggregate(v: Buffer): true | Malformed {
  return v.length === 0 ? true : new Malformed(`ATOMIC_AGGREGATE must be empty, got ${v.length} bytes`);
}

/** AGGREGATOR (asSize per session) and AS4_AGGREGATOR (always 4): AS then IPv4 address. */
export function decodeAggregator(what: string, v: Buffer, asSize: 2 | 4): Aggregator | Malformed {
  if (v.length !== asSize + 4) return new Malformed(`${what} must be ${asSize + 4} bytes, got ${v.length}`);
  return { asn: asSize === 2 ? v.readUInt16BE(0) : v.readUInt32BE(0), address: formatIpv4(v, asSize) };
}

export function encodeAggregator(what: string, a: Aggregator, asSize: 2 | 4): Buffer {
  const max = asSize === 2 ? 0xffff : 0xffffffff;
  if (!Number.isInteger(a.asn) || a.asn < 0 || a.asn > max) {
    throw new BgpEncodeError(asSize === 2
      ? `${what}: AS ${a.asn} does not fit a 2-octet session; use toTwoOctetAttributes() (AS_TRANS + AS4_AGGREGATOR)`
      : `${what}: AS ${a.asn} must be 0..4294967295`);
  }
  const b = Buffer.alloc(asSize + 4);
  if (asSize === 2) b.writeUInt16BE(a.asn, 0);
  else b.writeUInt32BE(a.asn, 0);
  encodeIpv4(`${what} address`, a.address).copy(b, asSize);
  return b;
}
