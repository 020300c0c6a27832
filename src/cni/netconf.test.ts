import { describe, expect, it } from 'vitest';
import { CniError } from './errors.js';
import { DEFAULT_AGENT_SOCKET, parseNetConf, reportVersion } from './netconf.js';

const ok = { cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'tabby-cni' };
const text = (o: unknown): string => JSON.stringify(o);

function errOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected a CniError');
}

describe('parseNetConf', () => {
  it('fills defaults', () => {
    const c = parseNetConf(text(ok), 'ADD');
    expect(c.agentSocket).toBe(DEFAULT_AGENT_SOCKET);
    expect(c.timeoutMs).toBe(60_000);
    expect(c.connectTimeoutMs).toBe(5_000);
    expect(c.raw).toEqual(ok);
  });

  it('reads tabby fields and bounds the connect timeout by the overall one', () => {
    const c = parseNetConf(text({ ...ok, agent_socket: '/run/x.sock', timeout_seconds: 2, connect_timeout_seconds: 9 }), 'ADD');
    expect(c.agentSocket).toBe('/run/x.sock');
    expect(c.timeoutMs).toBe(2000);
    expect(c.connectTimeoutMs).toBe(2000);
  });

  it('maps each problem to the spec code', () => {
    expect(errOf(() => parseNetConf('{"cniVersion":', 'ADD')).cniCode).toBe(6);
    expect(errOf(() => parseNetConf('[1]', 'ADD')).cniCode).toBe(6);
    expect(errOf(() => parseNetConf(text({ ...ok, cniVersion: '0.2.0' }), 'ADD')).cniCode).toBe(1);
    expect(errOf(() => parseNetConf(text({ ...ok, cniVersion: undefined }), 'ADD')).cniCode).toBe(1);
    expect(errOf(() => parseNetConf(text({ ...ok, type: undefined }), 'ADD')).msg).toMatch(/no "type"/);
    expect(errOf(() => parseNetConf(text({ ...ok, name: '' }), 'ADD')).cniCode).toBe(7);
    expect(errOf(() => parseNetConf(text({ ...ok, name: 'a b' }), 'ADD')).cniCode).toBe(7);
    expect(errOf(() => parseNetConf(text({ ...ok, timeout_seconds: 0 }), 'ADD')).cniCode).toBe(7);
    expect(errOf(() => parseNetConf(text({ ...ok, timeout_seconds: 601 }), 'ADD')).cniCode).toBe(7);
    expect(errOf(() => parseNetConf(text({ ...ok, agent_socket: 'relative.sock' }), 'ADD')).cniCode).toBe(7);
    expect(errOf(() => parseNetConf(text({ ...ok, plugins: [] }), 'ADD')).msg).toMatch(/configuration list/);
    expect(errOf(() => parseNetConf(text({ ...ok, ipam: { type: 'host-local' } }), 'ADD')).cniCode).toBe(2);
    expect(parseNetConf(text({ ...ok, ipam: { type: 'tabby-ipam' } }), 'ADD').name).toBe('k8s-pod-network');
  });

  it('gates verbs by version', () => {
    expect(errOf(() => parseNetConf(text({ ...ok, cniVersion: '0.3.1' }), 'CHECK')).cniCode).toBe(1);
    expect(errOf(() => parseNetConf(text(ok), 'STATUS')).msg).toMatch(/STATUS command needs cniVersion 1.1.0/);
    expect(errOf(() => parseNetConf(text(ok), 'GC')).cniCode).toBe(1);
    expect(parseNetConf(text({ ...ok, cniVersion: '1.1.0' }), 'STATUS').cniVersion).toBe('1.1.0');
  });

  it('reads prevResult of an older version into the 1.x shape, and requires it for CHECK', () => {
    const prev = { cniVersion: '0.4.0', interfaces: [{ name: 'eth0' }], ips: [{ version: '4', interface: 0, address: '10.0.0.2/32' }] };
    const c = parseNetConf(text({ ...ok, cniVersion: '0.4.0', prevResult: prev }), 'CHECK');
    expect(c.prevResult?.ips).toEqual([{ interface: 0, address: '10.0.0.2/32' }]);
    expect(errOf(() => parseNetConf(text({ ...ok, cniVersion: '0.4.0' }), 'CHECK')).cniCode).toBe(7);
    expect(errOf(() => parseNetConf(text({ ...ok, prevResult: { ips: [{ address: 'nope' }] } }), 'DEL')).cniCode).toBe(6);
  });

  it('reads the GC keep-list', () => {
    const att = [{ containerID: 'a', ifname: 'eth0' }];
    expect(parseNetConf(text({ ...ok, cniVersion: '1.1.0', 'cni.dev/valid-attachments': att }), 'GC').validAttachments).toEqual(att);
    expect(parseNetConf(text({ ...ok, cniVersion: '1.1.0' }), 'GC').validAttachments).toEqual([]);
    expect(errOf(() => parseNetConf(text({ ...ok, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ ifname: 1 }] }), 'GC')).cniCode).toBe(7);
  });
});

describe('reportVersion', () => {
  it('returns a supported version or undefined', () => {
    expect(reportVersion(text(ok))).toBe('1.0.0');
    expect(reportVersion(text({ cniVersion: '7.7.7' }))).toBeUndefined();
    expect(reportVersion('garbage')).toBeUndefined();
  });
});
