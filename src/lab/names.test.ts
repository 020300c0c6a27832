import { describe, expect, it } from 'vitest';
import { checkLabName, checkMemberName, LabNames } from './names.js';
import { hostAddress } from './underlay.js';
import { cniEnv, firstIPv4 } from './cni-invoke.js';

describe('lab names', () => {
  it('derives every name from the lab name, with a prefix no other lab shares', () => {
    const n = new LabNames('t1');
    expect(n.nodeNetns('node1')).toBe('tby-t1-node1');
    expect(n.podNetns('web')).toBe('tby-t1-p-web');
    expect(n.underlayNetns).toBe('tby-t1-ul');
    expect(n.pinDir('node2')).toBe('/sys/fs/bpf/tabby/t1-node2');
    expect(n.stateFile).toBe('/run/tabby-lab/t1/lab.json');
    expect(new LabNames('t12').nodeNetns('x').startsWith(n.prefix)).toBe(false);
    expect(n.isPinDirOf('t12-node1')).toBe(false);
    expect(n.isPinDirOf('t1-node1')).toBe(true);
  });

  it('refuses names that would break the prefix scheme or interface names', () => {
    expect(() => checkLabName('a-b')).toThrow(/no dashes/);
    expect(() => checkLabName('')).toThrow();
    expect(() => checkLabName('x'.repeat(17))).toThrow();
    expect(checkMemberName('pod', 'node1-p1')).toBe('node1-p1');
    expect(() => checkMemberName('pod', 'Web')).toThrow(/pod name 'Web'/);
    expect(() => checkMemberName('node', '-a')).toThrow();
  });

  it('numbers underlay hosts within the CIDR', () => {
    expect(hostAddress('10.199.0.0/24', 1)).toBe('10.199.0.1');
    expect(hostAddress('10.199.0.0/24', 11)).toBe('10.199.0.11');
    expect(hostAddress('10.199.5.7/16', 300)).toBe('10.199.1.44');
    expect(() => hostAddress('10.0.0.0/30', 1)).toThrow(/between \/8 and \/24/);
  });
});

describe('CNI invocation', () => {
  it('passes the runtime environment a container runtime would', () => {
    const env = cniEnv({ plugin: ['x'], verb: 'ADD', containerId: 'c1', netnsPath: '/run/netns/p', ifname: 'eth0', args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web' }, netconf: {} });
    expect(env).toMatchObject({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/p', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web', CNI_PATH: '/usr/lib/cni' });
  });

  it('reads the first IPv4 address of a result', () => {
    expect(firstIPv4({ ips: [{ address: 'fd00::1/128' }, { address: '10.65.0.4/32' }] })).toBe('10.65.0.4');
    expect(firstIPv4({})).toBeUndefined();
  });
});
