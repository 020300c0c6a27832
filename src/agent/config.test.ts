import { describe, expect, it } from 'vitest';
import { envNameOf, resolveAgentSettings } from './config.js';

describe('resolveAgentSettings', () => {
  it('applies defaults from the node name', () => {
    const s = resolveAgentSettings({ hostname: 'node1' });
    expect(s).toEqual({
      nodeName: 'node1',
      dataplane: 'auto',
      stateDir: '/var/lib/tabby/node1',
      pinDir: '/sys/fs/bpf/tabby/node1',
      cniSocket: '/var/run/tabby/cni.sock',
      httpListen: { host: '127.0.0.1', port: 9099 },
      defaultPoolCidr: '192.168.0.0/16',
      logLevel: 'info',
      bgpWarmUp: 4000,
      bgpSecretsDir: '/etc/tabby/bgp-secrets',
    });
  });

  it('flag > environment > file > default', () => {
    const file = { path: '/etc/tabby/agent.yaml', text: 'nodeName: from-file\nnode-ip: 10.0.0.9/24\ndataplane: legacy\nuplink: eth1\n' };
    const s = resolveAgentSettings({
      hostname: 'h',
      file,
      env: { TABBY_NODE_IP: '10.0.0.8/24', TABBY_UPLINK: 'eth2' },
      flags: { uplink: 'eth3' },
    });
    expect(s.nodeName).toBe('from-file');
    expect(s.stateDir).toBe('/var/lib/tabby/from-file');
    expect(s.nodeIp).toBe('10.0.0.8/24');
    expect(s.uplink).toBe('eth3');
    expect(s.dataplane).toBe('legacy');
  });

  it('names the setting, its source and the fix in errors', () => {
    expect(() => resolveAgentSettings({ hostname: 'h', env: { TABBY_NODE_IP: '10.0.0.8' } })).toThrow(/node-ip "10.0.0.8" from environment variable TABBY_NODE_IP: .*10.0.0.2\/24/);
    expect(() => resolveAgentSettings({ hostname: 'h', flags: { dataplane: 'fast' } })).toThrow(/dataplane "fast" from --dataplane: use one of auto, bpf, legacy/);
    expect(() => resolveAgentSettings({ hostname: 'h', flags: { httpListen: '9099' } })).toThrow(/http-listen/);
    expect(() => resolveAgentSettings({ hostname: 'Bad_Name' })).toThrow(/node-name "Bad_Name" from the default/);
    expect(() => resolveAgentSettings({ hostname: 'h', env: { TABBY_BGP_SECRETS_DIR: 'secrets' } })).toThrow(/bgp-secrets-dir "secrets" from environment variable TABBY_BGP_SECRETS_DIR: use an absolute path/);
    expect(() => resolveAgentSettings({ hostname: 'h', file: { path: '/f.yaml', text: 'colour: blue\n' } })).toThrow(/unknown setting "colour"/);
    expect(() => resolveAgentSettings({ hostname: 'h', flags: { cniSocket: 'rel/sock' } })).toThrow(/absolute path/);
    expect(() => resolveAgentSettings({ hostname: 'h', flags: { bgpWarmUp: 'lots' } })).toThrow(/bgp-warm-up "lots" from --bgp-warm-up: use a number of prefixes from 0 \(no warm-up\) to 100000/);
    expect(() => resolveAgentSettings({ hostname: 'h', env: { TABBY_BGP_WARM_UP: '200000' } })).toThrow(/from environment variable TABBY_BGP_WARM_UP/);
    expect(resolveAgentSettings({ hostname: 'h', flags: { bgpWarmUp: '0' } }).bgpWarmUp).toBe(0);
  });

  it('environment names are TABBY_<UPPER_SNAKE>', () => {
    expect(envNameOf('defaultPoolCidr')).toBe('TABBY_DEFAULT_POOL_CIDR');
  });
});
