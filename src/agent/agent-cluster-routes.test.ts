/**
 * `--cluster-routes datastore|bgp` through the whole agent on fakes (MemoryBackend,
 * MemoryRouteKernel, fake BGP sessions driven by the test): which source the kernel's
 * routes to other nodes' blocks follow, the startup bridge, and a mode change across a
 * restart (protocol-84 routes adopted, the unwanted ones removed).
 *
 * Cluster: node-a (this agent, 10.0.0.2), node-b (10.0.0.3) owns 10.65.1.0/26 in the
 * datastore. BGP, when the test says so, brings 10.65.1.0/26 via 10.0.0.9 (another next hop
 * than the datastore's) and 10.65.2.0/26, a block the datastore does not know.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeRoute, routeKey, routeValue } from '../dataplane/bpf/codecs/routes.js';
import { MemoryBpfKernel } from '../dataplane/bpf/memory-kernel.js';
import { TABBY_LEARNED_ROUTE_PROTOCOL, TABBY_ROUTE_PROTOCOL } from '../dataplane/legacy/route-kernel.js';
import { createLogger } from '../log/logger.js';
import { startAgent, type RunningAgent } from './agent.js';
import { resolveAgentSettings } from './config.js';
import { FakeNode } from './fake-node.js';
import { FakeWorkloadWiring } from './fake-workload-wiring.js';

let node: FakeNode;

function start(clusterRoutes: 'datastore' | 'bgp' | undefined, opts: { bpf?: MemoryBpfKernel } = {}): Promise<RunningAgent> {
  return node.start({ ...(clusterRoutes ? { flags: { clusterRoutes } } : {}), ...opts });
}

/** The gateway of our route to `dst`, or undefined when there is none. */
const via = (dst: string, protocol = TABBY_ROUTE_PROTOCOL): string | undefined => {
  const r = node.kernel.get(dst);
  return r && r.protocol === protocol ? (r.gateway ?? r.type) : undefined;
};

beforeEach(async () => {
  node = await FakeNode.create('cr');
  await node.backend.create('/calico/ipam/v2/assignment/ipv4/block/10.65.1.0-26', JSON.stringify({ cidr: '10.65.1.0/26', affinity: 'host:node-b', allocations: [], unallocated: [], attributes: [], deleted: false }));
});

afterEach(() => node.close());

describe('--cluster-routes datastore (default)', () => {
  it('routes other nodes\' blocks by affinity; what BGP learns inside the pools changes nothing', async () => {
    const agent = await start(undefined);
    expect(agent.clusterRoutes()).toEqual({ source: 'datastore', bridging: false });
    expect(via('10.65.1.0/26')).toBe('10.0.0.3');
    const s = await node.session('10.0.0.3');
    s.establish();
    s.announce(['10.65.1.0/26', '10.65.2.0/26', '198.51.100.0/24'], '10.0.0.9');
    // The learned route outside the pools is programmed; the cluster ones are not.
    await node.until('the bgp route', () => via('198.51.100.0/24', TABBY_LEARNED_ROUTE_PROTOCOL) === '10.0.0.9');
    expect(via('10.65.1.0/26')).toBe('10.0.0.3');
    expect(via('10.65.2.0/26')).toBeUndefined();
  });
});

