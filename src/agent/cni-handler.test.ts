import { describe, expect, it } from 'vitest';
import { ResourceClient } from '../client/resources.js';
import { CniCode, CniError } from '../cni/errors.js';
import { PROTOCOL_VERSION, type CniRequest } from '../cni/protocol.js';
import { Keys } from '../datastore/keys.js';
import { MemoryBackend } from '../datastore/memory.js';
import { Ipam } from '../ipam/allocator.js';
import { StaticPoolSource } from '../ipam/pools.js';
import { createCniHandler } from './cni-handler.js';
import { FakeWorkloadWiring } from './fake-workload-wiring.js';
import { AgentMetrics } from './metrics.js';

function handler(ready: boolean) {
  const backend = new MemoryBackend();
  const metrics = new AgentMetrics();
  const h = createCniHandler({
    nodeName: 'n1',
    ipam: new Ipam({ backend, pools: new StaticPoolSource([]) }),
    client: new ResourceClient(backend, new Keys()),
    wiring: new FakeWorkloadWiring(),
    dataplane: { waitForEndpoint: async () => undefined },
    readiness: () => (ready ? { ready: true, reasons: [] } : { ready: false, reasons: ['datastore not in sync (resync)'] }),
    busyInterfaces: new Set(),
    metrics,
  });
  return { h, metrics };
}

const req = (verb: CniRequest['verb']): CniRequest => ({ protocol: PROTOCOL_VERSION, id: 'r', verb, cniVersion: '1.1.0', network: 'net', containerId: '', netns: '', ifname: '', args: {}, config: {} });
const signal = new AbortController().signal;

describe('CNI handler', () => {
  it('STATUS answers 50 with the reasons while the agent is not ready, ok when it is', async () => {
    const notReady = handler(false);
    const err = await notReady.h.handle(req('STATUS'), { signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).cniCode).toBe(CniCode.NotAvailable);
    expect((err as CniError).msg).toContain('datastore not in sync');
    expect(await notReady.metrics.text()).toContain('tabby_cni_requests_total{verb="STATUS",result="error",code="50"} 1');
    await expect(handler(true).h.handle(req('STATUS'), { signal })).resolves.toBeUndefined();
  });

  it('answers 102 when no pool exists for an ADD', async () => {
    const { h } = handler(true);
    const err = await h.handle({ ...req('ADD'), containerId: 'c1', netns: '/run/netns/x', ifname: 'eth0' }, { signal }).catch((e: unknown) => e);
    expect((err as CniError).cniCode).toBe(CniCode.NoMatchingPool);
  });
});
