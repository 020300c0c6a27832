import { describe, expect, it } from 'vitest';

import { forbiddenBinding } from '../../native/fake-binding.js';
import { Sysctl, SysctlError, sysctlPath } from './sysctl.js';

describe('sysctlPath', () => {
  it('accepts dotted keys, /proc/sys paths and segments (for names with dots)', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlPath('/proc/sys/net/ipv4/conf/eth0/proxy_arp')).toBe('/proc/sys/net/ipv4/conf/eth0/proxy_arp');
    expect(sysctlPath(['net', 'ipv4', 'conf', 'eth0.100', 'proxy_arp'])).toBe('/proc/sys/net/ipv4/conf/eth0.100/proxy_arp');
  });

  it('refuses anything that could leave /proc/sys', () => {
    for (const bad of ['', 'net..ipv4', '/proc/sys/../../etc/passwd', 'net/ipv4', 'net.ipv4 .x']) {
      expect(() => sysctlPath(bad)).toThrow(SysctlError);
    }
    expect(() => sysctlPath(['net', '..', 'x'])).toThrow(SysctlError);
    expect(() => sysctlPath(['net', 'a/b'])).toThrow(SysctlError);
    expect(() => sysctlPath([])).toThrow(SysctlError);
  });

  it('checks the key before opening anything in a namespace', () => {
    const s = new Sysctl({ netns: '/run/netns/x', binding: forbiddenBinding() });
    expect(() => s.write('net..x', 1)).toThrow(/is not a sysctl key/);
  });
});
