import { describe, expect, it } from 'vitest';
import { BgpWireError, decodeMessage, encodeMessage, type PathAttributes, type Prefix, type UpdateMessage } from '../wire/index.js';
import { packUpdates } from './update-packer.js';

const attrsA: PathAttributes = { origin: 'igp', asPath: [{ type: 'sequence', asns: [64512] }], nextHop: '192.168.0.1' };
const attrsB: PathAttributes = { ...attrsA, med: 5 };
const v4 = (i: number): Prefix => ({ prefix: `10.${(i >> 2) & 255}.${i >> 10}.${(i & 3) * 64}`, length: 26 });

function roundTrip(ms: UpdateMessage[], ctx = { fourOctetAs: true, ebgp: true }): UpdateMessage[] {
  return ms.map((m) => {
    const buf = encodeMessage(m, ctx);
    expect(buf.length).toBeLessThanOrEqual(4096);
    const d = decodeMessage(buf, ctx);
    if (d instanceof BgpWireError) throw d;
    return d.message as UpdateMessage;
  });
}

describe('packUpdates', () => {
  it('splits many prefixes into messages of at most 4096 bytes, losing none', () => {
    const prefixes = Array.from({ length: 3000 }, (_, i) => v4(i));
    const ms = packUpdates({ announce: prefixes.map((prefix) => ({ prefix, attributes: attrsA })), withdraw: [] }, { fourOctetAs: true, ebgp: true });
    expect(ms.length).toBeGreaterThan(1);
    const back = roundTrip(ms);
    expect(back.flatMap((m) => m.nlri)).toEqual(prefixes);
    // full messages are really full: all but the last carry close to 4096 bytes
    expect(encodeMessage(ms[0]!, { fourOctetAs: true }).length).toBeGreaterThan(4000);
  });
  it('groups prefixes by identical attributes', () => {
    const ms = packUpdates({ announce: [v4(1), v4(2), v4(3)].map((prefix, i) => ({ prefix, attributes: i === 1 ? attrsB : attrsA })), withdraw: [] }, { fourOctetAs: true });
    expect(ms.map((m) => m.nlri.length).sort()).toEqual([1, 2]);
  });
  it('puts withdrawals first and IPv6 in MP attributes', () => {
    const v6: Prefix = { prefix: 'fd00:1::', length: 64 };
    const ms = packUpdates({ announce: [{ prefix: v6, attributes: { ...attrsA, nextHop: 'fd00::1' } }], withdraw: [v4(1), { prefix: 'fd00:2::', length: 64 }] }, { fourOctetAs: true });
    expect(ms[0]!.withdrawn).toEqual([v4(1)]);
    expect(ms[1]!.attributes.mpUnreach).toEqual({ afi: 2, safi: 1, withdrawn: [{ prefix: 'fd00:2::', length: 64 }] });
    expect(ms[2]!.attributes.mpReach).toMatchObject({ afi: 2, nextHop: 'fd00::1', nlri: [v6] });
    expect(ms[2]!.attributes.nextHop).toBeUndefined();
    roundTrip(ms);
  });
  it('splits large withdrawals too', () => {
    const prefixes = Array.from({ length: 2500 }, (_, i) => v4(i));
    const ms = packUpdates({ announce: [], withdraw: prefixes }, { fourOctetAs: true });
    expect(roundTrip(ms).flatMap((m) => m.withdrawn)).toEqual(prefixes);
  });
  it('uses AS_TRANS and AS4_PATH for a 2-octet session', () => {
    const ms = packUpdates({ announce: [{ prefix: v4(1), attributes: { ...attrsA, asPath: [{ type: 'sequence', asns: [4200000000] }] } }], withdraw: [] }, { fourOctetAs: false });
    expect(ms[0]!.attributes.asPath).toEqual([{ type: 'sequence', asns: [23456] }]);
    expect(ms[0]!.attributes.as4Path).toEqual([{ type: 'sequence', asns: [4200000000] }]);
  });
});
