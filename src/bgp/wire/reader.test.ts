import { describe, expect, it } from 'vitest';
import { BgpWireError, decodeMessage, encodeMessage, MessageReader, splitMessages } from './index.js';

const ctx = { fourOctetAs: true };
const keepalive = encodeMessage({ type: 'keepalive' }, ctx);
const refresh = encodeMessage({ type: 'route-refresh', afi: 2, safi: 1, subtype: 0 }, ctx);
const notification = encodeMessage({ type: 'notification', code: 6, subcode: 2, data: Buffer.from('bye') }, ctx);

describe('framing', () => {
  it('KEEPALIVE is the 19-byte header alone', () => {
    expect(keepalive.toString('hex')).toBe(`${'ff'.repeat(16)}001304`);
  });

  it('splits back-to-back messages and keeps the incomplete tail', () => {
    const stream = Buffer.concat([keepalive, refresh, notification.subarray(0, 10)]);
    const r = splitMessages(stream);
    expect(r.error).toBeUndefined();
    expect(r.frames.map((f) => f.toString('hex'))).toEqual([keepalive.toString('hex'), refresh.toString('hex')]);
    expect(r.rest.toString('hex')).toBe(notification.subarray(0, 10).toString('hex'));
  });

  it('reassembles messages cut at every possible byte boundary', () => {
    const stream = Buffer.concat([keepalive, notification, refresh, keepalive]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new MessageReader();
      const a = reader.push(stream.subarray(0, cut));
      const b = reader.push(stream.subarray(cut));
      const frames = [...a.frames, ...b.frames];
      expect(frames.map((f) => f.toString('hex'))).toEqual([keepalive, notification, refresh, keepalive].map((m) => m.toString('hex')));
      expect(reader.buffered).toBe(0);
    }
  });

  it('feeds one byte at a time', () => {
    const reader = new MessageReader();
    const frames: Buffer[] = [];
    for (const byte of notification) frames.push(...reader.push(Buffer.from([byte])).frames);
    expect(frames).toHaveLength(1);
    const d = decodeMessage(frames[0]!, ctx);
    expect(d).not.toBeInstanceOf(BgpWireError);
    if (!(d instanceof BgpWireError)) expect(d.message).toEqual({ type: 'notification', code: 6, subcode: 2, data: Buffer.from('bye') });
  });

  it('stays failed after a header error', () => {
    const reader = new MessageReader();
    const bad = Buffer.from(keepalive);
    bad[3] = 0;
    const r1 = reader.push(Buffer.concat([keepalive, bad]));
    expect(r1.frames).toHaveLength(1);
    expect(r1.error).toMatchObject({ bgpCode: 1, bgpSubcode: 1 });
    expect(reader.push(keepalive)).toMatchObject({ frames: [], error: { bgpCode: 1, bgpSubcode: 1 } });
  });

  it('reports Bad Message Length with the length as data', () => {
    const r = splitMessages(Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0x10, 0x01, 2])]));
    expect(r.error).toMatchObject({ bgpCode: 1, bgpSubcode: 2, data: Buffer.from([0x10, 0x01]) });
  });

  it('allows up to 65535 bytes only with extended messages', () => {
    const big = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0x20, 0x00, 2]), Buffer.alloc(8192 - 19)]);
    expect(splitMessages(big).error).toMatchObject({ bgpCode: 1, bgpSubcode: 2 });
    const r = splitMessages(big, { extendedMessages: true });
    expect(r.error).toBeUndefined();
    expect(r.frames).toHaveLength(1);
  });

  it('rejects a frame whose length disagrees with its header', () => {
    expect(decodeMessage(Buffer.concat([keepalive, Buffer.from([0])]), ctx)).toMatchObject({ bgpCode: 1, bgpSubcode: 2 });
  });
});
