import { describe, expect, it } from 'vitest';
import {
  AS_TRANS,
  AttrFlag,
  BgpEncodeError,
  BgpWireError,
  decodeMessage,
  effectiveAsPath,
  encodeMessage,
  endOfRib,
  isEndOfRib,
  propagateUnknown,
  toTwoOctetAttributes,
  type CodecContext,
  type DecodedMessage,
  type PathAttributes,
  type UpdateMessage,
} from './index.js';

const FOUR: CodecContext = { fourOctetAs: true };
const TWO: CodecContext = { fourOctetAs: false };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decodeOk(buf: Buffer, ctx: CodecContext): DecodedMessage & { message: UpdateMessage } {
  const r = decodeMessage(buf, ctx);
  if (r instanceof BgpWireError) throw new Error(`unexpected wire error ${r.bgpCode}/${r.bgpSubcode}: ${r.message}`);
  if (r.message.type !== 'update') throw new Error(`expected an UPDATE, got ${r.message.type}`);
  return r as DecodedMessage & { message: UpdateMessage };
}

function roundTrip(u: UpdateMessage, ctx: CodecContext): DecodedMessage {
  const d = decodeOk(encodeMessage(u, ctx), ctx);
  expect(d.outcome).toBe('ok');
  expect(d.message).toEqual(u);
  return d;
}

const base: PathAttributes = { origin: 'igp', asPath: [{ type: 'sequence', asns: [64512] }], nextHop: '192.0.2.1' };
const announce = (attributes: PathAttributes, nlri = [{ prefix: '10.244.1.0', length: 26 }]): UpdateMessage => ({ type: 'update', withdrawn: [], attributes, nlri });

describe('UPDATE round trips', () => {
  it.each<[string, PathAttributes]>([
    ['ORIGIN igp/egp/incomplete', { ...base, origin: 'incomplete' }],
    ['ORIGIN egp', { ...base, origin: 'egp' }],
    ['AS_PATH with every segment type', { ...base, asPath: [{ type: 'confed-sequence', asns: [65001, 65002] }, { type: 'confed-set', asns: [65003] }, { type: 'sequence', asns: [64512, 1, 65535] }, { type: 'set', asns: [7, 8] }] }],
    ['empty AS_PATH (iBGP origination)', { ...base, asPath: [] }],
    ['MULTI_EXIT_DISC', { ...base, med: 4294967295 }],
    ['LOCAL_PREF', { ...base, localPref: 100 }],
    ['ATOMIC_AGGREGATE and AGGREGATOR', { ...base, atomicAggregate: true, aggregator: { asn: 64512, address: '192.0.2.9' } }],
    ['COMMUNITIES', { ...base, communities: [0xfc000064, 0xffffff01] }],
    ['ORIGINATOR_ID and CLUSTER_LIST', { ...base, originatorId: '192.0.2.7', clusterList: ['1.0.0.1', '1.0.0.2'] }],
    ['unknown optional transitive attributes', { ...base, unknown: [{ flags: 0xc0, typeCode: 32, value: hex('0000fc000000000100000002') }, { flags: 0xe0, typeCode: 200, value: Buffer.alloc(0) }] }],
  ])('%s (2- and 4-octet sessions)', (_name, attributes) => {
    const u = announce(attributes);
    roundTrip(u, FOUR);
    roundTrip(u, TWO);
  });

  it('4-octet ASNs in AS_PATH and AGGREGATOR on a 4-octet session', () => {
    roundTrip(announce({ ...base, asPath: [{ type: 'sequence', asns: [4200000001, 64512] }], aggregator: { asn: 4200000001, address: '10.0.0.1' } }), FOUR);
  });

  it('withdrawals only, and many prefixes of every length', () => {
    const withdrawn = Array.from({ length: 33 }, (_, len) => ({ prefix: len === 0 ? '0.0.0.0' : '128.0.0.0', length: len }));
    roundTrip({ type: 'update', withdrawn, attributes: {}, nlri: [] }, FOUR);
    roundTrip({ type: 'update', withdrawn: [], attributes: base, nlri: withdrawn.slice(1) }, FOUR);
  });

  it('MP_REACH_NLRI IPv6 with 16- and 32-byte next hops, and MP_UNREACH_NLRI', () => {
    const mp = { origin: 'igp' as const, asPath: [] };
    roundTrip(announce({ ...mp, mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: [{ prefix: 'fd00:10:244::', length: 122 }, { prefix: '::', length: 0 }] } }, []), FOUR);
    roundTrip(announce({ ...mp, mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1:2', nlri: [{ prefix: '2001:db8:ffff:ffff:ffff:ffff:ffff:fffe', length: 127 }] } }, []), FOUR);
    roundTrip(announce({ ...mp, mpReach: { afi: 1, safi: 1, nextHop: '192.0.2.1', nlri: [{ prefix: '10.0.0.0', length: 8 }] } }, []), FOUR);
    roundTrip({ type: 'update', withdrawn: [], attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: [{ prefix: 'fd00::', length: 64 }] } }, nlri: [] }, FOUR);
  });

  it('uses the extended length flag for long attributes', () => {
    const communities = Array.from({ length: 100 }, (_, i) => i);
    const buf = encodeMessage(announce({ ...base, communities }), FOUR);
    const at = buf.indexOf(Buffer.from([AttrFlag.Optional | AttrFlag.Transitive | AttrFlag.ExtendedLength, 8, 0x01, 0x90]));
    expect(at).toBeGreaterThan(0);
    roundTrip(announce({ ...base, communities }), FOUR);
  });
});

