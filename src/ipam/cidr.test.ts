import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressToOrdinal,
  blockAt,
  blockContaining,
  blockCount,
  blocksOfPool,
  cidrContains,
  cidrFromKeyName,
  cidrSize,
  cidrToKeyName,
  formatCidr,
  formatIPv4,
  ordinalToAddress,
  parseCidr,
  parseIPv4,
} from './cidr.js';
import { IpamError } from './errors.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const prefix = fc.integer({ min: 0, max: 32 });
const cidrArb = fc.tuple(u32, prefix).map(([ip, p]) => parseCidr(`${formatIPv4(ip)}/${p}`, { allowHostBits: true }));

describe('IPv4 addresses', () => {
  it('formats and parses back every address', () => {
    fc.assert(fc.property(u32, (ip) => parseIPv4(formatIPv4(ip)) === ip));
  });

  it('parses the edges', () => {
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIPv4('10.0.0.1')).toBe(0x0a000001);
  });

  it.each(['1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-1', '', 'a.b.c.d', '1.2.3.4 '])('rejects %j', (s) => {
    expect(() => parseIPv4(s)).toThrow(IpamError);
  });
});

describe('CIDRs', () => {
  it('round-trips through text and key names', () => {
    fc.assert(
      fc.property(cidrArb, (c) => {
        expect(parseCidr(formatCidr(c))).toEqual(c);
        expect(cidrFromKeyName(cidrToKeyName(c))).toEqual(c);
      }),
    );
  });

  it('rejects host bits unless asked to mask them', () => {
    expect(() => parseCidr('10.0.0.1/24')).toThrow(/host bits set; did you mean 10.0.0.0\/24/);
    expect(formatCidr(parseCidr('10.0.0.1/24', { allowHostBits: true }))).toBe('10.0.0.0/24');
    expect(() => parseCidr('10.0.0.0/33')).toThrow(IpamError);
    expect(() => parseCidr('10.0.0.0')).toThrow(IpamError);
  });

  it('formats the block key name like Calico', () => {
    expect(cidrToKeyName(parseCidr('10.0.0.64/26'))).toBe('10.0.0.64-26');
  });

  it('contains exactly its size addresses', () => {
    fc.assert(
      fc.property(cidrArb, u32, (c, ip) => {
        const inside = ip >= c.base && ip < c.base + cidrSize(c);
        expect(cidrContains(c, ip)).toBe(inside);
      }),
    );
  });
});

describe('blocks', () => {
  const poolAndBlock = fc
    .tuple(u32, fc.integer({ min: 8, max: 30 }), fc.integer({ min: 0, max: 6 }))
    .map(([ip, p, extra]) => ({ pool: parseCidr(`${formatIPv4(ip)}/${p}`, { allowHostBits: true }), blockPrefix: Math.min(32, p + extra) }));

  it('lists the blocks of a pool in order, tiling it without gaps', () => {
    fc.assert(
      fc.property(poolAndBlock, ({ pool, blockPrefix }) => {
        const blocks = [...blocksOfPool(pool, blockPrefix)];
        expect(blocks.length).toBe(blockCount(pool, blockPrefix));
        let next = pool.base;
        for (const b of blocks) {
          expect(b.base).toBe(next);
          expect(b.prefix).toBe(blockPrefix);
          next += cidrSize(b);
        }
        expect(next).toBe(pool.base + cidrSize(pool));
      }),
    );
  });

  it('finds the block holding an address, and ordinals map both ways', () => {
    fc.assert(
      fc.property(poolAndBlock, fc.nat(), ({ pool, blockPrefix }, n) => {
        const ip = pool.base + (n % cidrSize(pool));
        const b = blockContaining(ip, blockPrefix);
        expect(cidrContains(b, ip)).toBe(true);
        expect(cidrContains(pool, b.base)).toBe(true);
        const ord = addressToOrdinal(b, ip);
        expect(ordinalToAddress(b, ord)).toBe(ip);
        expect(blockAt(pool, blockPrefix, (b.base - pool.base) / cidrSize(b))).toEqual(b);
      }),
    );
  });

  it('refuses block sizes that do not fit the pool and ordinals outside the block', () => {
    const pool = parseCidr('10.0.0.0/24');
    expect(() => blockCount(pool, 23)).toThrow(/does not fit pool/);
    const b = parseCidr('10.0.0.0/26');
    expect(() => ordinalToAddress(b, 64)).toThrow(IpamError);
    expect(() => addressToOrdinal(b, parseIPv4('10.0.0.64'))).toThrow(IpamError);
  });
});
