import { describe, expect, it } from 'vitest';
import {
  BgpEncodeError,
  BgpWireError,
  decodeMessage,
  encodeMessage,
  errorCodeName,
  notificationFor,
  notificationName,
  type BgpMessage,
} from './index.js';

const ctx = { fourOctetAs: true };
const decode = (buf: Buffer): BgpMessage => {
  const r = decodeMessage(buf, ctx);
  if (r instanceof BgpWireError) throw new Error(r.message);
  return r.message;
};

describe('NOTIFICATION, KEEPALIVE, ROUTE-REFRESH', () => {
  it('round-trip', () => {
    const msgs: BgpMessage[] = [
      { type: 'notification', code: 4, subcode: 0, data: Buffer.alloc(0) },
      { type: 'notification', code: 6, subcode: 2, data: Buffer.from('0b6d61696e74656e616e6365', 'hex') },
      { type: 'keepalive' },
      { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 },
      { type: 'route-refresh', afi: 2, safi: 1, subtype: 2 },
    ];
    for (const m of msgs) expect(decode(encodeMessage(m, ctx))).toEqual(m);
  });

  it('known bytes: Cease / Administrative Shutdown and a ROUTE-REFRESH for IPv6 unicast', () => {
    expect(encodeMessage({ type: 'notification', code: 6, subcode: 2, data: Buffer.alloc(0) }, ctx).toString('hex')).toBe(`${'ff'.repeat(16)}00150306 02`.replace(' ', ''));
    expect(encodeMessage({ type: 'route-refresh', afi: 2, safi: 1, subtype: 0 }, ctx).toString('hex')).toBe(`${'ff'.repeat(16)}00170500020001`);
  });

  it('rejects codes that do not fit a byte', () => {
    expect(() => encodeMessage({ type: 'notification', code: 256, subcode: 0, data: Buffer.alloc(0) }, ctx)).toThrow(BgpEncodeError);
    expect(() => encodeMessage({ type: 'route-refresh', afi: 70000, safi: 1, subtype: 0 }, ctx)).toThrow(BgpEncodeError);
  });

  it('names every code and subcode for logs', () => {
    expect(notificationName(4, 0)).toBe('Hold Timer Expired');
    expect(notificationName(6, 2)).toBe('Cease / Administrative Shutdown');
    expect(notificationName(3, 11)).toBe('UPDATE Message Error / Malformed AS_PATH');
    expect(notificationName(1, 1)).toBe('Message Header Error / Connection Not Synchronized');
    expect(notificationName(2, 0)).toBe('OPEN Message Error / Unspecific');
    expect(notificationName(5, 3)).toBe('Finite State Machine Error / Receive Unexpected Message in Established State');
    expect(notificationName(7, 1)).toBe('ROUTE-REFRESH Message Error / Invalid Message Length');
    expect(notificationName(9, 9)).toBe('Unknown Error Code 9 / Unknown Subcode 9');
    for (let code = 1; code <= 7; code++) expect(errorCodeName(code)).not.toMatch(/Unknown/);
    const subcodes: Record<number, number> = { 1: 3, 2: 11, 3: 11, 5: 3, 6: 10, 7: 1 };
    for (const [code, max] of Object.entries(subcodes)) {
      for (let sub = 1; sub <= max; sub++) expect(notificationName(Number(code), sub)).not.toMatch(/Unknown/);
    }
  });

  it('turns a decode error into the NOTIFICATION to send', () => {
    const err = new BgpWireError(3, 10, 'bad prefix', Buffer.from([1]));
    expect(decode(encodeMessage(notificationFor(err), ctx))).toEqual({ type: 'notification', code: 3, subcode: 10, data: Buffer.from([1]) });
  });
});
