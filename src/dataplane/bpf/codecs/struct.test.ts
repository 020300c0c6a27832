import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { counterKey, counterValue, sumCounters } from './counters.js';
import { compareLayout } from './layout.js';
import { skBuff } from './skb.js';
import { CodecError, defineStruct } from './struct.js';

const sample = defineStruct({
  name: 'sample',
  size: 32,
  fields: [
    { name: 'a', type: 'u8', offset: 0 },
    { name: '_pad0', type: 'pad', offset: 1, size: 1 },
    { name: 'port', type: 'be16', offset: 2 },
    { name: 'b', type: 'u32', offset: 4 },
    { name: 'addr', type: 'ipv4', offset: 8 },
    { name: 'c', type: 'u16', offset: 12 },
    { name: 'raw', type: 'be32', offset: 16 },
    { name: 'd', type: 'u64', offset: 24 },
  ],
});

describe('defineStruct', () => {
  it('round-trips every field type', () => {
    fc.assert(
      fc.property(
        fc.record({
          a: fc.integer({ min: 0, max: 255 }),
          port: fc.integer({ min: 0, max: 0xffff }),
          b: fc.integer({ min: 0, max: 0xffffffff }),
          addr: fc.ipV4(),
          c: fc.integer({ min: 0, max: 0xffff }),
          raw: fc.integer({ min: 0, max: 0xffffffff }),
          d: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        }),
        (v) => {
          const buf = sample.encode(v);
          expect(buf.length).toBe(32);
          expect(sample.decode(buf)).toEqual(v);
        },
      ),
    );
  });

  it('puts network-order fields big-endian and pads with zeros', () => {
    const buf = Buffer.alloc(32, 0xaa);
    sample.encode({ a: 1, port: 0x1234, b: 0, addr: '10.1.2.3', c: 0, raw: 0x01020304, d: 0n }, buf);
    expect(buf[1]).toBe(0);
    expect(buf.subarray(2, 4)).toEqual(Buffer.from([0x12, 0x34]));
    expect(buf.subarray(8, 12)).toEqual(Buffer.from([10, 1, 2, 3]));
    expect(buf.subarray(16, 20)).toEqual(Buffer.from([1, 2, 3, 4]));
  });

  it('refuses values out of range and short buffers', () => {
    const ok = { a: 1, port: 1, b: 1, addr: '1.2.3.4', c: 1, raw: 1, d: 1n };
    expect(() => sample.encode({ ...ok, a: 256 })).toThrow(CodecError);
    expect(() => sample.encode({ ...ok, b: -1 })).toThrow(/0 to 4294967295/);
    expect(() => sample.encode({ ...ok, d: 2n ** 64n })).toThrow(CodecError);
    expect(() => sample.encode({ ...ok, addr: '1.2.3.256' })).toThrow(/IPv4/);
    expect(() => sample.encode({ ...ok, addr: '01.2.3.4' })).toThrow(/IPv4/);
    expect(() => sample.decode(Buffer.alloc(31))).toThrow(/need 32 bytes/);
    expect(() => sample.encode(ok, Buffer.alloc(38), 8)).toThrow(/no room/);
  });

  it('refuses overlapping fields, fields past the end and duplicates', () => {
    expect(() =>
      defineStruct({ name: 'x', size: 8, fields: [{ name: 'a', type: 'u32', offset: 0 }, { name: 'b', type: 'u32', offset: 2 }] }),
    ).toThrow(/overlaps/);
    expect(() => defineStruct({ name: 'x', size: 4, fields: [{ name: 'a', type: 'u64', offset: 0 }] })).toThrow(/past the struct/);
    expect(() =>
      defineStruct({ name: 'x', size: 8, fields: [{ name: 'a', type: 'u8', offset: 0 }, { name: 'a', type: 'u8', offset: 1 }] }),
    ).toThrow(/twice/);
    expect(() => defineStruct({ name: 'x', size: 8, fields: [{ name: 'p', type: 'pad', offset: 0 }] })).toThrow(/positive size/);
  });
});

