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

  it('runs requests for one pod one at a time, across container IDs: an old sandbox\'s DEL never interleaves with its replacement\'s ADD', async () => {
    const backend = new MemoryBackend();
    const wiring = new FakeWorkloadWiring();
    // Hold the DEL right after its ownership check (the endpoint read), before it removes anything.
    const client = new ResourceClient(backend, new Keys());
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let gateNext = false;
    const get = client.get.bind(client);
    client.get = async (...args: Parameters<ResourceClient['get']>) => {
      const found = await get(...args);
      if (gateNext) {
        gateNext = false;
        await gate;
      }
      return found;
    };
    const pool = { name: 'p', cidr: '10.65.0.0/16', blockSize: 26, nodeSelector: 'all()', disabled: false, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false };
    const h = createCniHandler({
      nodeName: 'n1',
      ipam: new Ipam({ backend, pools: new StaticPoolSource([pool]) }),
      client,
      wiring,
      dataplane: { waitForEndpoint: async () => undefined },
      readiness: () => ({ ready: true, reasons: [] }),
      busyInterfaces: new Set(),
    });
    const pod = { namespace: 'default', name: 'web' };
    const call = (verb: 'ADD' | 'DEL', containerId: string): CniRequest => ({ ...req(verb), cniVersion: '1.0.0', containerId, netns: '/run/netns/x', ifname: 'eth0', pod });
    await h.handle(call('ADD', 'old'), { signal });
    gateNext = true;
    const del = h.handle(call('DEL', 'old'), { signal });
    const add = h.handle(call('ADD', 'new'), { signal });
    await new Promise((r) => setTimeout(r, 20));
    // The DEL is held; the new sandbox's ADD has not started.
    expect(wiring.ops.filter((o) => o.startsWith('wire'))).toHaveLength(1);
    release();
    await del;
    await add;
    expect(wiring.ops.filter((o) => o.startsWith('wire'))).toHaveLength(2);
    expect(wiring.wired.size).toBe(1); // the new sandbox's interface survived the old DEL
  });
});