describe('--cluster-routes bgp', () => {
  it('bridges with the datastore until BGP converged, then follows only what BGP learned, withdrawals included', async () => {
    const agent = await start('bgp');
    expect(agent.clusterRoutes()).toEqual({ source: 'bgp', bridging: true });
    // Started, peer not up yet: the datastore's route bridges.
    expect(via('10.65.1.0/26')).toBe('10.0.0.3');
    const s = await node.session('10.0.0.3');
    s.establish();
    s.announce(['10.65.1.0/26', '10.65.2.0/26'], '10.0.0.9');
    await node.until('learned next hops', () => via('10.65.1.0/26') === '10.0.0.9' && via('10.65.2.0/26') === '10.0.0.9');
    await node.until('convergence (the peer up for the settle time)', () => !agent.clusterRoutes().bridging);
    expect(agent.clusterRoutes()).toEqual({ source: 'bgp', bridging: false });
    // The mesh peer goes away: the routes go with it although the datastore still says node-b owns the block.
    s.down();
    await node.until('routes withdrawn', () => via('10.65.1.0/26') === undefined && via('10.65.2.0/26') === undefined);
    expect(node.kernel.get('0.0.0.0/0')).toMatchObject({ gateway: '10.0.0.1', protocol: 3 });
  });

  it('bpf dataplane: the same messages, so the routes map follows BGP too (encapsulation included)', async () => {
    const bpfKernel = new MemoryBpfKernel({});
    bpfKernel.interfaces.set('eth0', 2);
    const remotes = () => Object.fromEntries([...bpfKernel.maps.routes.entries()].map(({ key, value }) => describeRoute(routeKey.decode(key), routeValue.decode(value as Buffer))).filter((r) => r.type === 'remote').map((r) => [r.dst, `${r.nextHop}${r.ipip ? ' ipip' : ''}`]));
    const agent = await start('bgp', { bpf: bpfKernel });
    expect(agent.dataplaneMode).toBe('bpf');
    expect(remotes()).toEqual({ '10.65.1.0/26': '10.0.0.3' });
    // The pool now asks for IPIP: the speaker classifies its routes with it.
    const pool = (await node.backend.list(node.keys.resourcePrefix('ippools'))).kvs[0]!;
    const doc = JSON.parse(pool.value);
    doc.spec.ipipMode = 'Always';
    await node.backend.update(pool.key, JSON.stringify(doc), pool.revision);
    const s = await node.session('10.0.0.3');
    s.establish();
    s.announce(['10.65.2.0/26'], '10.0.0.9');
    await node.until('the learned block in the routes map, and the bridged one gone', () => JSON.stringify(remotes()) === JSON.stringify({ '10.65.2.0/26': '10.0.0.9 ipip' }));
    expect(via('10.65.2.0/26')).toBeUndefined(); // a map entry, not a kernel route
  });

  it('refuses to start with --bgp disabled, saying why', async () => {
    const settings = { ...resolveAgentSettings({ hostname: 'node-a', flags: { httpListen: '127.0.0.1:0', cniSocket: join(node.dir, 'x.sock'), stateDir: join(node.dir, 's') } }), bgp: 'disabled' as const, clusterRoutes: 'bgp' as const };
    await expect(
      startAgent({ settings, backend: node.sharedBackend(), platform: { routeKernel: node.kernel, wiring: new FakeWorkloadWiring(node.kernel), hasIpipModule: async () => false, enableForwarding: async () => undefined, interfaces: () => ({}) }, logger: createLogger({ level: 'silent' }) }),
    ).rejects.toMatchObject({ code: 'AGENT_CONFIG', message: expect.stringContaining('--cluster-routes bgp needs the BGP speaker, but --bgp is disabled') });
  });
});

describe('a mode change across a restart', () => {
  it('datastore -> bgp: the previous routes stay while BGP comes up, then what BGP does not bring is removed', async () => {
    const first = await start('datastore');
    expect(via('10.65.1.0/26')).toBe('10.0.0.3');
    await node.stop(first);

    await start('bgp');
    expect(via('10.65.1.0/26')).toBe('10.0.0.3');
    const s = await node.session('10.0.0.3');
    s.establish();
    s.announce(['10.65.2.0/26'], '10.0.0.3');
    await node.until('converged on BGP', () => via('10.65.1.0/26') === undefined && via('10.65.2.0/26') === '10.0.0.3');
  });

  it('bgp -> datastore: learned routes the datastore does not confirm are removed, the rest re-pointed', async () => {
    const first = await start('bgp');
    const s = await node.session('10.0.0.3');
    s.establish();
    s.announce(['10.65.1.0/26', '10.65.2.0/26'], '10.0.0.9');
    await node.until('learned routes', () => via('10.65.1.0/26') === '10.0.0.9' && via('10.65.2.0/26') === '10.0.0.9');
    await node.stop(first);

    await start('datastore');
    expect(via('10.65.1.0/26')).toBe('10.0.0.3');
    expect(via('10.65.2.0/26')).toBeUndefined();
  });
});

describe('--cluster-routes setting', () => {
  it('defaults to absent (datastore), comes from flag, TABBY_CLUSTER_ROUTES or the file, and names a bad value', () => {
    expect(resolveAgentSettings({ hostname: 'n1' }).clusterRoutes).toBeUndefined();
    expect(resolveAgentSettings({ hostname: 'n1', flags: { clusterRoutes: 'bgp' } }).clusterRoutes).toBe('bgp');
    expect(resolveAgentSettings({ hostname: 'n1', env: { TABBY_CLUSTER_ROUTES: 'datastore' } }).clusterRoutes).toBe('datastore');
    expect(resolveAgentSettings({ hostname: 'n1', file: { path: '/etc/tabby.yaml', text: 'cluster-routes: bgp\n' } }).clusterRoutes).toBe('bgp');
    expect(() => resolveAgentSettings({ hostname: 'n1', env: { TABBY_CLUSTER_ROUTES: 'bird' } })).toThrow(/bad cluster-routes "bird" from environment variable TABBY_CLUSTER_ROUTES: use one of datastore, bgp/);
  });

  it('refuses bgp with --bgp disabled, naming where each came from', () => {
    expect(() => resolveAgentSettings({ hostname: 'n1', flags: { clusterRoutes: 'bgp' }, env: { TABBY_BGP: 'disabled' } })).toThrow(
      /--cluster-routes bgp needs the BGP speaker, but --bgp is disabled.*\(--cluster-routes from --cluster-routes, --bgp from environment variable TABBY_BGP\)/,
    );
    expect(resolveAgentSettings({ hostname: 'n1', flags: { clusterRoutes: 'datastore', bgp: 'disabled' } }).clusterRoutes).toBe('datastore');
  });
});
