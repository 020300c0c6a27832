import { describe, expect, it } from 'vitest';
import { checkIfname, parseCniArgs, parseCniEnv } from './env.js';
import { CniError } from './errors.js';

const base = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0' };

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return (e as CniError).cniCode;
  }
  return undefined;
}

describe('parseCniEnv', () => {
  it('reads a complete ADD environment', () => {
    const inv = parseCniEnv({
      ...base,
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=c0ffee;FOO=a=b',
      CNI_PATH: '/opt/cni/bin::/usr/lib/cni',
    });
    expect(inv.verb).toBe('ADD');
    expect(inv.containerId).toBe('c0ffee');
    expect(inv.netns).toBe('/var/run/netns/x');
    expect(inv.ifname).toBe('eth0');
    expect(inv.args.podNamespace).toBe('default');
    expect(inv.args.podName).toBe('web-0');
    expect(inv.args.podInfraContainerId).toBe('c0ffee');
    expect(inv.args.raw.FOO).toBe('a=b');
    expect(inv.path).toEqual(['/opt/cni/bin', '/usr/lib/cni']);
  });

  it('names the missing variable per verb', () => {
    expect(() => parseCniEnv({})).toThrow(/CNI_COMMAND is not set/);
    expect(() => parseCniEnv({ ...base, CNI_NETNS: undefined })).toThrow(/CNI_NETNS is not set/);
    expect(() => parseCniEnv({ ...base, CNI_COMMAND: 'CHECK', CNI_CONTAINERID: '' })).toThrow(/CNI_CONTAINERID is not set/);
    expect(codeOf(() => parseCniEnv({ ...base, CNI_IFNAME: undefined }))).toBe(4);
  });

  it('lets DEL run without a netns, and STATUS/GC/VERSION without container fields', () => {
    expect(parseCniEnv({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }).netns).toBe('');
    for (const verb of ['STATUS', 'GC', 'VERSION']) expect(parseCniEnv({ CNI_COMMAND: verb }).verb).toBe(verb);
  });

  it('refuses unknown verbs and malformed ids and interface names with code 4', () => {
    expect(codeOf(() => parseCniEnv({ ...base, CNI_COMMAND: 'UPDATE' }))).toBe(4);
    expect(codeOf(() => parseCniEnv({ ...base, CNI_CONTAINERID: '-leading-dash' }))).toBe(4);
    expect(codeOf(() => parseCniEnv({ ...base, CNI_CONTAINERID: 'has space' }))).toBe(4);
    expect(codeOf(() => parseCniEnv({ ...base, CNI_IFNAME: 'a-very-long-ifname' }))).toBe(4);
  });
});

describe('checkIfname', () => {
  it('follows the spec rules', () => {
    expect(checkIfname('eth0')).toBeUndefined();
    expect(checkIfname('x'.repeat(15))).toBeUndefined();
    expect(checkIfname('x'.repeat(16))).toMatch(/longer than 15/);
    expect(checkIfname('.')).toBeDefined();
    expect(checkIfname('..')).toBeDefined();
    expect(checkIfname('a/b')).toBeDefined();
    expect(checkIfname('a:b')).toBeDefined();
    expect(checkIfname('a b')).toBeDefined();
  });
});

describe('parseCniArgs', () => {
  it('refuses unknown keys unless IgnoreUnknown is set', () => {
    expect(() => parseCniArgs('FOO=1')).toThrow(/unknown key\(s\) FOO.*IgnoreUnknown=1/);
    expect(parseCniArgs('IgnoreUnknown=true;FOO=1').raw.FOO).toBe('1');
    expect(parseCniArgs('K8S_POD_NAME=p').podName).toBe('p');
  });

  it('refuses pairs without a key', () => {
    expect(() => parseCniArgs('K8S_POD_NAME')).toThrow(CniError);
    expect(() => parseCniArgs('=x')).toThrow(/malformed pair/);
    expect(parseCniArgs('').raw).toEqual({});
  });
});
