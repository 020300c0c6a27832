// The pure netlink codec: attributes and messages round-trip, malformed input never throws
// past the decoders, kernel error replies decode (with extended ACK text), and route/link/
// address messages encode to what the kernel expects and decode back. Plus the argument
// checks of the netlink classes, against a binding that throws if it is ever called.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { forbiddenBinding } from './fake-binding.js';
import { decodeAddress, encodeAddress } from './netlink-addr-codec.js';
import { NLMSG, NLM_F, RTM } from './netlink-constants.js';
import {
  attrMap,
  attrString,
  decodeAttrs,
  decodeError,
  decodeMessages,
  encodeAttrs,
  encodeMessage,
  hostBitsZero,
  ipv4Bytes,
  ipv4String,
  macBytes,
  macString,
  parseIpv4Cidr,
  s32Bytes,
  stringBytes,
  u32Bytes,
  type Attr,
  ipv4Value,
  isIpv4,
} from './netlink-codec.js';
import { decodeLink, encodeVethCreate, encodeLinkSet } from './netlink-link-codec.js';
import { decodeRoute, encodeRouteDelete, encodeRouteReplace } from './netlink-route-codec.js';
import { Netlink } from './netlink.js';
import { NativeError } from './errors.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((t) => t.join('.'));

describe('attributes', () => {
  it('round-trip flat attributes, padded to 4 bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ type: fc.integer({ min: 0, max: 0x3fff }), value: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 8 }), (list) => {
        const attrs: Attr[] = list.map((a) => ({ type: a.type, value: Buffer.from(a.value) }));
        const buf = encodeAttrs(attrs);
        expect(buf.length % 4).toBe(0);
        const back = decodeAttrs(buf);
        expect(back.map((a) => a.type)).toEqual(attrs.map((a) => a.type));
        expect(back.map((a) => [...a.value])).toEqual(attrs.map((a) => [...(a.value as Buffer)]));
      }),
    );
  });

  it('mark nested attributes with NLA_F_NESTED and decode them level by level', () => {
    const buf = encodeAttrs([{ type: 18, value: [{ type: 1, value: stringBytes('veth') }] }]);
    const [outer] = decodeAttrs(buf);
    expect(outer?.type).toBe(18);
    expect(outer?.nested).toBe(true);
    expect(attrString(attrMap(outer!.value).get(1)!)).toBe('veth');
  });

  it('stop at a truncated or impossible attribute instead of throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(() => decodeAttrs(Buffer.from(bytes))).not.toThrow();
      }),
    );
    const good = encodeAttrs([{ type: 3, value: stringBytes('eth0') }]);
    const cut = good.subarray(0, good.length - 4);
    expect(decodeAttrs(cut)).toEqual([]);
  });
});

describe('messages', () => {
  it('round-trip header fields and payload', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 30 }),
        (type, flags, seq, header) => {
          const buf = encodeMessage({ type, flags, seq, header: Buffer.from(header) });
          const [m, ...rest] = decodeMessages(buf);
          expect(rest).toEqual([]);
          expect(m).toMatchObject({ type, flags, seq, pid: 0 });
          expect([...m!.payload.subarray(0, header.length)]).toEqual([...header]);
        },
      ),
    );
  });

  it('split several messages back to back and refuse a length that does not fit', () => {
    const a = encodeMessage({ type: RTM.NEWLINK, flags: NLM_F.MULTI, seq: 1, header: Buffer.alloc(16) });
    const b = encodeMessage({ type: NLMSG.DONE, flags: NLM_F.MULTI, seq: 1, header: s32Bytes(0) });
    expect(decodeMessages(Buffer.concat([a, b])).map((m) => m.type)).toEqual([RTM.NEWLINK, NLMSG.DONE]);
    const bad = Buffer.from(a);
    bad.writeUInt32LE(9999, 0);
    expect(() => decodeMessages(bad)).toThrow(/malformed/);
  });

  it('decode an error reply with the kernel\'s extended ACK text (capped ACK)', () => {
    const request = encodeMessage({ type: RTM.NEWROUTE, flags: NLM_F.REQUEST | NLM_F.ACK, seq: 7, header: Buffer.alloc(12) });
    const payload = Buffer.concat([s32Bytes(-101), request.subarray(0, 16), encodeAttrs([{ type: 1, value: stringBytes('Nexthop has invalid gateway') }, { type: 2, value: u32Bytes(36) }])]);
    const msg = { type: NLMSG.ERROR, flags: NLM_F.CAPPED | NLM_F.ACK_TLVS, seq: 7, pid: 0, payload };
    expect(decodeError(msg)).toEqual({ errno: 101, message: 'Nexthop has invalid gateway', offset: 36 });
    expect(decodeError({ ...msg, flags: 0, payload: s32Bytes(0) })).toEqual({ errno: 0 });
  });
});

