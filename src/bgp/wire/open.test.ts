import { describe, expect, it } from 'vitest';
import {
  AS_TRANS,
  BgpEncodeError,
  BgpWireError,
  buildOpen,
  checkOpenForSession,
  decodeMessage,
  encodeMessage,
  peerAsOf,
  type OpenMessage,
} from './index.js';

const ctx = { fourOctetAs: false };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decodeOpenFrame(buf: Buffer): OpenMessage | BgpWireError {
  const r = decodeMessage(buf, ctx);
  if (r instanceof BgpWireError) return r;
  if (r.message.type !== 'open') throw new Error(`expected an OPEN, got ${r.message.type}`);
  return r.message;
}

// An OPEN as BIRD 2 sends it for AS 64512, hold 240, router id 192.0.2.1, with graceful
// restart on: one optional parameter holding MP IPv4 unicast, route refresh, graceful
// restart (120 s, IPv4 unicast forwarding preserved), 4-octet AS and enhanced route refresh.
const BIRD_OPEN = hex(`
  ffffffffffffffffffffffffffffffff 0037 01
  04 fc00 00f0 c0000201 1a
  02 18
    01 04 0001 00 01
    02 00
    40 06 0078 0001 01 80
    41 04 0000fc00
    46 00`);

describe('OPEN', () => {
  it('decodes the bytes BIRD 2 sends', () => {
    const m = decodeOpenFrame(BIRD_OPEN);
    expect(m).toEqual({
      type: 'open',
      version: 4,
      myAs: 64512,
      holdTime: 240,
      bgpId: '192.0.2.1',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'route-refresh' },
        { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
        { kind: 'four-octet-as', asn: 64512 },
        { kind: 'unknown', code: 70, value: Buffer.alloc(0) },
      ],
    });
    // ...and encodes back to the same bytes.
    expect(encodeMessage(m as OpenMessage, ctx).toString('hex')).toBe(BIRD_OPEN.toString('hex'));
  });

  it('uses AS_TRANS in My AS for a 4-octet AS and recovers the real AS', () => {
    const open = buildOpen({ asn: 4200000001, holdTime: 90, bgpId: '10.0.0.1', capabilities: [{ kind: 'route-refresh' }] });
    expect(open.myAs).toBe(AS_TRANS);
    const buf = encodeMessage(open, ctx);
    // My AS field at offset 20, 4-octet capability value at the end.
    expect(buf.readUInt16BE(20)).toBe(23456);
    expect(buf.subarray(-6).toString('hex')).toBe('4104fa56ea01');
    const back = decodeOpenFrame(buf);
    expect(back).toEqual(open);
    expect(peerAsOf(back as OpenMessage)).toBe(4200000001);
  });

  it('round-trips every capability kind, including graceful restart flags and unknown ones', () => {
    const open: OpenMessage = {
      type: 'open',
      version: 4,
      myAs: 65001,
      holdTime: 0,
      bgpId: '255.1.2.3',
      capabilities: [
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'graceful-restart', restarting: true, notification: true, restartTime: 4095, families: [{ afi: 1, safi: 1, forwardingPreserved: false }, { afi: 2, safi: 1, forwardingPreserved: true }] },
        { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 0, families: [] },
        { kind: 'unknown', code: 73, value: Buffer.from('0474616262', 'hex') },
      ],
    };
    expect(decodeOpenFrame(encodeMessage(open, ctx))).toEqual(open);
  });

  it('spreads many capabilities over several optional parameters', () => {
    const caps = Array.from({ length: 60 }, (_, i) => ({ kind: 'multiprotocol' as const, afi: i + 1, safi: 1 }));
    const open: OpenMessage = { type: 'open', version: 4, myAs: 1, holdTime: 3, bgpId: '1.1.1.1', capabilities: caps.slice(0, 40) };
    const buf = encodeMessage(open, ctx);
    expect(decodeOpenFrame(buf)).toEqual(open);
    expect(() => encodeMessage({ ...open, capabilities: caps }, ctx)).toThrow(BgpEncodeError);
  });

  it('rejects values an OPEN cannot carry', () => {
    const base: OpenMessage = { type: 'open', version: 4, myAs: 1, holdTime: 90, bgpId: '1.2.3.4', capabilities: [] };
    expect(() => encodeMessage({ ...base, myAs: 70000 }, ctx)).toThrow(/AS_TRANS/);
    expect(() => encodeMessage({ ...base, bgpId: '1.2.3' }, ctx)).toThrow(BgpEncodeError);
    expect(() => encodeMessage({ ...base, holdTime: 70000 }, ctx)).toThrow(BgpEncodeError);
    expect(() => encodeMessage({ ...base, capabilities: [{ kind: 'graceful-restart', restarting: false, notification: false, restartTime: 5000, families: [] }] }, ctx)).toThrow(BgpEncodeError);
  });

  it('answers version 3 with Unsupported Version Number carrying version 4', () => {
    const buf = Buffer.from(BIRD_OPEN);
    buf[19] = 3;
    const err = decodeOpenFrame(buf);
    expect(err).toBeInstanceOf(BgpWireError);
    expect(err).toMatchObject({ bgpCode: 2, bgpSubcode: 1, data: Buffer.from([0, 4]) });
  });

  describe('checks that need the session', () => {
    const open = decodeOpenFrame(BIRD_OPEN) as OpenMessage;
    it('accepts the expected peer', () => {
      expect(checkOpenForSession(open, { peerAs: 64512, localAs: 64512, localBgpId: '192.0.2.2', requiredCapabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'four-octet-as', asn: 1 }] })).toBeNull();
    });
    it('Bad Peer AS when the AS is not the configured one', () => {
      expect(checkOpenForSession(open, { peerAs: 64513 })).toMatchObject({ bgpCode: 2, bgpSubcode: 2 });
    });
    it('Bad BGP Identifier when an internal peer uses our identifier', () => {
      expect(checkOpenForSession(open, { localAs: 64512, localBgpId: '192.0.2.1' })).toMatchObject({ bgpCode: 2, bgpSubcode: 3 });
    });
    it('Unsupported Capability listing what is missing', () => {
      const err = checkOpenForSession(open, { requiredCapabilities: [{ kind: 'multiprotocol', afi: 2, safi: 1 }] });
      expect(err).toMatchObject({ bgpCode: 2, bgpSubcode: 7, data: Buffer.from('010400020001', 'hex') });
    });
  });
});
