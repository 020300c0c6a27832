import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './address.js';
import { BgpEncodeError } from './errors.js';
import { AFI_IPV4, AFI_IPV6, type Prefix } from './types.js';

/** Address size in bytes for the families the codec carries, or undefined. */
export function addressBytes(afi: number): 4 | 16 | undefined {
  if (afi === AFI_IPV4) return 4;
  if (afi === AFI_IPV6) return 16;
  return undefined;
}

/**
 * '0'..'255' and '0.'..'255.'. Joining short strings copies them (V8 only links strings of
 * 13 characters and more), so a dotted quad built one piece at a time leaves six dead
 * intermediates behind; from these pieces it leaves two, or none when the first three
 * octets are the previous prefix's (consecutive prefixes, as feeds are usually sorted).
 */
const OCTET: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));
const OCTET_DOT: readonly string[] = OCTET.map((o) => `${o}.`);

/**
 * An IPv4 prefix as the decoder builds it: the usual Prefix (text and length, the only
 * own properties, so it compares and serialises like any other) that also remembers the
 * address it was built from, so the RIB can key it without parsing the text back. Like
 * every decoded value it is not to be modified (the address would no longer match).
 */
export class DecodedIpv4Prefix implements Prefix {
  readonly #address: number;

  constructor(
    readonly prefix: string,
    readonly length: number,
    address: number,
  ) {
    this.#address = address;
  }

  /** The address as a 32-bit unsigned number (host bits clear). */
  get address(): number {
    return this.#address;
  }
}

/**
 * Decodes a run of (length, prefix bytes) NLRI entries in buf[start, end). Returns null if
 * it cannot be parsed (a length over the family's bits, or bytes running past `end`); the
 * caller maps that to its own error. Host bits beyond the length are cleared.
 */
export function decodePrefixes(buf: Buffer, start: number, end: number, afi: number): Prefix[] | null {
  const size = addressBytes(afi);
  if (size === undefined) return null;
  const out: Prefix[] = [];
  let off = start;
  if (size === 4) {
    // The hot path of a full IPv4 feed: build the text straight from the bytes, no Buffer per prefix.
    let lastHi = -1;
    let hiText = '';
    while (off < end) {
      const length = buf[off]!;
      if (length > 32) return null;
      const n = (length + 7) >> 3;
      if (off + 1 + n > end) return null;
      let addr = 0;
      for (let i = 0; i < 4; i++) addr = addr * 256 + (i < n ? buf[off + 1 + i]! : 0);
      // Clear host bits (a shift by 32 is a no-op in JS, hence the length-0 case).
      addr = length === 0 ? 0 : (addr & (0xffffffff << (32 - length))) >>> 0;
      const hi = addr >>> 8;
      if (hi !== lastHi) {
        lastHi = hi;
        hiText = OCTET_DOT[addr >>> 24]! + OCTET_DOT[(addr >>> 16) & 255]! + OCTET_DOT[hi & 255]!;
      }
      out.push(new DecodedIpv4Prefix(hiText + OCTET[addr & 255]!, length, addr));
      off += 1 + n;
    }
    return out;
  }
  while (off < end) {
    const length = buf[off]!;
    if (length > size * 8) return null;
    const n = (length + 7) >> 3;
    if (off + 1 + n > end) return null;
    const addr = Buffer.alloc(size);
    buf.copy(addr, 0, off + 1, off + 1 + n);
    if (length % 8 !== 0) addr[n - 1]! &= (0xff << (8 - (length % 8))) & 0xff;
    out.push({ prefix: formatIpv6(addr), length });
    off += 1 + n;
  }
  return out;
}

/** The address bytes of a prefix, validated: right family, length in range, no host bits. */
export function prefixBytes(p: Prefix, afi: number): Buffer {
  const size = addressBytes(afi);
  if (size === undefined) throw new BgpEncodeError(`cannot encode prefixes of AFI ${afi}: only IPv4 (1) and IPv6 (2) are supported`);
  const addr = size === 4 ? parseIpv4(p.prefix) : parseIpv6(p.prefix);
  if (!addr) throw new BgpEncodeError(`prefix address '${p.prefix}' is not a valid ${size === 4 ? 'IPv4' : 'IPv6'} address`);
  if (!Number.isInteger(p.length) || p.length < 0 || p.length > size * 8) {
    throw new BgpEncodeError(`prefix ${p.prefix}/${p.length}: length must be 0..${size * 8}`);
  }
  for (let bit = p.length; bit < size * 8; bit++) {
    if (addr[bit >> 3]! & (0x80 >> (bit & 7))) {
      throw new BgpEncodeError(`prefix ${p.prefix}/${p.length} has host bits set; send the network address`);
    }
  }
  return addr;
}

export function encodePrefixes(prefixes: readonly Prefix[], afi: number): Buffer {
  const parts: Buffer[] = [];
  for (const p of prefixes) {
    const addr = prefixBytes(p, afi);
    parts.push(Buffer.from([p.length]), addr.subarray(0, (p.length + 7) >> 3));
  }
  return Buffer.concat(parts);
}

/** 'a.b.c.d/len' or 'x::/len' text, for logs. */
export function formatPrefix(p: Prefix): string {
  return `${p.prefix}/${p.length}`;
}

/** Parses 'a.b.c.d/len' or IPv6 'x::/len' text into a Prefix (host bits must be zero). */
export function parsePrefix(text: string): Prefix {
  const slash = text.lastIndexOf('/');
  const prefix = slash < 0 ? text : text.slice(0, slash);
  const isV6 = prefix.includes(':');
  const length = slash < 0 ? (isV6 ? 128 : 32) : Number(text.slice(slash + 1));
  const afi = isV6 ? AFI_IPV6 : AFI_IPV4;
  const bytes = prefixBytes({ prefix, length }, afi);
  return { prefix: isV6 ? formatIpv6(bytes) : formatIpv4(bytes), length };
}
