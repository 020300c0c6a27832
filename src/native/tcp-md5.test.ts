import { describe, expect, it } from 'vitest';
import { forbiddenBinding, NativeCalled } from './fake-binding.js';
import { TCP_MD5_MAX_KEY_BYTES, TcpMd5Sockets } from './tcp-md5.js';

describe('TcpMd5Sockets', () => {
  it('checks fd, peer and password before native code', () => {
    const md5 = new TcpMd5Sockets(forbiddenBinding());
    expect(() => md5.setKey(-1, '192.0.2.1', 'pw')).toThrow(/fd must be a non-negative integer/);
    expect(() => md5.setKey(5, 'router1', 'pw')).toThrow(/peer must be an IP address, got 'router1'/);
    expect(() => md5.setKey(5, '192.0.2.1', '')).toThrow(/the password for 192.0.2.1 is empty/);
    expect(() => md5.setKey(5, '192.0.2.1', 'x'.repeat(TCP_MD5_MAX_KEY_BYTES + 1))).toThrow(/81 bytes; TCP-MD5 keys are at most 80/);
    expect(() => md5.socket(5 as 4)).toThrow(/family must be 4 or 6/);
    expect(() => md5.setKey(5, '192.0.2.1', 'pw')).toThrow(NativeCalled);
  });

  it('passes the key as bytes, and an empty key to remove one', () => {
    const calls: unknown[] = [];
    const md5 = new TcpMd5Sockets(forbiddenBinding({ tcpMd5SetKey: (fd, o) => (calls.push([fd, o.address, o.key.toString('utf8')]), true), tcpSocket: (o) => (calls.push(o), 9) }));
    expect(md5.socket(4)).toBe(9);
    md5.setKey(7, '192.0.2.1', 'pässword');
    md5.setKey(7, '2001:db8::1', undefined);
    expect(calls).toEqual([{ family: 4 }, [7, '192.0.2.1', 'pässword'], [7, '2001:db8::1', '']]);
  });
});
