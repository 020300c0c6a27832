import { AFI_IPV4, AFI_IPV6, type Prefix } from '../wire/index.js';
import { DecodedIpv4Prefix } from '../wire/prefix.js';

/** '/0'..'/128': one join per key instead of two (short joined strings are copies). */
const SLASH_LENGTH: readonly string[] = Array.from({ length: 129 }, (_, i) => `/${i}`);

/** Map key of a prefix, e.g. "10.0.0.0/26". */
export const prefixKey = (p: Prefix): string => (p instanceof DecodedIpv4Prefix ? ipv4KeyText(p.address, p.length) : p.prefix + (SLASH_LENGTH[p.length] ?? `/${p.length}`));

const scratch = Buffer.alloc(18); // "255.255.255.255/32"

/**
 * "a.b.c.d/len" from the number, as one flat string. Joining the prefix text and "/len"
 * makes a V8 cons string once it is 13 characters or more ("10.24.106.208/28"), and every
 * Map that takes it as a key (calc's, the sequencer's, the route manager's: a full table
 * is 100,000 of them) then hashes and compares through the indirection, about a quarter
 * slower per operation (measured). Writing the digits and reading them back is one copy.
 */
export function ipv4KeyText(address: number, length: number): string {
  let at = writeDecimal(scratch, 0, address >>> 24);
  scratch[at++] = 46;
  at = writeDecimal(scratch, at, (address >>> 16) & 255);
  scratch[at++] = 46;
  at = writeDecimal(scratch, at, (address >>> 8) & 255);
  scratch[at++] = 46;
  at = writeDecimal(scratch, at, address & 255);
  scratch[at++] = 47;
  at = writeDecimal(scratch, at, length);
  return scratch.toString('latin1', 0, at);
}

/** Writes 0..255 in decimal at `at`; returns where it ended. */
function writeDecimal(b: Buffer, at: number, v: number): number {
  if (v >= 100) {
    b[at++] = 48 + ((v / 100) | 0);
    v %= 100;
    b[at++] = 48 + ((v / 10) | 0);
  } else if (v >= 10) {
    b[at++] = 48 + ((v / 10) | 0);
  }
  b[at++] = 48 + (v % 10);
  return at;
}

/** The AFI a prefix belongs to (IPv6 text always contains ':'; a decoded IPv4 prefix's text is not read). */
export const prefixAfi = (p: Prefix): number => (p instanceof DecodedIpv4Prefix || !p.prefix.includes(':') ? AFI_IPV4 : AFI_IPV6);

/**
 * A compact map key for a prefix: for IPv4 the number address * 64 + length (a 12-byte
 * heap number instead of a ~28-byte string per key in a full table), for IPv6 the text.
 */
export type PrefixId = number | string;

/** The dotted quad as a 32-bit unsigned number, or -1 when it is not one. */
export function ipv4Number(text: string): number {
  let value = 0;
  let octet = -1;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (octet < 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = -1;
      dots++;
    } else if (c >= 48 && c <= 57) {
      octet = octet < 0 ? c - 48 : octet * 10 + (c - 48);
      if (octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (octet < 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

export function prefixId(p: Prefix): PrefixId {
  // Prefixes straight from the decoder carry their address: no text to parse.
  if (p instanceof DecodedIpv4Prefix) return p.address * 64 + p.length;
  const n = p.length <= 32 ? ipv4Number(p.prefix) : -1;
  return n < 0 ? prefixKey(p) : n * 64 + p.length;
}

/** The prefix a PrefixId stands for (a new object each call). */
export function prefixOfId(id: PrefixId): Prefix {
  if (typeof id === 'string') {
    const slash = id.lastIndexOf('/');
    return { prefix: id.slice(0, slash), length: Number(id.slice(slash + 1)) };
  }
  const length = id % 64;
  const a = (id - length) / 64;
  return { prefix: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`, length };
}

/** The prefix text ("10.0.0.0/26") of a PrefixId, without building a Prefix. */
export function prefixIdKey(id: PrefixId): string {
  if (typeof id === 'string') return id;
  const length = id % 64;
  return ipv4KeyText((id - length) / 64, length);
}

export const prefixIdAfi = (id: PrefixId): number => (typeof id === 'number' ? AFI_IPV4 : id.includes(':') ? AFI_IPV6 : AFI_IPV4);