describe('addresses and CIDRs', () => {
  it('round-trip IPv4 and MAC addresses', () => {
    fc.assert(fc.property(ipv4, (a) => {
      expect(ipv4String(ipv4Bytes(a))).toBe(a);
    }));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => {
        const s = macString(Buffer.from(b));
        expect([...macBytes(s)]).toEqual([...b]);
      }),
    );
  });

  it('parse CIDRs and check host bits', () => {
    expect(parseIpv4Cidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefixLen: 8 });
    expect(parseIpv4Cidr('10.0.0.1')).toEqual({ address: '10.0.0.1', prefixLen: 32 });
    expect(() => parseIpv4Cidr('10.0.0.0/33')).toThrow();
    expect(() => parseIpv4Cidr('10.0.0.256/8')).toThrow();
    expect(() => parseIpv4Cidr('10.0.0/8')).toThrow();
    expect(hostBitsZero(parseIpv4Cidr('10.1.0.0/16'))).toBe(true);
    expect(hostBitsZero(parseIpv4Cidr('10.1.0.1/16'))).toBe(false);
    expect(hostBitsZero(parseIpv4Cidr('0.0.0.0/0'))).toBe(true);
  });
});

/** A request encoded as the kernel would echo it back in a dump (same body, RTM_NEW*). */
function asReply(type: number, body: { header: Buffer; attrs: Attr[] }) {
  const [m] = decodeMessages(encodeMessage({ type, flags: NLM_F.MULTI, seq: 1, ...body }));
  return m!;
}

