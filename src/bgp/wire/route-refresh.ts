import { BgpEncodeError, BgpWireError, ErrorCode, HeaderSubcode, u16Data } from './errors.js';
import type { RouteRefreshMessage } from './types.js';

/** ROUTE-REFRESH (RFC 2918, subtypes from RFC 7313): AFI(2) subtype(1) SAFI(1). */
export function decodeRouteRefresh(body: Buffer, frame: Buffer): RouteRefreshMessage | BgpWireError {
  const subtype = body[2]!;
  if (body.length !== 4) {
    // RFC 7313 §5: a BoRR/EoRR of the wrong size has its own error; anything else is a header error.
    if (subtype === 1 || subtype === 2) {
      return new BgpWireError(ErrorCode.RouteRefresh, 1, `ROUTE-REFRESH (subtype ${subtype}) body must be 4 bytes, got ${body.length}`, Buffer.from(frame));
    }
    return new BgpWireError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength,
      `ROUTE-REFRESH must be 23 bytes long, got ${frame.length}`, u16Data(frame.length));
  }
  return { type: 'route-refresh', afi: body.readUInt16BE(0), subtype, safi: body[3]! };
}

export function encodeRouteRefresh(m: RouteRefreshMessage): Buffer {
  if (!Number.isInteger(m.afi) || m.afi < 0 || m.afi > 0xffff) throw new BgpEncodeError(`ROUTE-REFRESH AFI ${m.afi} must be 0..65535`);
  for (const [what, v] of [['SAFI', m.safi], ['subtype', m.subtype]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new BgpEncodeError(`ROUTE-REFRESH ${what} ${v} must be 0..255`);
  }
  const b = Buffer.alloc(4);
  b.writeUInt16BE(m.afi, 0);
  b[2] = m.subtype;
  b[3] = m.safi;
  return b;
}
