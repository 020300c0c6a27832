import { describe, expect, it } from 'vitest';
import { resolveAgentSettings } from '../agent/config.js';
import { agentArgs } from './agent-process.js';
import { legacyIpipProblem } from './lab.js';
import type { LabNode } from './state.js';

describe('legacyIpipProblem', () => {
  it('refuses legacy + IPIP Always only when the kernel has no ipip module, saying what to do', () => {
    expect(legacyIpipProblem('legacy', 'Always', false)).toMatch(/needs the kernel's ipip module.*use --dataplane bpf .* or --ipip never/);
    expect(legacyIpipProblem('legacy', 'Always', true)).toBeUndefined();
    expect(legacyIpipProblem('legacy', 'CrossSubnet', false)).toBeUndefined();
    expect(legacyIpipProblem('bpf', 'Always', false)).toBeUndefined();
    expect(legacyIpipProblem('auto', 'Always', false)).toBeUndefined();
  });
});

describe('agentArgs', () => {
  const node: LabNode = {
    name: 'node1', index: 1, netns: 'tby-t-node1', address: '10.199.0.11/24', dir: '/run/x', stateDir: '/run/x/state', pinDir: '/sys/fs/bpf/tabby/t-node1',
    cniSocket: '/run/x/cni.sock', netconfFile: '/run/x/netconf.json', logFile: '/run/x/agent.log', httpListen: '127.0.0.1:9099',
  };
  const base = { etcdEndpoint: 'http://10.199.0.1:2379', dataplane: 'legacy' as const, poolCidr: '10.65.0.0/16', logLevel: 'info', bgpSecretsDir: '/run/tabby-lab/t/bgp-secrets' };

  it('passes --cluster-routes to the agent when the lab sets it, and leaves the agent default otherwise', () => {
    expect(agentArgs(node, { ...base, clusterRoutes: 'bgp' })).toContain('--cluster-routes=bgp');
    expect(agentArgs(node, { ...base, clusterRoutes: 'datastore' })).toContain('--cluster-routes=datastore');
    expect(agentArgs(node, base).some((a) => a.startsWith('--cluster-routes'))).toBe(false);
  });

  it('points every agent at the lab\'s BGP secrets directory, in a form the agent accepts', () => {
    const flag = agentArgs(node, base).find((a) => a.startsWith('--bgp-secrets-dir='))!;
    expect(resolveAgentSettings({ hostname: 'node1', flags: { bgpSecretsDir: flag.split('=')[1] } }).bgpSecretsDir).toBe('/run/tabby-lab/t/bgp-secrets');
  });

  it('gives --cluster-routes a value the agent accepts', () => {
    const flag = agentArgs(node, { ...base, clusterRoutes: 'bgp' }).find((a) => a.startsWith('--cluster-routes='))!;
    expect(resolveAgentSettings({ hostname: 'node1', flags: { clusterRoutes: flag.split('=')[1] } }).clusterRoutes).toBe('bgp');
  });
});