describe('route messages', () => {
  const route = fc.record({
    prefixLen: fc.integer({ min: 0, max: 32 }),
    addr: ipv4,
    gateway: fc.option(ipv4, { nil: undefined }),
    ifindex: fc.option(fc.integer({ min: 1, max: 100000 }), { nil: undefined }),
    table: fc.oneof(fc.constant(254), fc.integer({ min: 1, max: 0xffffffff })),
    protocol: fc.integer({ min: 0, max: 255 }),
    priority: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
    blackhole: fc.boolean(),
    onlink: fc.boolean(),
  });

  it('encode a replace that decodes back to the same route', () => {
    fc.assert(
      fc.property(route, (r) => {
        const masked = ipv4String(Buffer.from(ipv4Bytes(r.addr).map((b, i) => {
          const bits = Math.max(0, Math.min(8, r.prefixLen - i * 8));
          return b & ((0xff << (8 - bits)) & 0xff);
        })));
        const dst = `${masked}/${r.prefixLen}`;
        const spec = r.blackhole
          ? { dst, type: 'blackhole' as const, table: r.table, protocol: r.protocol, ...(r.priority !== undefined ? { priority: r.priority } : {}) }
          : {
              dst,
              table: r.table,
              protocol: r.protocol,
              ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
              ...(r.ifindex !== undefined ? { ifindex: r.ifindex } : {}),
              ...(r.priority !== undefined ? { priority: r.priority } : {}),
              onlink: r.onlink,
            };
        const back = decodeRoute(asReply(RTM.NEWROUTE, encodeRouteReplace(spec)));
        expect(back).not.toBeNull();
        expect(back!.dst).toBe(dst);
        expect(back!.table).toBe(r.table);
        expect(back!.protocol).toBe(r.protocol);
        expect(back!.type).toBe(r.blackhole ? 'blackhole' : 'unicast');
        expect(back!.priority).toBe(r.priority);
        if (!r.blackhole) {
          expect(back!.gateway).toBe(r.gateway);
          expect(back!.ifindex).toBe(r.ifindex);
          expect(back!.onlink).toBe(r.onlink);
          expect(back!.scope).toBe(r.gateway === undefined ? 'link' : 'universe');
        }
      }),
    );
  });

  it('leave type, scope and nexthop open on delete so that only dst, table and protocol match', () => {
    const { header, attrs } = encodeRouteDelete({ dst: '10.0.0.0/24', protocol: 84 });
    expect(header[5]).toBe(84); // protocol
    expect(header[6]).toBe(255); // RT_SCOPE_NOWHERE
    expect(header[7]).toBe(0); // RTN_UNSPEC
    expect(attrs.map((a) => a.type).sort()).toEqual([1, 15]); // RTA_DST, RTA_TABLE
  });

  it('ignore other families and never throw on garbage', () => {
    const body = encodeRouteReplace({ dst: '10.0.0.0/8', ifindex: 2 });
    body.header[0] = 10; // AF_INET6
    expect(decodeRoute(asReply(RTM.NEWROUTE, body))).toBeNull();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(() => decodeRoute({ type: RTM.NEWROUTE, flags: 0, seq: 0, pid: 0, payload: Buffer.from(bytes) })).not.toThrow();
      }),
    );
  });
  it('read attributes in place exactly as the generic decoder does: last of a type wins, wrong sizes ignored', () => {
    // Oracle: the attributes through attrMap (the generic path), fields picked as decodeRoute documents.
    const oracle = (payload: Buffer) => {
      const a = attrMap(payload.subarray(12));
      const ip = (b?: Buffer) => (b?.length === 4 ? [...b].join('.') : undefined);
      const u32 = (b?: Buffer) => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined);
      return { dst: `${ip(a.get(1)) ?? '0.0.0.0'}/${payload[1]}`, table: u32(a.get(15)) ?? payload[4], gateway: ip(a.get(5)), ifindex: u32(a.get(4)), priority: u32(a.get(6)), prefsrc: ip(a.get(7)) };
    };
    const attr = fc.record({ type: fc.constantFrom(1, 4, 5, 6, 7, 15, 3, 0x8001), size: fc.constantFrom(0, 2, 4, 4, 4, 8), fill: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 32 }), fc.array(attr, { maxLength: 10 }), (dstLen, list) => {
        const attrs = list.map(({ type, size, fill }) => ({ type, value: Buffer.alloc(size, fill) }));
        const header = Buffer.alloc(12);
        header[0] = 2;
        header[1] = dstLen;
        header[4] = 254;
        header[7] = 1;
        const r = decodeRoute(asReply(RTM.NEWROUTE, { header, attrs }))!;
        const want = oracle(Buffer.concat([header, encodeAttrs(attrs)]));
        expect({ dst: r.dst, table: r.table, gateway: r.gateway, ifindex: r.ifindex, priority: r.priority, prefsrc: r.prefsrc }).toEqual(want);
      }),
    );
  });
});

describe('link and address messages', () => {
  it('put the veth peer (ifinfomsg + attributes) inside IFLA_LINKINFO/IFLA_INFO_DATA', () => {
    const { attrs } = encodeVethCreate({ name: 'cali1', peerName: 'eth0', peerNetnsFd: 42, mac: 'ee:ee:ee:ee:ee:ee', mtu: 1400 });
    const link = decodeLink(asReply(RTM.NEWLINK, { header: Buffer.alloc(16), attrs }));
    expect(link).toMatchObject({ name: 'cali1', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1400, kind: 'veth' });
    const info = attrMap(encodeAttrs(attrs)).get(18)!;
    const data = attrMap(info).get(2)!;
    const peer = attrMap(data).get(1)!;
    const peerAttrs = attrMap(peer.subarray(16));
    expect(attrString(peerAttrs.get(3)!)).toBe('eth0');
    expect(peerAttrs.get(28)!.readInt32LE(0)).toBe(42);
  });

  it('set IFF_UP through flags/change, and find a link by name only when there is no index', () => {
    const up = encodeLinkSet({ ifindex: 5 }, { up: true });
    expect([up.header.readInt32LE(4), up.header.readUInt32LE(8), up.header.readUInt32LE(12)]).toEqual([5, 1, 1]);
    const down = encodeLinkSet({ ifindex: 0, byName: 'x' }, { up: false });
    expect([down.header.readUInt32LE(8), down.header.readUInt32LE(12)]).toEqual([0, 1]);
    expect(down.attrs.map((a) => a.type)).toEqual([3]);
  });

  it('round-trip an address', () => {
    const a = decodeAddress(asReply(RTM.NEWADDR, encodeAddress(7, '10.65.0.5', 32)));
    expect(a).toEqual({ ifindex: 7, address: '10.65.0.5', prefixLen: 32, cidr: '10.65.0.5/32', scope: 'universe' });
  });
});

