import { describe, expect, it } from 'vitest';
import { ResourceClient } from '../../client/resources.js';
import { PROTOCOL_VERSION, type CniRequest } from '../../cni/protocol.js';
import type { Backend } from '../../datastore/backend.js';
import { Keys } from '../../datastore/keys.js';
import { MemoryBackend } from '../../datastore/memory.js';
import { Ipam } from '../../ipam/allocator.js';
import { StaticPoolSource } from '../../ipam/pools.js';
import { kindInfo, type WorkloadEndpoint } from '../../resources/index.js';
import { FakeWorkloadWiring } from '../fake-workload-wiring.js';
import { cniAdd } from './add.js';
import type { CniDeps } from './deps.js';

const WEPS = '/calico/resources/v3/projectcalico.org/workloadendpoints/';

/** The memory backend, counting reads of WorkloadEndpoint keys. */
function countingBackend(): { backend: Backend; wepReads: () => number } {
  const backend = new MemoryBackend();
  let reads = 0;
  const get = backend.get.bind(backend);
  backend.get = async (key: string) => {
    if (key.startsWith(WEPS)) reads++;
    return get(key);
  };
  return { backend, wepReads: () => reads };
}

function deps(backend: Backend, client = new ResourceClient(backend, new Keys())): CniDeps & { logged: Array<Record<string, unknown>> } {
  const logged: Array<Record<string, unknown>> = [];
  const pool = { name: 'p', cidr: '10.65.0.0/16', blockSize: 26, nodeSelector: 'all()', disabled: false, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false };
  let t = 0;
  return {
    nodeName: 'n1',
    ipam: new Ipam({ backend, pools: new StaticPoolSource([pool]) }),
    client,
    wiring: new FakeWorkloadWiring(),
    dataplane: { waitForEndpoint: async () => undefined },
    readiness: () => ({ ready: true, reasons: [] }),
    busyInterfaces: new Set(),
    monotonic: () => (t += 1.5),
    logged,
    logger: { info: (o: Record<string, unknown>) => void logged.push(o), warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as CniDeps['logger'],
  };
}

const add = (cid: string): CniRequest => ({
  protocol: PROTOCOL_VERSION,
  id: `r-${cid}`,
  verb: 'ADD',
  cniVersion: '1.0.0',
  network: 'net',
  containerId: cid,
  netns: '/run/netns/x',
  ifname: 'eth0',
  args: {},
  pod: { namespace: 'default', name: 'web' },
  config: {},
});

describe('cniAdd', () => {
  it('reads the WorkloadEndpoint once for a new pod (create, not apply) and logs per-step times', async () => {
    const { backend, wepReads } = countingBackend();
    const d = deps(backend);
    const result = await cniAdd(add('c1'), d);
    expect(result.ips).toEqual([{ address: '10.65.0.0/32', interface: 1 }]);
    expect(wepReads()).toBe(1); // the lookup; apply would have read it again
    const wep = (await d.client.get(kindInfo('WorkloadEndpoint'), 'n1-k8s-web-eth0', 'default')) as WorkloadEndpoint | undefined;
    expect(wep?.spec.containerID).toBe('c1');
    const line = d.logged.find((o) => o.op === 'ADD' && o.ms);
    expect(Object.keys(line!.ms as object)).toEqual(['lookup', 'ipam', 'wire', 'endpoint', 'program', 'total']);
    expect((line!.ms as Record<string, number>).lookup).toBe(1.5); // from the injected clock
  });

  it('replaces the endpoint of an earlier sandbox, and one that appears between lookup and write', async () => {
    const { backend } = countingBackend();
    const d = deps(backend);
    await cniAdd(add('old'), d);
    // A new sandbox of the same pod whose old DEL never came: the endpoint is replaced.
    await cniAdd(add('new'), d);
    const name = 'n1-k8s-web-eth0';
    const kind = kindInfo('WorkloadEndpoint');
    expect(((await d.client.get(kind, name, 'default')) as WorkloadEndpoint).spec.containerID).toBe('new');

    // Someone writes the endpoint after the lookup saw none: create fails, apply wins.
    const client = new ResourceClient(backend, new Keys());
    const racing = deps(backend, client);
    await client.delete(kind, name, 'default');
    const create = client.create.bind(client);
    client.create = async (r) => {
      await create({ ...(r as WorkloadEndpoint), spec: { ...(r as WorkloadEndpoint).spec, containerID: 'intruder' } } as WorkloadEndpoint);
      return create(r); // now ALREADY_EXISTS
    };
    await cniAdd(add('third'), racing);
    expect(((await client.get(kind, name, 'default')) as WorkloadEndpoint).spec.containerID).toBe('third');
  });

  it('skips the datastore read for a pod that neither the synced view nor the kernel knows', async () => {
    const { backend, wepReads } = countingBackend();
    const known = new Set<string>();
    const d = { ...deps(backend), localEndpoints: { usesInterface: (n: string) => known.has(n) } };
    const first = await cniAdd(add('c1'), d);
    expect(wepReads()).toBe(0);
    const iface = first.interfaces![0]!.name;
    known.add(iface); // the view catches up, as it does before ADD answers

    // A repeated ADD of the same container: the view knows it, so it is read and answered again.
    const again = await cniAdd(add('c1'), d);
    expect(wepReads()).toBe(1);
    expect(again.ips).toEqual(first.ips);

    // Not in sync: read as before.
    const unsynced = { ...d, localEndpoints: { usesInterface: () => undefined } };
    await cniAdd(add('c1'), unsynced);
    expect(wepReads()).toBe(2);
  });

  it('still replaces an endpoint the view has not seen yet (create meets it, apply wins)', async () => {
    const { backend, wepReads } = countingBackend();
    const d = { ...deps(backend), localEndpoints: { usesInterface: () => false } };
    await cniAdd(add('old'), d);
    // The old sandbox's interface is gone (its netns died) and the view lags: only create's conflict finds the endpoint.
    await d.wiring.unwire((await d.client.get(kindInfo('WorkloadEndpoint'), 'n1-k8s-web-eth0', 'default') as WorkloadEndpoint).spec.interfaceName!);
    const before = wepReads();
    await cniAdd(add('new'), d);
    expect(wepReads()).toBe(before + 1); // no lookup read; apply's read after create's conflict
    expect(((await d.client.get(kindInfo('WorkloadEndpoint'), 'n1-k8s-web-eth0', 'default')) as WorkloadEndpoint).spec.containerID).toBe('new');
  });
});
