// RouteBatchEncoder writes, without allocating per route, exactly the bytes the general
// codec builds (encodeMessage over encodeRouteReplace/encodeRouteDelete): checked on fixed
// cases and on random routes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { NLM_F, RTM } from './netlink-constants.js';
import { decodeMessages, encodeMessage, readU32 } from './netlink-codec.js';
import { RouteBatchEncoder, type RouteBatchKind } from './netlink-route-batch.js';
import { encodeRouteDelete, encodeRouteReplace, type RouteSpec } from './netlink-route-codec.js';

/** What the general codec sends for one op (seq 0, flags without REQUEST/ACK). */
function reference(kind: RouteBatchKind, spec: RouteSpec): Buffer {
  if (kind === 'delete') return encodeMessage({ type: RTM.DELROUTE, flags: 0, seq: 0, ...encodeRouteDelete(spec) });
  const flags = NLM_F.CREATE | (kind === 'create' ? NLM_F.EXCL : NLM_F.REPLACE);
  return encodeMessage({ type: RTM.NEWROUTE, flags, seq: 0, ...encodeRouteReplace(spec) });
}

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));

const spec: fc.Arbitrary<RouteSpec> = fc.record(
  {
    dst: fc.tuple(ipv4, fc.option(fc.integer({ min: 0, max: 32 }), { nil: undefined })).map(([a, len]) => (len === undefined ? a : `${a}/${len}`)),
    type: fc.constantFrom('unicast' as const, 'blackhole' as const, 'unreachable' as const, 'prohibit' as const),
    // A few shared next hops too (the encoder reuses the last gateway's bytes).
    gateway: fc.oneof(ipv4, fc.constantFrom('192.0.2.1', '10.9.0.2')),
    ifindex: fc.integer({ min: 1, max: 0x7fffffff }),
    onlink: fc.boolean(),
    scope: fc.constantFrom('universe' as const, 'link' as const, 'host' as const),
    protocol: fc.nat(255),
    table: fc.integer({ min: 1, max: 0xffffffff }),
    priority: fc.nat(),
    prefsrc: ipv4,
  },
  { requiredKeys: ['dst'] },
);

describe('RouteBatchEncoder', () => {
  it('writes the general codec\'s bytes for replace, create and delete', () => {
    const cases: [RouteBatchKind, RouteSpec][] = [
      ['replace', { dst: '10.0.0.0/24', gateway: '192.0.2.1', protocol: 84 }],
      ['replace', { dst: '10.0.0.5/32', ifindex: 7, protocol: 84 }],
      ['create', { dst: '10.0.1.0/26', type: 'blackhole', protocol: 84, table: 70000 }],
      ['replace', { dst: '0.0.0.0/0', gateway: '10.9.0.2', ifindex: 3, onlink: true, priority: 5, prefsrc: '10.9.0.1' }],
      ['delete', { dst: '10.0.0.0/24', protocol: 84, table: 254 }],
      ['delete', { dst: '10.0.0.0/24', type: 'blackhole', scope: 'universe', gateway: '192.0.2.1', ifindex: 9, priority: 1 }],
    ];
    const enc = new RouteBatchEncoder(1); // starts too small: growing must keep earlier messages
    for (const [kind, s] of cases) enc.add(kind, s);
    const { bytes, offsets } = enc.finish();
    expect(bytes).toEqual(Buffer.concat(cases.map(([kind, s]) => reference(kind, s))));
    expect(enc.count).toBe(cases.length);
    // Each offset is where its message starts: its length field leads to the next.
    offsets.forEach((at, i) => expect(at + readU32(bytes, at)).toBe(offsets[i + 1] ?? bytes.length));
    expect(decodeMessages(bytes).map((m) => m.type)).toEqual([24, 24, 24, 24, 25, 25]);
  });

  it('matches the general codec on random routes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom<RouteBatchKind>('replace', 'create', 'delete'), spec), { minLength: 1, maxLength: 20 }), (ops) => {
        const enc = new RouteBatchEncoder(2);
        for (const [kind, s] of ops) enc.add(kind, s);
        expect(enc.finish().bytes).toEqual(Buffer.concat(ops.map(([kind, s]) => reference(kind, s))));
      }),
      { numRuns: 300 },
    );
  });

  it('is empty until something is added', () => {
    const enc = new RouteBatchEncoder();
    expect(enc.finish()).toEqual({ bytes: Buffer.alloc(0), offsets: [] });
  });
});
