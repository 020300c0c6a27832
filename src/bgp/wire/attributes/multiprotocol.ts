/** MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760) for IPv4 and IPv6 unicast. */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../address.js';
import { BgpEncodeError } from '../errors.js';
import { decodePrefixes, encodePrefixes } from '../prefix.js';
import { AFI_IPV4, AFI_IPV6, SAFI_UNICAST, type MpReach, type MpUnreach } from '../types.js';
import { Malformed } from './codes.js';

export function isSupportedFamily(afi: number, safi: number): boolean {
  return (afi === AFI_IPV4 || afi === AFI_IPV6) && safi === SAFI_UNICAST;
}

/** A family we do not carry: the caller ignores the attribute (RFC 4760 §7). */
export class UnsupportedFamily {
  constructor(readonly afi: number, readonly safi: number) {}
}

export function decodeMpReach(v: Buffer): MpReach | Malformed | UnsupportedFamily {
  if (v.length < 5) return new Malformed(`MP_REACH_NLRI must be at least 5 bytes, got ${v.length}`);
  const afi = v.readUInt16BE(0);
  const safi = v[2]!;
  if (!isSupportedFamily(afi, safi)) return new UnsupportedFamily(afi, safi);
  const nhLen = v[3]!;
  const nlriStart = 4 + nhLen + 1; // one reserved byte after the next hop
  if (nlriStart > v.length) return new Malformed(`MP_REACH_NLRI next hop length ${nhLen} overruns the attribute`);
  let nextHop: string;
  let linkLocalNextHop: string | undefined;
  if (afi === AFI_IPV4) {
    if (nhLen !== 4) return new Malformed(`IPv4 unicast MP_REACH_NLRI next hop must be 4 bytes, got ${nhLen}`);
    nextHop = formatIpv4(v, 4);
  } else {
    if (nhLen !== 16 && nhLen !== 32) return new Malformed(`IPv6 unicast MP_REACH_NLRI next hop must be 16 or 32 bytes, got ${nhLen}`);
    nextHop = formatIpv6(v, 4);
    if (nhLen === 32) linkLocalNextHop = formatIpv6(v, 20);
  }
  const nlri = decodePrefixes(v, nlriStart, v.length, afi);
  if (!nlri) return new Malformed('MP_REACH_NLRI prefixes cannot be parsed');
  return linkLocalNextHop === undefined ? { afi, safi, nextHop, nlri } : { afi, safi, nextHop, linkLocalNextHop, nlri };
}

export function encodeMpReach(m: MpReach): Buffer {
  if (!isSupportedFamily(m.afi, m.safi)) throw new BgpEncodeError(`MP_REACH_NLRI for AFI ${m.afi} SAFI ${m.safi} is not supported (IPv4/IPv6 unicast only)`);
  let nh: Buffer | null;
  if (m.afi === AFI_IPV4) {
    if (m.linkLocalNextHop !== undefined) throw new BgpEncodeError('an IPv4 MP_REACH_NLRI has no link-local next hop');
    nh = parseIpv4(m.nextHop);
  } else {
    nh = parseIpv6(m.nextHop);
    if (nh && m.linkLocalNextHop !== undefined) {
      const ll = parseIpv6(m.linkLocalNextHop);
      if (!ll) throw new BgpEncodeError(`link-local next hop '${m.linkLocalNextHop}' is not an IPv6 address`);
      nh = Buffer.concat([nh, ll]);
    }
  }
  if (!nh) throw new BgpEncodeError(`MP_REACH_NLRI next hop '${m.nextHop}' is not an address of AFI ${m.afi}`);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(m.afi, 0);
  head[2] = m.safi;
  head[3] = nh.length;
  return Buffer.concat([head, nh, Buffer.from([0]), encodePrefixes(m.nlri, m.afi)]);
}

/**
 * MP_UNREACH_NLRI. An unsupported family is kept only when it has no prefixes (an
 * End-of-RIB marker someone may want to see); otherwise it is ignored.
 */
export function decodeMpUnreach(v: Buffer): MpUnreach | Malformed | UnsupportedFamily {
  if (v.length < 3) return new Malformed(`MP_UNREACH_NLRI must be at least 3 bytes, got ${v.length}`);
  const afi = v.readUInt16BE(0);
  const safi = v[2]!;
  if (!isSupportedFamily(afi, safi)) return v.length === 3 ? { afi, safi, withdrawn: [] } : new UnsupportedFamily(afi, safi);
  const withdrawn = decodePrefixes(v, 3, v.length, afi);
  if (!withdrawn) return new Malformed('MP_UNREACH_NLRI prefixes cannot be parsed');
  return { afi, safi, withdrawn };
}

export function encodeMpUnreach(m: MpUnreach): Buffer {
  if (!Number.isInteger(m.afi) || m.afi < 0 || m.afi > 0xffff || !Number.isInteger(m.safi) || m.safi < 0 || m.safi > 0xff) {
    throw new BgpEncodeError(`MP_UNREACH_NLRI AFI ${m.afi} / SAFI ${m.safi} out of range`);
  }
  if (m.withdrawn.length > 0 && !isSupportedFamily(m.afi, m.safi)) {
    throw new BgpEncodeError(`MP_UNREACH_NLRI prefixes for AFI ${m.afi} SAFI ${m.safi} are not supported (IPv4/IPv6 unicast only)`);
  }
  const head = Buffer.alloc(3);
  head.writeUInt16BE(m.afi, 0);
  head[2] = m.safi;
  return Buffer.concat([head, m.withdrawn.length > 0 ? encodePrefixes(m.withdrawn, m.afi) : Buffer.alloc(0)]);
}
