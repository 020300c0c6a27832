import { describe, expect, it } from 'vitest';
import { formatIpv6, parseIpv4, parseIpv6, parsePrefix, BgpEncodeError } from './index.js';

describe('addresses', () => {
  it.each([
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ])('IPv6 %s is %s in RFC 5952 form', (input, canonical) => {
    const b = parseIpv6(input);
    expect(b).not.toBeNull();
    expect(formatIpv6(b!)).toBe(canonical);
  });

  it.each(['1:2:3:4:5:6:7:8:9', '1::2::3', 'g::', '12345::', '1:2:3:4:5:6:7', ''])('rejects IPv6 %s', (s) => {
    expect(parseIpv6(s)).toBeNull();
  });

  it.each(['1.2.3', '256.0.0.1', '01.2.3.4', '1.2.3.4.5', 'a.b.c.d'])('rejects IPv4 %s', (s) => {
    expect(parseIpv4(s)).toBeNull();
  });

  it('parses prefix text', () => {
    expect(parsePrefix('10.244.1.0/26')).toEqual({ prefix: '10.244.1.0', length: 26 });
    expect(parsePrefix('FD00:0::/8')).toEqual({ prefix: 'fd00::', length: 8 });
    expect(() => parsePrefix('10.244.1.1/26')).toThrow(BgpEncodeError);
  });
});
