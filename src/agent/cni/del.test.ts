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
import { cniDel } from './del.js';
import type { CniDeps } from './deps.js';

const WEPS = '/calico/resources/v3/projectcalico.org/workloadendpoints/';
const KIND = kindInfo('WorkloadEndpoint');
const NAME = 'n1-k8s-web-eth0';

function setup(): { d: CniDeps; client: ResourceClient; wepReads: () => number } {
  const backend: Backend = new MemoryBackend();
  let reads = 0;
  const get = backend.get.bind(backend);
  backend.get = async (key: string) => {
    if (key.startsWith(WEPS)) reads++;
    return get(key);
  };
  const client = new ResourceClient(backend, new Keys());
  const pool = { name: 'p', cidr: '10.65.0.0/16', blockSize: 26, nodeSelector: 'all()', disabled: false, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false };
  const d: CniDeps = {
    nodeName: 'n1',
    ipam: new Ipam({ backend, pools: new StaticPoolSource([pool]) }),
    client,
    wiring: new FakeWorkloadWiring(),
    dataplane: { waitForEndpoint: async () => undefined },
    readiness: () => ({ ready: true, reasons: [] }),
    busyInterfaces: new Set(),
  };
  return { d, client, wepReads: () => reads };
}

const req = (verb: 'ADD' | 'DEL', cid: string): CniRequest => ({
  protocol: PROTOCOL_VERSION,
  id: `r-${verb}-${cid}`,
  verb,
  cniVersion: '1.0.0',
  network: 'net',
  containerId: cid,
  netns: '/run/netns/x',
  ifname: 'eth0',
  args: {},
  pod: { namespace: 'default', name: 'web' },
  config: {},
});

/** Runs `change` once, right before the first delete of the endpoint reaches the datastore. */
function beforeFirstDelete(client: ResourceClient, change: () => Promise<unknown>): void {
  const del = client.delete.bind(client);
  let done = false;
  client.delete = async (...args: Parameters<ResourceClient['delete']>) => {
    if (!done) {
      done = true;
      await change();
    }
    return del(...args);
  };
}

describe('cniDel', () => {
  it('deletes the endpoint at the version it read, reading it once', async () => {
    const { d, client, wepReads } = setup();
    await cniAdd(req('ADD', 'c1'), d);
    const before = wepReads();
    const out = await cniDel(req('DEL', 'c1'), d);
    expect(out).toMatchObject({ deletedEndpoint: true, unwired: true, released: ['10.65.0.0'] });
    expect(wepReads() - before).toBe(1);
    expect(await client.get(KIND, NAME, 'default')).toBeUndefined();
  });

  it('deletes an endpoint that changed meanwhile but is still this container\'s', async () => {
    const { d, client } = setup();
    await cniAdd(req('ADD', 'c1'), d);
    beforeFirstDelete(client, async () => {
      const w = (await client.get(KIND, NAME, 'default')) as WorkloadEndpoint;
      await client.apply({ ...w, metadata: { ...w.metadata, labels: { ...w.metadata.labels, touched: 'yes' } } });
    });
    const out = await cniDel(req('DEL', 'c1'), d);
    expect(out.deletedEndpoint).toBe(true);
    expect(await client.get(KIND, NAME, 'default')).toBeUndefined();
  });

  it('leaves alone an endpoint that a new sandbox of the pod took meanwhile', async () => {
    const { d, client } = setup();
    await cniAdd(req('ADD', 'old'), d);
    beforeFirstDelete(client, async () => {
      const w = (await client.get(KIND, NAME, 'default')) as WorkloadEndpoint;
      await client.apply({ ...w, spec: { ...w.spec, containerID: 'new' } });
    });
    const out = await cniDel(req('DEL', 'old'), d);
    expect(out.deletedEndpoint).toBe(false);
    expect(((await client.get(KIND, NAME, 'default')) as WorkloadEndpoint).spec.containerID).toBe('new');
  });
});
