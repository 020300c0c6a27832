import { parseIpv4, parseIpv6 } from '../wire/index.js';

/** BGP identifiers compare as unsigned 32-bit integers (RFC 4271 §6.8). */
export function compareBgpIds(a: string, b: string): number {
  const x = parseIpv4(a)?.readUInt32BE(0) ?? 0;
  const y = parseIpv4(b)?.readUInt32BE(0) ?? 0;
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * Connection collision (RFC 4271 §6.8): when two connections to one peer exist, the one
 * initiated by the speaker with the higher BGP identifier survives. Returns which
 * direction to keep: 'outbound' (the one we opened) or 'inbound'.
 */
export function collisionWinner(localId: string, remoteId: string): 'outbound' | 'inbound' {
  return compareBgpIds(localId, remoteId) > 0 ? 'outbound' : 'inbound';
}

/**
 * Which side of a full-mesh pair waits for the other to connect. Like Calico's BIRD
 * templates, the node with the lower address is passive and the higher one connects, so
 * a mesh pair normally opens exactly one connection; collision resolution still handles
 * the rare case where both connect (e.g. a ToR configured actively on both ends).
 */
export function meshPassive(localAddress: string, peerAddress: string): boolean {
  return compareAddresses(localAddress, peerAddress) < 0;
}

function compareAddresses(a: string, b: string): number {
  const x = parseIpv4(a) ?? parseIpv6(a);
  const y = parseIpv4(b) ?? parseIpv6(b);
  if (x && y && x.length === y.length) return Buffer.compare(x, y);
  return a < b ? -1 : a > b ? 1 : 0;
}