describe('compareLayout', () => {
  const btfKey = {
    name: 'counter_key',
    size: 8,
    members: [
      { name: 'ifindex', offset: 0, size: 4 },
      { name: 'direction', offset: 4, size: 1 },
      { name: '_pad', offset: 5, size: 3 },
    ],
  };

  it('accepts a codec that matches', () => {
    expect(compareLayout(counterKey, btfKey)).toEqual([]);
  });

  it('reports a moved field, a resized field, a missing member, an extra field and a size change', () => {
    const drifted = {
      name: 'counter_key',
      size: 12,
      members: [
        { name: 'ifindex', offset: 0, size: 4 },
        { name: 'direction', offset: 8, size: 2 },
        { name: 'vlan', offset: 10, size: 2 },
      ],
    };
    const problems = compareLayout(counterKey, drifted);
    expect(problems).toContain('struct counter_key: size is 12 in BTF but 8 in the codec');
    expect(problems).toContain("struct counter_key: 'direction' is at offset 8 in BTF but 4 in the codec");
    expect(problems).toContain("struct counter_key: 'direction' is 2 bytes in BTF but 1 in the codec (u8)");
    expect(problems).toContain("struct counter_key: the codec has field '_pad' that BTF does not");
    expect(problems).toContain("struct counter_key: BTF has member 'vlan' (offset 10, 2 bytes) that the codec does not");
    expect(problems).toHaveLength(5);
  });

  it('ignores undeclared members only when partial', () => {
    const btf = { name: '__sk_buff', size: 192, members: [{ name: 'len', offset: 0, size: 4 }, { name: 'pkt_type', offset: 4, size: 4 }] };
    const partialCodec = defineStruct({ name: '__sk_buff', size: 192, fields: [{ name: 'len', type: 'u32', offset: 0 }] });
    expect(compareLayout(partialCodec, btf, { partial: true })).toEqual([]);
    expect(compareLayout(partialCodec, btf)).toHaveLength(1);
  });

  it('reports bitfields', () => {
    const codec = defineStruct({ name: 'f', size: 4, fields: [{ name: 'x', type: 'u32', offset: 0 }] });
    expect(compareLayout(codec, { name: 'f', size: 4, members: [{ name: 'x', offset: 0, size: 4, bitSize: 3 }] })[0]).toMatch(/bitfield/);
  });
});

describe('counters codecs', () => {
  it('encode the key like the C struct', () => {
    expect(counterKey.encode({ ifindex: 0x01020304, direction: 1 })).toEqual(Buffer.from([4, 3, 2, 1, 1, 0, 0, 0]));
  });
  it('sum per-CPU values', () => {
    const v = counterValue.decode(counterValue.encode({ packets: 2n, bytes: 100n, dropped: 1n, malformed: 0n }));
    expect(sumCounters([v, v])).toEqual({ packets: 4n, bytes: 200n, dropped: 2n, malformed: 0n });
  });
  it('skb ctx leaves undeclared bytes zero', () => {
    const buf = skBuff.encode({ len: 0, mark: 7, priority: 0, ingress_ifindex: 0, ifindex: 1 });
    expect(buf.length).toBe(192);
    expect(buf.readUInt32LE(8)).toBe(7);
    expect(buf.readUInt32LE(40)).toBe(1);
  });
});

describe('mac fields', () => {
  const codec = defineStruct({ name: 'm', size: 8, fields: [{ name: 'mac', type: 'mac', offset: 0 }, { name: 'f', type: 'u16', offset: 6 }] as const });
  it('round-trip, lower-cased', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (bytes) => {
        const mac = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
        expect(codec.decode(codec.encode({ mac: mac.toUpperCase(), f: 1 }))).toEqual({ mac, f: 1 });
      }),
    );
  });
  it('refuses what is not a MAC', () => {
    expect(() => codec.encode({ mac: 'ee:ee:ee:ee:ee', f: 0 })).toThrow(/MAC/);
    expect(() => codec.encode({ mac: 'eeee.eeee.eeee', f: 0 })).toThrow(CodecError);
  });
});