describe('argument checks happen before any native call', () => {
  const nl = new Netlink(forbiddenBinding());
  const cases: [string, () => unknown][] = [
    ['host bits set', () => nl.routes.replace({ dst: '10.0.0.1/24', ifindex: 2 })],
    ['no prefix', () => nl.routes.replace({ dst: '10.0.0.0', ifindex: 2 })],
    ['bad gateway', () => nl.routes.replace({ dst: '10.0.0.0/24', gateway: '10.0.0.300' })],
    ['blackhole with a device', () => nl.routes.replace({ dst: '10.0.0.0/24', type: 'blackhole', ifindex: 2 })],
    ['unicast with nowhere to go', () => nl.routes.replace({ dst: '10.0.0.0/24' })],
    ['onlink without device', () => nl.routes.replace({ dst: '10.0.0.0/24', gateway: '1.2.3.4', onlink: true })],
    ['protocol out of range', () => nl.routes.replace({ dst: '10.0.0.0/24', ifindex: 2, protocol: 256 })],
    ['table 0', () => nl.routes.list({ table: 0 })],
    ['relative netns', () => nl.routes.list({ netns: 'run/netns/x' })],
    ['long interface name', () => nl.links.get('abcdefghijklmnop')],
    ['bad MAC', () => nl.links.setMac('eth0', 'ee:ee:ee')],
    ['multicast MAC', () => nl.links.setMac('eth0', '01:00:5e:00:00:01')],
    ['MTU too small', () => nl.links.setMtu('eth0', 10)],
    ['same veth names', () => nl.links.createVeth({ name: 'a', peerName: 'a' })],
    ['address without prefix', () => nl.addresses.add(2, '10.0.0.1')],
  ];
  for (const [what, call] of cases) {
    it(`refuses ${what} with EINVAL`, () => {
      let caught: unknown;
      try {
        call();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(NativeError);
      expect((caught as NativeError).code).toBe('EINVAL');
    });
  }
});

describe('ipv4Value and parseIpv4Cidr (char loops) accept exactly what the old regexes did', () => {
  const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  const LEN = /^(3[0-2]|[12]?\d)$/;
  const pieces = ['0', '00', '01', '1', '9', '10', '99', '100', '199', '255', '256', '300', '1000', '', 'a', ' 1', '-1'];
  it('on every 4-piece combination of tricky octets, and on lengths', () => {
    let n = 0;
    for (const a of pieces)
      for (const b of ['0', '255', '01'])
        for (const c of pieces)
          for (const d of pieces) {
            const s = `${a}.${b}.${c}.${d}`;
            expect(isIpv4(s), s).toBe(IPV4.test(s));
            if (IPV4.test(s)) expect(ipv4Value(s)).toBe(s.split('.').reduce((v, o) => v * 256 + Number(o), 0));
            n++;
          }
    for (const s of ['1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '']) expect(isIpv4(s), s).toBe(false);
    for (const len of ['0', '5', '9', '10', '19', '29', '32', '33', '40', '01', '', '100', '3a', '/1', '24/']) {
      const ok = LEN.test(len);
      if (ok) expect(parseIpv4Cidr(`10.0.0.0/${len}`).prefixLen, len).toBe(Number(len));
      else expect(() => parseIpv4Cidr(`10.0.0.0/${len}`), len).toThrow(RangeError);
    }
    expect(n).toBeGreaterThan(800);
  });
});
