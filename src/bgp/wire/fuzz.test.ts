import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BgpWireError,
  decodeMessage,
  encodeMessage,
  formatIpv4,
  formatIpv6,
  MessageReader,
  type AsPathSegment,
  type BgpMessage,
  type Capability,
  type CodecContext,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
} from './index.js';

// Fixed seed: the same inputs every run (deterministic). For a deeper hunt, run with
// BGP_FUZZ_SEED=<n> BGP_FUZZ_SCALE=<k> (k times more cases).
const SEED = Number(process.env.BGP_FUZZ_SEED ?? 0x7ab1);
const SCALE = Number(process.env.BGP_FUZZ_SCALE ?? 1);
const runs = (n: number): number => Math.round(n * SCALE);
const TWO: CodecContext = { fourOctetAs: false, extendedMessages: true };
const FOUR: CodecContext = { fourOctetAs: true, extendedMessages: true };

const masked = (bytes: Uint8Array, length: number): Buffer => {
  const b = Buffer.from(bytes);
  for (let bit = length; bit < b.length * 8; bit++) b[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return b;
};
const v4Prefix: fc.Arbitrary<Prefix> = fc
  .tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
  .map(([b, length]) => ({ prefix: formatIpv4(masked(b, length)), length }));
const v6Prefix: fc.Arbitrary<Prefix> = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
  .map(([b, length]) => ({ prefix: formatIpv6(masked(b, length)), length }));
const v4Addr = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIpv4(Buffer.from(b)));
const v6Addr = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpv6(Buffer.from(b)));
const unicastV4 = fc.tuple(fc.integer({ min: 1, max: 223 }).filter((n) => n !== 127), fc.uint8Array({ minLength: 3, maxLength: 3 }))
  .map(([first, rest]) => formatIpv4(Buffer.from([first, ...rest])));
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const segments = (asn: fc.Arbitrary<number>, confed: boolean): fc.Arbitrary<AsPathSegment[]> =>
  fc.array(
    fc.record({
      type: fc.constantFrom<AsPathSegment['type']>(...(confed ? (['set', 'sequence', 'confed-sequence', 'confed-set'] as const) : (['set', 'sequence'] as const))),
      asns: fc.array(asn, { minLength: 1, maxLength: 8 }),
    }),
    { maxLength: 4 },
  );

function attributesFor(ctx: CodecContext): fc.Arbitrary<PathAttributes> {
  const asn = ctx.fourOctetAs ? u32 : fc.integer({ min: 0, max: 0xffff });
  const base = {
    origin: fc.constantFrom('igp' as const, 'egp' as const, 'incomplete' as const),
    asPath: segments(asn, true),
    nextHop: unicastV4,
    med: u32,
    localPref: u32,
    atomicAggregate: fc.constant(true as const),
    aggregator: fc.record({ asn, address: v4Addr }),
    communities: fc.array(u32, { minLength: 1, maxLength: 6 }),
    originatorId: v4Addr,
    clusterList: fc.array(v4Addr, { minLength: 1, maxLength: 4 }),
    mpReach: fc.oneof(
      fc.record({ afi: fc.constant(1), safi: fc.constant(1), nextHop: v4Addr, nlri: fc.array(v4Prefix, { maxLength: 5 }) }),
      fc.record({ afi: fc.constant(2), safi: fc.constant(1), nextHop: v6Addr, nlri: fc.array(v6Prefix, { maxLength: 5 }) }),
      fc.record({ afi: fc.constant(2), safi: fc.constant(1), nextHop: v6Addr, linkLocalNextHop: v6Addr, nlri: fc.array(v6Prefix, { maxLength: 5 }) }),
    ),
    mpUnreach: fc.oneof(
      fc.record({ afi: fc.constant(1), safi: fc.constant(1), withdrawn: fc.array(v4Prefix, { maxLength: 5 }) }),
      fc.record({ afi: fc.constant(2), safi: fc.constant(1), withdrawn: fc.array(v6Prefix, { maxLength: 5 }) }),
      fc.record({ afi: fc.integer({ min: 3, max: 0xffff }), safi: fc.integer({ min: 0, max: 255 }), withdrawn: fc.constant([]) }),
    ),
    unknown: fc.uniqueArray(
      fc.record({
        flags: fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 15 })).map(([partial, low]) => 0xc0 | (partial ? 0x20 : 0) | low),
        typeCode: fc.integer({ min: 19, max: 255 }),
        value: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      }),
      { minLength: 1, maxLength: 3, selector: (u) => u.typeCode },
    ).map((list) => list.sort((x, y) => x.typeCode - y.typeCode)),
  };
  const as4 = { as4Path: segments(u32, false), as4Aggregator: fc.record({ asn: u32, address: v4Addr }) };
  return fc.record(ctx.fourOctetAs ? base : { ...base, ...as4 }, { requiredKeys: [] }) as fc.Arbitrary<PathAttributes>;
}

