import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { attachmentOf, parseLabelArg, podLabels } from './cni/attachment.js';
import { PROTOCOL_VERSION, type CniRequest } from '../cni/protocol.js';
import { hostInterfaceName, workloadEndpointName, workloadIdentity } from './workload-names.js';

describe('workload names', () => {
  it('hashes namespace.pod for Kubernetes pods and the container ID otherwise', () => {
    const sha = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 11);
    expect(hostInterfaceName(workloadIdentity('c1', { namespace: 'default', name: 'web-0' }))).toBe(`cali${sha('default.web-0')}`);
    expect(hostInterfaceName(workloadIdentity('c1', undefined))).toBe(`cali${sha('c1')}`);
    expect(hostInterfaceName(workloadIdentity('c1', undefined))).toHaveLength(15);
  });

  it('doubles dashes inside each part of a WorkloadEndpoint name, as Calico does', () => {
    expect(workloadEndpointName('node-1', { orchestrator: 'k8s', workload: 'web-0' }, 'eth0')).toBe('node--1-k8s-web--0-eth0');
    expect(workloadEndpointName('n', { orchestrator: 'cni', workload: 'abc' }, 'eth0')).toBe('n-cni-abc-eth0');
  });

  it('reads pod labels from K8S_POD_LABELS, runtimeConfig or args', () => {
    const base = { args: {}, config: {} } as Pick<CniRequest, 'args' | 'config'>;
    expect(podLabels({ ...base, args: { K8S_POD_LABELS: 'app=web,tier=fe' } })).toEqual({ app: 'web', tier: 'fe' });
    expect(podLabels({ ...base, args: { K8S_POD_LABELS: '{"app":"web"}' } })).toEqual({ app: 'web' });
    expect(podLabels({ ...base, config: { runtimeConfig: { labels: { a: 'b' } } } })).toEqual({ a: 'b' });
    expect(podLabels({ ...base, config: { args: { labels: { a: 'c' } } } })).toEqual({ a: 'c' });
    expect(podLabels({ ...base, config: { args: { cni: { labels: [{ key: 'k', value: 'v' }] } } } })).toEqual({ k: 'v' });
    expect(() => parseLabelArg('novalue')).toThrow(/pod labels/);
    expect(() => podLabels({ ...base, config: { runtimeConfig: { labels: { a: 1 } } } })).toThrow(/must be a string/);
  });

  it('derives the attachment: handle, interface, endpoint name and namespace', () => {
    const req: CniRequest = {
      protocol: PROTOCOL_VERSION, id: 'x', verb: 'ADD', cniVersion: '1.0.0', network: 'net', containerId: 'ctr', netns: '/n', ifname: 'eth0',
      args: {}, pod: { namespace: 'prod', name: 'api' }, config: {},
    };
    const a = attachmentOf(req, 'node1');
    expect(a).toMatchObject({ handle: 'net.ctr', wepName: 'node1-k8s-api-eth0', wepNamespace: 'prod', hostIfName: hostInterfaceName({ hashInput: 'prod.api' }) });
  });
});
