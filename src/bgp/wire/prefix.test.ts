import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePrefixes } from './prefix.js';
import { AFI_IPV4 } from './types.js';

/** The obvious decoding, bit by bit, to check the byte-arithmetic fast path against. */
function reference(buf: Buffer): Array<{ prefix: string; length: number }> | null {
  const out: Array<{ prefix: string; length: number }> = [];
  let off = 0;
  while (off < buf.length) {
    const length = buf[off]!;
    const n = Math.ceil(length / 8);
    if (length > 32 || off + 1 + n > buf.length) return null;
    const bytes = [0, 0, 0, 0];
    for (let bit = 0; bit < length; bit++) {
      const byte = buf[off + 1 + (bit >> 3)]!;
      if (byte & (0x80 >> (bit & 7))) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
    }
    out.push({ prefix: bytes.join('.'), length });
    off += 1 + n;
  }
  return out;
}

describe('decodePrefixes (IPv4)', () => {
  it('clears host bits and handles the extreme lengths', () => {
    const buf = Buffer.from([28, 10, 1, 2, 0x1f, 0, 32, 255, 255, 255, 255, 1, 0xff, 9, 200, 0xff]);
    expect(decodePrefixes(buf, 0, buf.length, AFI_IPV4)).toEqual([
      { prefix: '10.1.2.16', length: 28 },
      { prefix: '0.0.0.0', length: 0 },
      { prefix: '255.255.255.255', length: 32 },
      { prefix: '128.0.0.0', length: 1 },
      { prefix: '200.128.0.0', length: 9 },
    ]);
  });

  it('refuses a length over 32 and bytes running past the end', () => {
    expect(decodePrefixes(Buffer.from([33, 1, 2, 3, 4, 5]), 0, 6, AFI_IPV4)).toBeNull();
    expect(decodePrefixes(Buffer.from([24, 10, 0]), 0, 3, AFI_IPV4)).toBeNull();
    // `end` bounds the run even when the buffer goes on.
    expect(decodePrefixes(Buffer.from([24, 10, 0, 0]), 0, 3, AFI_IPV4)).toBeNull();
  });

  it('agrees with a bit-by-bit decoding on any input', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const buf = Buffer.from(bytes);
      expect(decodePrefixes(buf, 0, buf.length, AFI_IPV4)).toEqual(reference(buf));
    }), { numRuns: 2000 });
  });
});
