/**
 * Route messages for a batch, written straight into one growing buffer. Pure.
 *
 * The general codec (netlink-route-codec.ts + encodeMessage) builds a header Buffer, an
 * attribute list and a Buffer per address for every route, then joins them: fine for one
 * route, but for 100,000 routes the allocations cost more than the kernel's work. This
 * writes the same bytes (a unit test holds it to the general codec) with no per-route
 * allocation. Routes must already have passed checkRoute (addresses are not re-validated).
 */
import { endianness } from 'node:os';

import { AF_INET, NLMSG_HDRLEN, NLM_F, RTA, RTMSG_LEN, RTM, RTNH_F, RT_SCOPES, RT_TABLE } from './netlink-constants.js';
import { defaultScope, routeTypeNumber, type RouteSpec } from './netlink-route-codec.js';

export type RouteBatchKind = 'replace' | 'create' | 'delete';

/** The largest route message: header, rtmsg and six 8-byte attributes. */
const MAX_ROUTE_MESSAGE = NLMSG_HDRLEN + RTMSG_LEN + 6 * 8;

export class RouteBatchEncoder {
  #buf: Buffer;
  #view: DataView;
  #len = 0;
  #gateway: string | undefined;
  #gatewayBytes = 0;
  readonly #offsets: number[] = [];

  constructor(expected = 64) {
    this.#buf = Buffer.alloc(Math.max(1, expected) * MAX_ROUTE_MESSAGE);
    this.#view = viewOf(this.#buf);
  }

  get count(): number {
    return this.#offsets.length;
  }

  /**
   * Appends one message with sequence number 0 and no NLM_F_REQUEST/NLM_F_ACK (the socket
   * stamps those when it sends): replace is RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE,
   * create with NLM_F_CREATE|NLM_F_EXCL, delete is RTM_DELROUTE (unset fields match any).
   *
   * Bytes past #len are always zero (the buffer is zero-filled and only ever written up to
   * the end of the last message), so only the non-zero fields are written.
   */
  add(kind: RouteBatchKind, spec: RouteSpec): void {
    this.#reserve(MAX_ROUTE_MESSAGE);
    const b = this.#buf;
    const v = this.#view;
    const start = this.#len;
    const del = kind === 'delete';
    const dst = spec.dst;
    const slash = dst.indexOf('/');
    const dstLen = slash < 0 ? 32 : decimalAt(dst, slash + 1);
    const table = spec.table ?? RT_TABLE.MAIN;
    v.setUint16(start + 4, del ? RTM.DELROUTE : RTM.NEWROUTE, HOST_LE);
    v.setUint16(start + 6, del ? 0 : NLM_F.CREATE | (kind === 'create' ? NLM_F.EXCL : NLM_F.REPLACE), HOST_LE);
    const r = start + NLMSG_HDRLEN;
    b[r] = AF_INET;
    b[r + 1] = dstLen;
    b[r + 4] = table < 256 ? table : RT_TABLE.UNSPEC; // larger tables only fit in RTA_TABLE
    b[r + 5] = spec.protocol ?? 0;
    if (del) {
      b[r + 6] = spec.scope !== undefined ? RT_SCOPES[spec.scope] : RT_SCOPES.nowhere;
      b[r + 7] = spec.type !== undefined ? routeTypeNumber(spec.type) : 0;
    } else {
      b[r + 6] = RT_SCOPES[spec.scope ?? defaultScope(spec)];
      b[r + 7] = spec.type === undefined ? RTN_UNICAST : routeTypeNumber(spec.type); // no search for the common case
      if (spec.onlink) v.setUint32(r + 8, RTNH_F.ONLINK, HOST_LE);
    }
    let off = r + RTMSG_LEN;
    off = this.#u32Attr(off, RTA.TABLE, table);
    if (dstLen > 0) off = this.#ipv4Attr(off, RTA.DST, dst, slash < 0 ? dst.length : slash);
    if (spec.gateway !== undefined) off = this.#gatewayAttr(off, spec.gateway);
    if (spec.ifindex !== undefined) off = this.#u32Attr(off, RTA.OIF, spec.ifindex);
    if (spec.priority !== undefined) off = this.#u32Attr(off, RTA.PRIORITY, spec.priority);
    if (!del && spec.prefsrc !== undefined) off = this.#ipv4Attr(off, RTA.PREFSRC, spec.prefsrc);
    v.setUint32(start, off - start, HOST_LE);
    this.#offsets.push(start);
    this.#len = off;
  }

  /** The messages back to back and where each starts (the buffer is not copied). */
  finish(): { bytes: Buffer; offsets: readonly number[] } {
    return { bytes: this.#buf.subarray(0, this.#len), offsets: this.#offsets };
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(bigger, 0, 0, this.#len);
    this.#buf = bigger;
    this.#view = viewOf(bigger);
  }

  #u32Attr(off: number, type: number, value: number): number {
    const v = this.#view;
    v.setUint16(off, 8, HOST_LE);
    v.setUint16(off + 2, type, HOST_LE);
    v.setUint32(off + 4, value, HOST_LE);
    return off + 8;
  }

  /** RTA_GATEWAY: a batch's routes share a few next hops, so the last one's bytes are reused. */
  #gatewayAttr(off: number, gateway: string): number {
    if (gateway !== this.#gateway) {
      this.#ipv4Attr(off, RTA.GATEWAY, gateway);
      this.#gateway = gateway;
      this.#gatewayBytes = this.#view.getUint32(off + 4, false);
      return off + 8;
    }
    const v = this.#view;
    v.setUint16(off, 8, HOST_LE);
    v.setUint16(off + 2, RTA.GATEWAY, HOST_LE);
    v.setUint32(off + 4, this.#gatewayBytes, false);
    return off + 8;
  }

  /** A dotted quad (already validated; up to `end`) in network order, without split/map/Buffer.from. */
  #ipv4Attr(off: number, type: number, addr: string, end = addr.length): number {
    const b = this.#buf;
    const v = this.#view;
    v.setUint16(off, 8, HOST_LE);
    v.setUint16(off + 2, type, HOST_LE);
    let octet = 0;
    let at = off + 4;
    for (let i = 0; i < end; i++) {
      const c = addr.charCodeAt(i);
      if (c === 46 /* . */) {
        b[at++] = octet;
        octet = 0;
      } else {
        octet = octet * 10 + (c - 48);
      }
    }
    b[at] = octet;
    return off + 8;
  }
}

/**
 * Netlink headers are in host byte order. A DataView writes them with no bounds-checked
 * Buffer method call per field (V8 inlines its accessors), at any alignment.
 */
const HOST_LE = endianness() === 'LE';
const RTN_UNICAST = routeTypeNumber('unicast');

function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.length);
}

/** The decimal number from `from` to the end of `s` (a checked prefix length), without slicing. */
function decimalAt(s: string, from: number): number {
  let n = 0;
  for (let i = from; i < s.length; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}
