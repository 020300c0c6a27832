import { BgpEncodeError } from '../errors.js';
import type { AsPathSegment, AsPathSegmentType } from '../types.js';
import { Malformed } from './codes.js';

const SEGMENT_CODES: Record<AsPathSegmentType, number> = { set: 1, sequence: 2, 'confed-sequence': 3, 'confed-set': 4 };
const SEGMENT_TYPES: Record<number, AsPathSegmentType> = { 1: 'set', 2: 'sequence', 3: 'confed-sequence', 4: 'confed-set' };

/**
 * Decodes AS_PATH (asSize 2 or 4 per session) or AS4_PATH (always 4). A segment with zero
 * ASNs, an unknown segment type or a length that does not add up is malformed (RFC 7606 §7.2).
 */
export function decodeAsPath(v: Buffer, asSize: 2 | 4, allowConfed = true): AsPathSegment[] | Malformed {
  const out: AsPathSegment[] = [];
  let off = 0;
  while (off < v.length) {
    if (off + 2 > v.length) return new Malformed('AS path segment header is truncated');
    const type = SEGMENT_TYPES[v[off]!];
    const count = v[off + 1]!;
    if (!type) return new Malformed(`AS path segment type ${v[off]} is unknown`);
    if (!allowConfed && type.startsWith('confed')) return new Malformed('AS4_PATH must not carry confederation segments');
    if (count === 0) return new Malformed('AS path segment has no ASNs');
    if (off + 2 + count * asSize > v.length) return new Malformed('AS path segment overruns the attribute');
    const asns: number[] = [];
    for (let i = 0; i < count; i++) {
      const p = off + 2 + i * asSize;
      asns.push(asSize === 2 ? v.readUInt16BE(p) : v.readUInt32BE(p));
    }
    out.push({ type, asns });
    off += 2 + count * asSize;
  }
  return out;
}

export function encodeAsPath(segments: readonly AsPathSegment[], asSize: 2 | 4, what = 'AS_PATH'): Buffer {
  const parts: Buffer[] = [];
  for (const seg of segments) {
    const code = SEGMENT_CODES[seg.type];
    if (code === undefined) throw new BgpEncodeError(`${what} segment type '${String(seg.type)}' is unknown`);
    if (seg.asns.length === 0 || seg.asns.length > 255) {
      throw new BgpEncodeError(`${what} segment must hold 1..255 ASNs, has ${seg.asns.length}; split long sequences`);
    }
    const b = Buffer.alloc(2 + seg.asns.length * asSize);
    b[0] = code;
    b[1] = seg.asns.length;
    seg.asns.forEach((asn, i) => {
      const max = asSize === 2 ? 0xffff : 0xffffffff;
      if (!Number.isInteger(asn) || asn < 0 || asn > max) {
        throw new BgpEncodeError(asSize === 2
          ? `${what}: AS ${asn} does not fit a 2-octet session; use toTwoOctetAttributes() (AS_TRANS + AS4_PATH)`
          : `${what}: AS ${asn} must be 0..4294967295`);
      }
      if (asSize === 2) b.writeUInt16BE(asn, 2 + i * 2);
      else b.writeUInt32BE(asn, 2 + i * 4);
    });
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** Path length as used for best-path selection and RFC 6793 merging: a set counts 1, confed segments 0. */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === 'sequence') n += s.asns.length;
    else if (s.type === 'set') n += 1;
  }
  return n;
}
