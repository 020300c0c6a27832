/** Route reflection attributes (RFC 4456): ORIGINATOR_ID and CLUSTER_LIST. */
import { formatIpv4 } from '../address.js';
import { Malformed } from './codes.js';
import { encodeIpv4 } from './basic.js';

export function decodeOriginatorId(v: Buffer): string | Malformed {
  if (v.length !== 4) return new Malformed(`ORIGINATOR_ID must be 4 bytes, got ${v.length}`);
  return formatIpv4(v);
}

export function decodeClusterList(v: Buffer): string[] | Malformed {
  if (v.length === 0 || v.length % 4 !== 0) return new Malformed(`CLUSTER_LIST length ${v.length} is not a non-zero multiple of 4`);
  const out: string[] = [];
  for (let off = 0; off < v.length; off += 4) out.push(formatIpv4(v, off));
  return out;
}

export function encodeClusterList(ids: readonly string[]): Buffer {
  return Buffer.concat(ids.map((id) => encodeIpv4('CLUSTER_LIST id', id)));
}
