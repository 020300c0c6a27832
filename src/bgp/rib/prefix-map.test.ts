import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePrefixes, encodePrefixes } from '../wire/prefix.js';
import { prefixId, prefixIdAfi, prefixIdKey, prefixKey, prefixOfId } from './prefix-key.js';
import { PrefixMap } from './prefix-map.js';

const v4 = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })).map(([a, length]) => {
  const addr = length === 0 ? 0 : (a & (0xffffffff << (32 - length))) >>> 0;
  return { prefix: `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`, length };
});

describe('PrefixId', () => {
  it('is a number for IPv4 and the text for IPv6, and goes back to the same prefix', () => {
    fc.assert(fc.property(v4, (p) => {
      const id = prefixId(p);
      expect(typeof id).toBe('number');
      expect(prefixOfId(id)).toEqual(p);
      expect(prefixIdKey(id)).toBe(prefixKey(p));
      expect(prefixIdAfi(id)).toBe(1);
    }), { numRuns: 1000 });
    const six = { prefix: 'fd00:1::', length: 64 };
    expect(prefixId(six)).toBe('fd00:1::/64');
    expect(prefixOfId(prefixId(six))).toEqual(six);
    expect(prefixIdAfi(prefixId(six))).toBe(2);
  });

  it('of a decoded prefix (which carries its address) is the id of its text', () => {
    fc.assert(fc.property(fc.array(v4, { maxLength: 20 }), (list) => {
      const wire = encodePrefixes(list, 1);
      const decoded = decodePrefixes(wire, 0, wire.length, 1)!;
      expect(decoded).toEqual(list);
      expect(JSON.parse(JSON.stringify(decoded))).toEqual(list);
      expect(decoded.map(prefixId)).toEqual(list.map((p) => prefixId({ ...p })));
      // The key text is built from the number for a decoded prefix (one flat string), from the text otherwise.
      expect(decoded.map(prefixKey)).toEqual(list.map((p) => prefixKey({ ...p })));
    }), { numRuns: 300 });
    // Runs sharing their first three octets (the decoder reuses that text), broken by others.
    const run = ['10.0.0.0/25', '10.0.0.128/26', '10.0.0.192/32', '10.0.1.0/24', '10.0.0.64/26', '0.0.0.0/0', '255.255.255.255/32', '255.255.255.0/24', '10.0.0.0/8'];
    const list = run.map((t) => ({ prefix: t.split('/')[0]!, length: Number(t.split('/')[1]) }));
    const wire = encodePrefixes(list, 1);
    const decoded = decodePrefixes(wire, 0, wire.length, 1)!;
    expect(decoded.map(prefixKey)).toEqual(run);
    expect(decoded.map(prefixId)).toEqual(list.map(prefixId));
  });

  it('tells apart prefixes that differ only in length', () => {
    expect(prefixId({ prefix: '10.0.0.0', length: 8 })).not.toBe(prefixId({ prefix: '10.0.0.0', length: 16 }));
  });
});

describe('PrefixMap', () => {
  it('behaves like a Map keyed by prefix text', () => {
    const ops = fc.array(fc.tuple(fc.boolean(), fc.oneof(v4, fc.constantFrom({ prefix: 'fd00::', length: 8 }, { prefix: '::', length: 0 })), fc.integer()), { maxLength: 200 });
    fc.assert(fc.property(ops, (list) => {
      const m = new PrefixMap<number>();
      const ref = new Map<string, number>();
      for (const [add, p, v] of list) {
        if (add) {
          m.set(prefixId(p), v);
          ref.set(prefixKey(p), v);
        } else {
          expect(m.delete(prefixId(p))).toBe(ref.delete(prefixKey(p)));
        }
        expect(m.size).toBe(ref.size);
      }
      for (const [k, v] of ref) expect(m.get(prefixId(prefixOfId(prefixId({ prefix: k.split('/')[0]!, length: Number(k.split('/')[1]) }))))).toBe(v);
      expect(new Map([...m.entries()].map(([id, v]) => [prefixIdKey(id), v]))).toEqual(ref);
    }), { numRuns: 300 });
  });

  it('round-trips addresses above 2^31 (stored as negative small integers)', () => {
    const m = new PrefixMap<string>();
    m.set(prefixId({ prefix: '200.0.0.0', length: 8 }), 'high');
    m.set(prefixId({ prefix: '72.0.0.0', length: 8 }), 'low');
    expect(m.get(prefixId({ prefix: '200.0.0.0', length: 8 }))).toBe('high');
    expect(m.get(prefixId({ prefix: '72.0.0.0', length: 8 }))).toBe('low');
    expect([...m.keys()].map(prefixIdKey).sort()).toEqual(['200.0.0.0/8', '72.0.0.0/8']);
  });

  it('allows deleting while iterating', () => {
    const m = new PrefixMap<number>();
    for (let i = 0; i < 10; i++) m.set(prefixId({ prefix: `10.0.${i}.0`, length: 24 }), i);
    for (const [id, v] of m.entries()) if (v % 2 === 0) m.delete(id);
    expect([...m.entries()].map(([, v]) => v)).toEqual([1, 3, 5, 7, 9]);
    m.clear();
    expect(m.size).toBe(0);
  });
});