describe('known bytes', () => {
  // 10.244.1.0/26 from AS 64512 on a 4-octet session, as BIRD announces a node's block:
  // ORIGIN IGP, AS_PATH [64512], NEXT_HOP 192.0.2.1, LOCAL_PREF 100.
  const ANNOUNCE = hex(`
    ffffffffffffffffffffffffffffffff 0037 02
    0000 001b
    40 01 01 00
    40 02 06 02 01 0000fc00
    40 03 04 c0000201
    40 05 04 00000064
    1a 0af40100`);

  it('decodes and re-encodes an IPv4 announcement', () => {
    const d = decodeOk(ANNOUNCE, FOUR);
    expect(d.message).toEqual(announce({ ...base, localPref: 100 }));
    expect(encodeMessage(d.message, FOUR).toString('hex')).toBe(ANNOUNCE.toString('hex'));
  });

  it('decodes an IPv6 MP_REACH_NLRI with a global and a link-local next hop', () => {
    const buf = hex(`
      ffffffffffffffffffffffffffffffff 004f 02
      0000 0038
      40 01 01 00
      40 02 00
      80 0e 2e 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00 40 20010db800010000`);
    const d = decodeOk(buf, FOUR);
    expect(d.message.attributes.mpReach).toEqual({ afi: 2, safi: 1, nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1', nlri: [{ prefix: '2001:db8:1::', length: 64 }] });
    expect(encodeMessage(d.message, FOUR).toString('hex')).toBe(buf.toString('hex'));
  });

  it('reconstructs the path from AS_PATH and AS4_PATH on a 2-octet session', () => {
    // AS 65001 (2-octet only) re-advertised a route that crossed 4200000001 and 4200000002.
    const buf = hex(`
      ffffffffffffffffffffffffffffffff 0050 02
      0000 0037
      40 01 01 00
      40 02 08 02 03 fde9 5ba0 5ba0
      40 03 04 c0000201
      c0 07 06 5ba0 0a000001
      c0 11 0a 02 02 fa56ea01 fa56ea02
      c0 12 08 fa56ea01 0a000001
      08 0a`);
    const d = decodeOk(buf, TWO);
    expect(d.outcome).toBe('ok');
    expect(d.message.attributes.asPath).toEqual([{ type: 'sequence', asns: [65001, AS_TRANS, AS_TRANS] }]);
    expect(effectiveAsPath(d.message.attributes, false)).toEqual({
      asPath: [{ type: 'sequence', asns: [65001, 4200000001, 4200000002] }],
      aggregator: { asn: 4200000001, address: '10.0.0.1' },
    });
    expect(encodeMessage(d.message, TWO).toString('hex')).toBe(buf.toString('hex'));
  });
});

describe('4-octet AS on 2-octet sessions (RFC 6793)', () => {
  it('the encoder refuses ASNs that do not fit and toTwoOctetAttributes fixes them', () => {
    const attrs: PathAttributes = { ...base, asPath: [{ type: 'sequence', asns: [64512, 4200000001] }, { type: 'set', asns: [1, 4200000002] }], aggregator: { asn: 4200000003, address: '10.0.0.3' } };
    expect(() => encodeMessage(announce(attrs), TWO)).toThrow(BgpEncodeError);
    const two = toTwoOctetAttributes(attrs);
    expect(two.asPath).toEqual([{ type: 'sequence', asns: [64512, AS_TRANS] }, { type: 'set', asns: [1, AS_TRANS] }]);
    expect(two.aggregator).toEqual({ asn: AS_TRANS, address: '10.0.0.3' });
    const d = roundTrip(announce(two), TWO);
    expect(effectiveAsPath((d.message as UpdateMessage).attributes, false)).toEqual({ asPath: attrs.asPath, aggregator: attrs.aggregator });
    expect(() => encodeMessage(announce(two), FOUR)).toThrow(/AS4_PATH/);
  });

  it('keeps AS_PATH when every AS fits', () => {
    expect(toTwoOctetAttributes(base)).toEqual(base);
  });

  it('prepends ASes added by 2-octet speakers, counting sets as one', () => {
    const attrs: PathAttributes = {
      asPath: [{ type: 'confed-sequence', asns: [65100] }, { type: 'sequence', asns: [65001, 65002] }, { type: 'set', asns: [65003, 65004] }, { type: 'sequence', asns: [AS_TRANS] }],
      as4Path: [{ type: 'set', asns: [65003, 4200000004] }, { type: 'sequence', asns: [4200000009] }],
    };
    expect(effectiveAsPath(attrs, false).asPath).toEqual([
      { type: 'confed-sequence', asns: [65100] },
      { type: 'sequence', asns: [65001, 65002] },
      { type: 'set', asns: [65003, 4200000004] },
      { type: 'sequence', asns: [4200000009] },
    ]);
  });

  it('ignores an AS4_PATH longer than AS_PATH, and AS4_* when AGGREGATOR is a real 2-octet AS', () => {
    const asPath = [{ type: 'sequence' as const, asns: [65001] }];
    expect(effectiveAsPath({ asPath, as4Path: [{ type: 'sequence', asns: [1, 2] }] }, false).asPath).toEqual(asPath);
    const agg = { asn: 65001, address: '10.0.0.1' };
    expect(effectiveAsPath({ asPath, aggregator: agg, as4Path: [{ type: 'sequence', asns: [4200000001] }], as4Aggregator: { asn: 4200000001, address: '10.0.0.2' } }, false))
      .toEqual({ asPath, aggregator: agg });
  });

  it('on a 4-octet session AS_PATH is already the truth', () => {
    const asPath = [{ type: 'sequence' as const, asns: [4200000001] }];
    expect(effectiveAsPath({ asPath }, true)).toEqual({ asPath });
  });
});

describe('RFC 7606 outcomes', () => {
  const withRaw = (attrHex: string, ctx: CodecContext, nlri = '1a0af40100'): DecodedMessage & { message: UpdateMessage } => {
    const attrs = hex(attrHex);
    const body = Buffer.concat([hex('0000'), Buffer.from([attrs.length >> 8, attrs.length & 0xff]), attrs, hex(nlri)]);
    const head = Buffer.alloc(19, 0xff);
    head.writeUInt16BE(19 + body.length, 16);
    head[18] = 2;
    return decodeOk(Buffer.concat([head, body]), ctx);
  };
  const BASE4 = '40010100 4002060201 0000fc00 400304c0000201';

  it('treat-as-withdraw moves the announced prefixes to withdrawnDueToError', () => {
    const d = withRaw(`${BASE4} 800403000064`, FOUR);
    expect(d.outcome).toBe('treat-as-withdraw');
    expect(d.withdrawnDueToError).toEqual([{ prefix: '10.244.1.0', length: 26 }]);
    expect(d.message.nlri).toEqual([]);
    expect(d.discarded).toEqual([{ typeCode: 4, action: 'treat-as-withdraw', reason: 'MULTI_EXIT_DISC must be 4 bytes, got 3' }]);
  });

  it('treat-as-withdraw also covers MP_REACH_NLRI prefixes', () => {
    const d = withRaw('40010103 400200 800e1e 0002 01 10 20010db8000000000000000000000001 00 40 20010db800010000', FOUR, '');
    expect(d.outcome).toBe('treat-as-withdraw');
    expect(d.withdrawnDueToError).toEqual([{ prefix: '2001:db8:1::', length: 64 }]);
    expect(d.message.attributes.mpReach).toBeUndefined();
  });

  it('attribute-discard keeps the route without the bad attribute', () => {
    const d = withRaw(`${BASE4} 40060100`, FOUR);
    expect(d.outcome).toBe('attribute-discard');
    expect(d.message.nlri).toEqual([{ prefix: '10.244.1.0', length: 26 }]);
    expect(d.message.attributes.atomicAggregate).toBeUndefined();
    expect(d.message.attributes.origin).toBe('igp');
  });

  it('drops unrecognized optional non-transitive attributes without consequence', () => {
    const d = withRaw(`${BASE4} 80c80101`, FOUR);
    expect(d.outcome).toBe('ok');
    expect(d.message.attributes.unknown).toBeUndefined();
    expect(d.discarded).toMatchObject([{ typeCode: 200, action: 'ignored' }]);
  });

  it('keeps the first of duplicated attributes', () => {
    const d = withRaw(`${BASE4} 40010102`, FOUR);
    expect(d.outcome).toBe('attribute-discard');
    expect(d.message.attributes.origin).toBe('igp');
  });

  it('a malformed attribute in a withdraw-only UPDATE changes nothing to withdraw', () => {
    const d = withRaw('800403000064', FOUR, '');
    expect(d.outcome).toBe('treat-as-withdraw');
    expect(d.withdrawnDueToError).toEqual([]);
  });

  it('session-resetting errors carry the offending attribute as data', () => {
    const attrs = hex('40010100 4063 0101');
    const body = Buffer.concat([hex('0000'), Buffer.from([0, attrs.length]), attrs]);
    const head = Buffer.alloc(19, 0xff);
    head.writeUInt16BE(19 + body.length, 16);
    head[18] = 2;
    const r = decodeMessage(Buffer.concat([head, body]), FOUR);
    expect(r).toMatchObject({ bgpCode: 3, bgpSubcode: 2, data: hex('40630101') });
  });
});

describe('End-of-RIB (RFC 4724)', () => {
  it('is an empty UPDATE for IPv4 unicast and an empty MP_UNREACH_NLRI for other families', () => {
    const v4 = encodeMessage(endOfRib(1, 1), FOUR);
    expect(v4.toString('hex')).toBe(`${'ff'.repeat(16)}00170200000000`);
    expect(isEndOfRib(decodeOk(v4, FOUR).message)).toEqual({ afi: 1, safi: 1 });
    const v6 = encodeMessage(endOfRib(2, 1), FOUR);
    expect(v6.subarray(19).toString('hex')).toBe('0000000680' + '0f03000201');
    expect(isEndOfRib(decodeOk(v6, FOUR).message)).toEqual({ afi: 2, safi: 1 });
    // A family the codec does not carry still shows its End-of-RIB.
    const vpn = encodeMessage(endOfRib(1, 128), FOUR);
    expect(isEndOfRib(decodeOk(vpn, FOUR).message)).toEqual({ afi: 1, safi: 128 });
  });

  it('is not an UPDATE with content', () => {
    expect(isEndOfRib(announce(base))).toBeNull();
    expect(isEndOfRib({ type: 'update', withdrawn: [{ prefix: '10.0.0.0', length: 8 }], attributes: {}, nlri: [] })).toBeNull();
    expect(isEndOfRib({ type: 'update', withdrawn: [], attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: [{ prefix: 'fd00::', length: 8 }] } }, nlri: [] })).toBeNull();
  });
});