function updateFor(ctx: CodecContext): fc.Arbitrary<UpdateMessage> {
  return fc.record({ withdrawn: fc.array(v4Prefix, { maxLength: 6 }), attributes: attributesFor(ctx), nlri: fc.array(v4Prefix, { maxLength: 6 }) })
    .map(({ withdrawn, attributes, nlri }) => {
      const a = { ...attributes };
      // The encoder refuses announcements without the well-known mandatory attributes.
      if (nlri.length > 0 || (a.mpReach?.nlri.length ?? 0) > 0) {
        a.origin ??= 'igp';
        a.asPath ??= [];
        if (nlri.length > 0) a.nextHop ??= '192.0.2.1';
      }
      return { type: 'update' as const, withdrawn, attributes: a, nlri };
    });
}

const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ kind: fc.constant('multiprotocol' as const), afi: fc.integer({ min: 0, max: 0xffff }), safi: fc.integer({ min: 0, max: 255 }) }),
  fc.constant({ kind: 'route-refresh' as const }),
  fc.record({ kind: fc.constant('four-octet-as' as const), asn: fc.integer({ min: 1, max: 0xffffffff }) }),
  fc.record({
    kind: fc.constant('graceful-restart' as const),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi: fc.integer({ min: 0, max: 0xffff }), safi: fc.integer({ min: 0, max: 255 }), forwardingPreserved: fc.boolean() }), { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('unknown' as const),
    code: fc.integer({ min: 0, max: 255 }).filter((c) => ![1, 2, 64, 65].includes(c)),
    value: fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
  }),
);

const message = (ctx: CodecContext): fc.Arbitrary<BgpMessage> => fc.oneof(
  fc.record({
    type: fc.constant('open' as const),
    version: fc.constant(4),
    myAs: fc.integer({ min: 1, max: 0xffff }),
    holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
    bgpId: v4Addr.filter((a) => a !== '0.0.0.0'),
    capabilities: fc.array(capability, { maxLength: 8 }),
  }),
  updateFor(ctx),
  fc.record({ type: fc.constant('notification' as const), code: fc.integer({ min: 0, max: 255 }), subcode: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) }),
  fc.constant({ type: 'keepalive' as const }),
  fc.record({ type: fc.constant('route-refresh' as const), afi: fc.integer({ min: 0, max: 0xffff }), safi: fc.integer({ min: 0, max: 255 }), subtype: fc.integer({ min: 0, max: 255 }) }),
);

/**
 * Decodes and checks the codec's promises for any input: only BgpWireError comes back as
 * a failure (nothing thrown), and whatever decodes can be encoded and decodes the same.
 */
function decodeChecked(buf: Buffer, ctx: CodecContext): void {
  const r = decodeMessage(buf, ctx);
  if (r instanceof BgpWireError) {
    expect(r.bgpCode).toBeGreaterThanOrEqual(1);
    expect(r.bgpCode).toBeLessThanOrEqual(7);
    return;
  }
  const again = decodeMessage(encodeMessage(r.message, ctx), ctx);
  expect(again).not.toBeInstanceOf(BgpWireError);
  if (!(again instanceof BgpWireError)) {
    expect(again.outcome).toBe('ok');
    expect(again.message).toEqual(r.message);
  }
}

const header = (type: number, body: Uint8Array): Buffer => {
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(Math.min(19 + body.length, 0xffff), 16);
  h[18] = type;
  return Buffer.concat([h, body]);
};

describe.each([['2-octet', TWO], ['4-octet', FOUR]] as const)('fuzz, %s session', (_name, ctx) => {
  it('random valid messages round-trip', () => {
    fc.assert(fc.property(message(ctx), (m) => {
      const buf = encodeMessage(m, ctx);
      const r = decodeMessage(buf, ctx);
      expect(r).not.toBeInstanceOf(BgpWireError);
      if (r instanceof BgpWireError) return;
      expect(r.outcome).toBe('ok');
      expect(r.message).toEqual(m);
    }), { seed: SEED, numRuns: runs(600) });
  });

  it('random bytes never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => decodeChecked(Buffer.from(bytes), ctx)), { seed: SEED, numRuns: runs(1000) });
  });

  it('random bodies behind a valid header never throw', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 300 }), (type, body) => decodeChecked(header(type, body), ctx)),
      { seed: SEED, numRuns: runs(3000) });
  });

  it('mutations of valid messages never throw', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    fc.assert(fc.property(message(ctx), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (m, muts, fixLength) => {
      let buf = Buffer.from(encodeMessage(m, ctx));
      for (const mu of muts) {
        const at = mu.at % (buf.length + 1);
        if (mu.kind === 'set' && at < buf.length) buf[at] = mu.byte;
        else if (mu.kind === 'cut') buf = buf.subarray(0, at);
        else if (mu.kind === 'insert') buf = Buffer.concat([buf.subarray(0, at), mu.bytes, buf.subarray(at)]);
      }
      // Half the time repair the header so the mutation reaches the body decoders.
      if (fixLength && buf.length >= 19) {
        buf.fill(0xff, 0, 16);
        buf.writeUInt16BE(Math.min(buf.length, 0xffff), 16);
      }
      decodeChecked(buf, ctx);
      // The reader copes with the same bytes in arbitrary chunks.
      const reader = new MessageReader({ extendedMessages: true });
      for (let off = 0; off < buf.length; off += 7) {
        const r = reader.push(buf.subarray(off, off + 7));
        for (const f of r.frames) decodeChecked(f, ctx);
        if (r.error) break;
      }
    }), { seed: SEED, numRuns: runs(1500) });
  });
});
