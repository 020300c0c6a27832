/** COMMUNITIES (RFC 1997): a non-empty list of 32-bit values. */
import { BgpEncodeError } from '../errors.js';
import { Malformed } from './codes.js';

export function decodeCommunities(v: Buffer): number[] | Malformed {
  if (v.length === 0 || v.length % 4 !== 0) return new Malformed(`COMMUNITIES length ${v.length} is not a non-zero multiple of 4`);
  const out: number[] = [];
  for (let off = 0; off < v.length; off += 4) out.push(v.readUInt32BE(off));
  return out;
}

export function encodeCommunities(list: readonly number[]): Buffer {
  if (list.length === 0) throw new BgpEncodeError('COMMUNITIES must not be empty; leave the attribute out');
  const b = Buffer.alloc(list.length * 4);
  list.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) throw new BgpEncodeError(`community ${c} must be a 32-bit unsigned number`);
    b.writeUInt32BE(c, i * 4);
  });
  return b;
}

/** 'asn:value' text for a community, e.g. 65000:100. */
export function formatCommunity(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}