describe('encoder rejects what cannot be sent', () => {
  it.each<[string, UpdateMessage]>([
    ['a /33 IPv4 prefix', announce(base, [{ prefix: '10.0.0.0', length: 33 }])],
    ['host bits', announce(base, [{ prefix: '10.0.0.1', length: 24 }])],
    ['an IPv6 prefix in IPv4 NLRI', announce(base, [{ prefix: 'fd00::', length: 8 }])],
    ['NLRI without NEXT_HOP', announce({ origin: 'igp', asPath: [] })],
    ['a 256-ASN segment', announce({ ...base, asPath: [{ type: 'sequence', asns: Array<number>(256).fill(1) }] })],
    ['an empty segment', announce({ ...base, asPath: [{ type: 'sequence', asns: [] }] })],
    ['empty COMMUNITIES', announce({ ...base, communities: [] })],
    ['MED out of range', announce({ ...base, med: -1 })],
    ['a raw attribute with a modeled type code', announce({ ...base, unknown: [{ flags: 0xc0, typeCode: 8, value: Buffer.alloc(4) }] })],
    ['a raw well-known attribute', announce({ ...base, unknown: [{ flags: 0x40, typeCode: 99, value: Buffer.alloc(0) }] })],
    ['an unsupported MP_REACH family', announce({ origin: 'igp', asPath: [], mpReach: { afi: 25, safi: 65, nextHop: '1.1.1.1', nlri: [] } }, [])],
    ['an IPv4 next hop for IPv6', announce({ origin: 'igp', asPath: [], mpReach: { afi: 2, safi: 1, nextHop: '1.1.1.1', nlri: [] } }, [])],
    ['a message over 4096 bytes', announce(base, Array.from({ length: 1100 }, (_, i) => ({ prefix: `10.${i >> 8}.${i & 255}.0`, length: 24 })))],
  ])('%s', (_name, u) => {
    expect(() => encodeMessage(u, FOUR)).toThrow(BgpEncodeError);
  });

  it('allows large messages once extended messages are negotiated', () => {
    const u = announce(base, Array.from({ length: 1100 }, (_, i) => ({ prefix: `10.${i >> 8}.${i & 255}.0`, length: 24 })));
    const ctx = { fourOctetAs: true, extendedMessages: true };
    expect(decodeOk(encodeMessage(u, ctx), ctx).message).toEqual(u);
  });
});

describe('propagateUnknown', () => {
  it('passes on optional transitive attributes with the Partial bit set', () => {
    const out = propagateUnknown({ unknown: [{ flags: 0xc0, typeCode: 32, value: hex('01') }, { flags: 0x80, typeCode: 99, value: hex('02') }] });
    expect(out).toEqual([{ flags: 0xe0, typeCode: 32, value: hex('01') }]);
  });
});
