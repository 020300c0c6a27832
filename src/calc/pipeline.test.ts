/**
 * The whole pipeline on fakes: MemoryBackend → Syncer → CalcGraph → Sequencer →
 * LegacyDataplane → MemoryRouteKernel, including an agent restart that adopts the routes
 * the previous run left.
 */
import { describe, expect, it } from 'vitest';
import { LegacyDataplane } from '../dataplane/legacy/legacy-dataplane.js';
import { MemoryRouteKernel } from '../dataplane/legacy/memory-route-kernel.js';
import { TABBY_ROUTE_PROTOCOL } from '../dataplane/legacy/route-kernel.js';
import { Keys } from '../datastore/keys.js';
import { MemoryBackend } from '../datastore/memory.js';
import { Syncer, defaultSyncerPrefixes } from '../datastore/syncer.js';
import { CalcGraph } from './calc-graph.js';
import { Sequencer } from './sequencer.js';

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

const keys = new Keys('/calico');
const nodeDoc = (ip: string) => JSON.stringify({ kind: 'Node', apiVersion: 'projectcalico.org/v3', metadata: { name: 'x' }, spec: { bgp: { ipv4Address: ip } } });
const poolDoc = (cidr: string, ipipMode: string) => JSON.stringify({ kind: 'IPPool', spec: { cidr, ipipMode, blockSize: 26 } });
const blockDoc = (cidr: string, node: string) => JSON.stringify({ cidr, affinity: `host:${node}`, allocations: new Array(64).fill(null), unallocated: [], attributes: [], deleted: false });

function agent(be: MemoryBackend, kernel: MemoryRouteKernel) {
  const seq = new Sequencer();
  const calc = new CalcGraph({ localNode: 'n1', sink: seq, keys });
  const syncer = new Syncer({ backend: be, prefixes: defaultSyncerPrefixes(keys), callbacks: { onUpdates: (u) => calc.onUpdates(u), onStatus: (s) => calc.onStatus(s) } });
  const dp = LegacyDataplane.create({ routeKernel: kernel, hasIpipModule: async () => false });
  const cycle = async () => {
    await settle();
    dp.send(seq.flush());
    return dp.apply();
  };
  return { syncer, cycle };
}

describe('pipeline', () => {
  it('datastore to kernel routes, and a restart that adopts and sweeps', async () => {
    const be = new MemoryBackend();
    await be.create(keys.resource({ plural: 'nodes', name: 'n1' }), nodeDoc('192.168.0.1/24'));
    await be.create(keys.resource({ plural: 'nodes', name: 'n2' }), nodeDoc('192.168.0.2/24'));
    await be.create(keys.resource({ plural: 'nodes', name: 'n3' }), nodeDoc('192.168.7.3/24'));
    await be.create(keys.resource({ plural: 'ippools', name: 'default' }), poolDoc('10.65.0.0/16', 'CrossSubnet'));
    await be.create(keys.block('10.65.0.0/26'), blockDoc('10.65.0.0/26', 'n1'));
    await be.create(keys.block('10.65.0.64/26'), blockDoc('10.65.0.64/26', 'n2'));
    await be.create(keys.block('10.65.0.128/26'), blockDoc('10.65.0.128/26', 'n3'));
    const kernel = new MemoryRouteKernel({ links: ['eth0', 'cali1'] });
    kernel.seed({ dst: '0.0.0.0/0', type: 'unicast', gateway: '192.168.0.254', protocol: 3 });

    const a = agent(be, kernel);
    a.syncer.start();
    const report = await a.cycle();
    expect(report.inSync).toBe(true);
    // n3 is in another subnet: CrossSubnet wants IPIP, and this kernel has no ipip module.
    expect(report.failures.map((f) => f.code)).toEqual(['IPIP_MODULE_MISSING']);
    expect(kernel.dump().map((r) => `${r.dst} ${r.type} ${r.gateway ?? ''}`)).toEqual([
      '0.0.0.0/0 unicast 192.168.0.254',
      '10.65.0.0/26 blackhole ',
      '10.65.0.64/26 unicast 192.168.0.2',
    ]);

    // A change flows through.
    const wep = keys.resource({ plural: 'workloadendpoints', namespace: 'ns', name: 'n1-k8s-a-eth0' });
    await be.create(wep, JSON.stringify({ spec: { pod: 'a', node: 'n1', endpoint: 'eth0', interfaceName: 'cali1', ipNetworks: ['10.65.0.5/32'] } }));
    await a.cycle();
    expect(kernel.get('10.65.0.5/32')).toMatchObject({ ifName: 'cali1', protocol: TABBY_ROUTE_PROTOCOL });
    await a.syncer.stop();

    // While the agent is down, n2 gives up its block and the workload goes.
    await be.delete(keys.block('10.65.0.64/26'));
    await be.delete(wep);
    const ops = kernel.ops.length;
    const b = agent(be, kernel);
    b.syncer.start();
    await b.cycle();
    expect(kernel.dump().map((r) => r.dst)).toEqual(['0.0.0.0/0', '10.65.0.0/26']);
    // Adopted the blackhole as it was; only the stale routes were touched.
    expect(kernel.ops.slice(ops).map((o) => `${o.op} ${o.dst}`).sort()).toEqual(['delete 10.65.0.5/32', 'delete 10.65.0.64/26']);
    await b.syncer.stop();
  });
});
