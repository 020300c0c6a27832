/**
 * The whole agent on fakes: MemoryBackend, MemoryRouteKernel, FakeWorkloadWiring, real
 * CNI socket in a temp dir. Requests go through the real socket protocol.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sendCniRequest } from '../cni/client.js';
import { CniCode, CniError } from '../cni/errors.js';
import { PROTOCOL_VERSION, type CniRequest } from '../cni/protocol.js';
import type { CniResult } from '../cni/result.js';
import type { Backend } from '../datastore/backend.js';
import { DatastoreUnavailableError } from '../datastore/errors.js';
import { Keys } from '../datastore/keys.js';
import { MemoryBackend } from '../datastore/memory.js';
import { MemoryRouteKernel } from '../dataplane/legacy/memory-route-kernel.js';
import { TABBY_ROUTE_PROTOCOL, type RouteKernel } from '../dataplane/legacy/route-kernel.js';
import { IpamStore } from '../ipam/store.js';
import { createLogger } from '../log/logger.js';
import { startAgent, type RunningAgent } from './agent.js';
import { resolveAgentSettings } from './config.js';
import { FakeWorkloadWiring } from './fake-workload-wiring.js';
import { hostInterfaceName } from './workload-names.js';

let counter = 0;
let dir: string;
let backend: MemoryBackend;
let kernel: MemoryRouteKernel;
let wiring: FakeWorkloadWiring;
const agents: RunningAgent[] = [];
const keys = new Keys('/calico');

/** Test switch: writes of WorkloadEndpoints fail as if etcd went away. */
let failEndpointWrites = false;
const guard = (k: string): void => {
  if (failEndpointWrites && k.includes('/workloadendpoints/')) throw new DatastoreUnavailableError(`injected: etcd unavailable writing ${k}`);
};

/**
 * The backend as the agent sees it: close() is a no-op so a "restarted" agent can reuse
 * it, and WorkloadEndpoint writes can be made to fail.
 */
function shared(be: MemoryBackend): Backend {
  return {
    get: (k) => be.get(k),
    list: (p) => be.list(p),
    create: async (k, v, o) => {
      guard(k);
      return be.create(k, v, o);
    },
    update: async (k, v, r) => {
      guard(k);
      return be.update(k, v, r);
    },
    delete: (k, r) => be.delete(k, r),
    commit: async (ops) => {
      for (const op of ops) if (op.op !== 'delete') guard(op.key);
      return be.commit(ops);
    },
    watch: (p, r, h) => be.watch(p, r, h),
    close: async () => undefined,
  };
}

/** Route writes that take a while: an ADD that answered without waiting would beat them. */
function slowRoutes(k: MemoryRouteKernel): RouteKernel {
  return {
    listRoutes: (f) => k.listRoutes(f),
    replaceRoute: async (r) => {
      await new Promise((res) => setTimeout(res, 200));
      await k.replaceRoute(r);
    },
    deleteRoute: (r) => k.deleteRoute(r),
    writeRoutes: async (ops) => {
      await new Promise((res) => setTimeout(res, 200));
      return k.writeRoutes(ops);
    },
  };
}

async function start(opts: { programTimeoutMs?: number; slow?: boolean; bgpWarmUp?: string; logFile?: string } = {}): Promise<RunningAgent> {
  const settings = resolveAgentSettings({
    hostname: 'node-a',
    flags: { cniSocket: join(dir, 'cni.sock'), stateDir: join(dir, 'state'), httpListen: '127.0.0.1:0', defaultPoolCidr: '10.65.0.0/16', ...(opts.bgpWarmUp ? { bgpWarmUp: opts.bgpWarmUp } : {}) },
    env: {},
  });
  const agent = await startAgent({
    settings,
    backend: shared(backend),
    platform: {
      routeKernel: opts.slow ? slowRoutes(kernel) : kernel,
      wiring,
      hasIpipModule: async () => false,
      enableForwarding: async () => undefined,
      interfaces: () => ({ eth0: [{ address: '10.0.0.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '10.0.0.2/24' }] }),
    },
    logger: opts.logFile ? createLogger({ level: 'info', destination: opts.logFile }) : createLogger({ level: 'silent' }),
    programTimeoutMs: opts.programTimeoutMs ?? 5000,
  });
  agents.push(agent);
  return agent;
}

function request(verb: CniRequest['verb'], containerId: string, pod?: string, extra: Partial<CniRequest> = {}): CniRequest {
  return {
    protocol: PROTOCOL_VERSION,
    id: `t-${counter++}`,
    verb,
    cniVersion: '1.0.0',
    network: 'k8s-pod-network',
    containerId,
    netns: verb === 'ADD' || verb === 'CHECK' ? `/var/run/netns/${containerId}` : '',
    ifname: verb === 'STATUS' || verb === 'GC' ? '' : 'eth0',
    args: {},
    ...(pod ? { pod: { namespace: 'ns1', name: pod } } : {}),
    config: { cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'tabby-cni', runtimeConfig: { labels: { app: 'web' } } },
    ...extra,
  };
}

const send = (req: CniRequest): Promise<{ result?: CniResult }> => sendCniRequest(req, { socketPath: join(dir, 'cni.sock'), connectTimeoutMs: 2000, timeoutMs: 10_000 });

async function rejection(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

async function handles(): Promise<string[]> {
  return (await new IpamStore(backend, '/calico').listHandles()).map((h) => h.doc.handleID).sort();
}

async function weps(): Promise<string[]> {
  return (await backend.list(keys.resourcePrefix('workloadendpoints'))).kvs.map((kv) => kv.key.split('/').slice(-2).join('/')).sort();
}

beforeEach(() => {
  failEndpointWrites = false;
  dir = mkdtempSync(join(tmpdir(), `tabby-agent-${process.pid}-${counter++}-`));
  backend = new MemoryBackend();
  kernel = new MemoryRouteKernel({ links: ['eth0'] });
  kernel.seed({ dst: '0.0.0.0/0', type: 'unicast', gateway: '10.0.0.1', ifName: 'eth0', protocol: 3 });
  wiring = new FakeWorkloadWiring(kernel);
});

afterEach(async () => {
  try {
    for (const a of agents.splice(0)) await a.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('agent startup', () => {
  it('registers the node with its autodetected address, creates the default pool, becomes ready', async () => {
    const agent = await start();
    expect(agent.uplink).toBe('eth0');
    expect(agent.nodeIp).toBe('10.0.0.2/24');
    expect(agent.readiness()).toEqual({ ready: true, reasons: [] });
    const node = JSON.parse((await backend.get(keys.resource({ plural: 'nodes', name: 'node-a' })))!.value);
    expect(node.spec.bgp.ipv4Address).toBe('10.0.0.2/24');
    expect(node.spec.addresses).toEqual([{ address: '10.0.0.2/24', type: 'CalicoNodeIP' }]);
    const pools = await backend.list(keys.resourcePrefix('ippools'));
    expect(pools.kvs.map((kv) => JSON.parse(kv.value).spec.cidr)).toEqual(['10.65.0.0/16']);
    const metrics = await agent.metrics.text();
    expect(metrics).toContain('tabby_dataplane_mode{mode="legacy",reason="no-addon"} 1');
    expect(metrics).toContain('tabby_datastore_in_sync 1');
    await send(request('STATUS', ''));
  });

  it('warms the learned-route path up before its BGP speaker applies any configuration, and logs how it went', async () => {
    const logFile = join(dir, 'agent.log');
    const agent = await start({ bgpWarmUp: '200', logFile });
    const ops = async () => (await readFile(logFile, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op?: string; routes?: number; component?: string });
    // The speaker's first configuration opens its listener, which logs either way (bound, or why not).
    const deadline = Date.now() + 20_000;
    let log = await ops();
    while (!(log.some((l) => l.op === 'bgp-warm-up') && log.some((l) => l.op === 'bgp-listen')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      log = await ops();
    }
    const warm = log.findIndex((l) => l.op === 'bgp-warm-up');
    // 200 prefixes announced, withdrawn, announced again and removed with the session.
    expect(log[warm]).toMatchObject({ component: 'bgp', routes: 800 });
    expect(log.findIndex((l) => l.op === 'bgp-listen')).toBeGreaterThan(warm);
    expect(agent.bgp.status().reason ?? '').not.toMatch(/warm-up/);
  });

  it('serves /livez, /readyz and /metrics over HTTP', async () => {
    const agent = await start();
    const base = `http://127.0.0.1:${agent.http.port}`;
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, reasons: [] });
    await send(request('ADD', 'c1', 'web-0'));
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('tabby_cni_requests_total{verb="ADD",result="ok",code="0"} 1');
    expect(text).toContain('tabby_ipam_allocations_total{result="ok"} 1');
    expect(text).toMatch(/tabby_dataplane_apply_duration_seconds_count \d+/);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('refuses --dataplane bpf with a clear error', async () => {
    const settings = resolveAgentSettings({ hostname: 'node-a', flags: { dataplane: 'bpf', httpListen: '127.0.0.1:0', cniSocket: join(dir, 'x.sock'), stateDir: join(dir, 's') } });
    await expect(
      startAgent({ settings, backend: shared(backend), platform: { routeKernel: kernel, wiring, hasIpipModule: async () => false, enableForwarding: async () => undefined, interfaces: () => ({}) }, logger: createLogger({ level: 'silent' }) }),
    ).rejects.toMatchObject({ code: 'DATAPLANE_UNAVAILABLE', message: expect.stringContaining('--dataplane legacy') });
  });

  it('keeps the labels of an existing Node', async () => {
    await backend.create(keys.resource({ plural: 'nodes', name: 'node-a' }), JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-a', labels: { rack: 'r1' } }, spec: { bgp: { ipv4Address: '10.9.9.9/24', asNumber: 65001 } } }));
    await start();
    const node = JSON.parse((await backend.get(keys.resource({ plural: 'nodes', name: 'node-a' })))!.value);
    expect(node.metadata.labels).toEqual({ rack: 'r1' });
    expect(node.spec.bgp).toEqual({ ipv4Address: '10.0.0.2/24', asNumber: 65001 });
  });
});

describe('CNI ADD', () => {
  it('allocates, wires, writes the WorkloadEndpoint, and answers only once the route is programmed', async () => {
    await start({ slow: true });
    const { result } = await send(request('ADD', 'c1', 'web-0'));
    // The route exists at the moment the answer arrives.
    const address = result!.ips![0]!.address;
    const iface = hostInterfaceName({ hashInput: 'ns1.web-0' });
    expect(kernel.get(address)).toMatchObject({ ifName: iface, protocol: TABBY_ROUTE_PROTOCOL, scope: 'link' });
    expect(address).toMatch(/^10\.65\.\d+\.\d+\/32$/);
    expect(result!.interfaces).toEqual([
      { name: iface, mac: 'ee:ee:ee:ee:ee:ee' },
      { name: 'eth0', mac: expect.stringMatching(/^02:/), sandbox: '/var/run/netns/c1' },
    ]);
    expect(result!.ips).toEqual([{ address, interface: 1 }]);
    expect(result!.routes).toEqual([{ dst: '0.0.0.0/0' }]);
    const wep = JSON.parse((await backend.get(keys.resource({ plural: 'workloadendpoints', namespace: 'ns1', name: 'node--a-k8s-web--0-eth0' })))!.value);
    expect(wep.metadata.labels).toEqual({ app: 'web', 'projectcalico.org/namespace': 'ns1', 'projectcalico.org/orchestrator': 'k8s' });
    expect(wep.spec).toMatchObject({ orchestrator: 'k8s', node: 'node-a', pod: 'web-0', endpoint: 'eth0', containerID: 'c1', interfaceName: iface, ipNetworks: [address], profiles: ['kns.ns1'] });
    expect(await handles()).toEqual(['k8s-pod-network.c1']);
  });

  it('answers a repeated ADD of the same container with the existing attachment', async () => {
    await start();
    const first = await send(request('ADD', 'c1', 'web-0'));
    const again = await send(request('ADD', 'c1', 'web-0'));
    expect(again.result).toEqual(first.result);
    expect(wiring.ops.filter((o) => o.startsWith('wire'))).toHaveLength(1);
    expect(await handles()).toEqual(['k8s-pod-network.c1']);
  });

  it('names non-Kubernetes workloads after the container ID', async () => {
    await start();
    const { result } = await send(request('ADD', 'ctr-9'));
    expect(result!.interfaces![0]!.name).toBe(hostInterfaceName({ hashInput: 'ctr-9' }));
    expect(await weps()).toEqual(['default/node--a-cni-ctr--9-eth0']);
  });

  it('rolls back the address when wiring fails', async () => {
    await start();
    wiring.failWire(hostInterfaceName({ hashInput: 'ns1.web-0' }));
    const err = await rejection(send(request('ADD', 'c1', 'web-0')));
    expect(err.cniCode).toBe(CniCode.AgentInternal);
    expect(err.msg).toContain('wire interface');
    expect(await handles()).toEqual([]);
    expect(await weps()).toEqual([]);
    expect(wiring.wired.size).toBe(0);
  });

  it('rolls back interface and address when the WorkloadEndpoint cannot be written', async () => {
    await start();
    failEndpointWrites = true;
    const err = await rejection(send(request('ADD', 'c1', 'web-0')));
    expect(err.cniCode).toBe(CniCode.DatastoreUnavailable);
    expect(err.msg).toContain('write WorkloadEndpoint');
    expect(await handles()).toEqual([]);
    expect(wiring.wired.size).toBe(0);
  });

  it('rolls back everything with 106 when the dataplane cannot program the route in time', async () => {
    await start({ programTimeoutMs: 300 });
    // Find the address the ADD will get: the first of the node's first block.
    kernel.failOn('10.65.0.0/32', 'replace', 1);
    const err = await rejection(send(request('ADD', 'c1', 'web-0')));
    expect(err.cniCode).toBe(CniCode.DataplaneNotReady);
    expect(await handles()).toEqual([]);
    expect(await weps()).toEqual([]);
    expect(wiring.wired.size).toBe(0);
  });

  it('answers 101 when the pool is exhausted, and leaves nothing behind', async () => {
    await backend.create(
      keys.resource({ plural: 'ippools', name: 'tiny' }),
      JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'tiny' }, spec: { cidr: '10.70.0.0/31', blockSize: 31, ipipMode: 'Never', vxlanMode: 'Never', nodeSelector: 'all()' } }),
    );
    await start();
    await send(request('ADD', 'c1', 'a'));
    await send(request('ADD', 'c2', 'b'));
    const err = await rejection(send(request('ADD', 'c3', 'c')));
    expect(err.cniCode).toBe(CniCode.PoolExhausted);
    expect(await handles()).toEqual(['k8s-pod-network.c1', 'k8s-pod-network.c2']);
    expect(wiring.wired.size).toBe(2);
  });

  it('refuses a foreign IPAM type with 2', async () => {
    await start();
    const err = await rejection(send(request('ADD', 'c1', 'a', { config: { cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'tabby-cni', ipam: { type: 'host-local' } } })));
    expect(err.cniCode).toBe(CniCode.UnsupportedField);
  });
});

describe('CNI DEL, CHECK, GC', () => {
  it('DEL removes endpoint, interface, route and address, and is idempotent', async () => {
    await start();
    const { result } = await send(request('ADD', 'c1', 'web-0'));
    const address = result!.ips![0]!.address;
    await send(request('CHECK', 'c1', 'web-0', { prevResult: result! }));
    await send(request('DEL', 'c1', 'web-0'));
    expect(await handles()).toEqual([]);
    expect(await weps()).toEqual([]);
    expect(wiring.wired.size).toBe(0);
    expect(kernel.get(address)).toBeUndefined();
    await send(request('DEL', 'c1', 'web-0'));
    await send(request('DEL', 'never-seen', 'x'));
    const err = await rejection(send(request('CHECK', 'c1', 'web-0', { prevResult: result! })));
    expect(err.cniCode).toBe(CniCode.UnknownContainer);
  });

  it('DEL of an old sandbox leaves the newer sandbox of the same pod alone', async () => {
    await start();
    await send(request('ADD', 'old', 'web-0'));
    // The runtime re-creates the sandbox before the old one's DEL: the new ADD takes over
    // the pod's names (interface and endpoint).
    const { result } = await send(request('ADD', 'new', 'web-0'));
    expect(wiring.ops.filter((o) => o.startsWith('unwire'))).toEqual([`unwire ${hostInterfaceName({ hashInput: 'ns1.web-0' })}`]);
    expect(kernel.get(result!.ips![0]!.address)).toBeDefined();
    await send(request('DEL', 'old', 'web-0'));
    expect(await handles()).toEqual(['k8s-pod-network.new']);
    expect(await weps()).toEqual(['ns1/node--a-k8s-web--0-eth0']);
    expect(wiring.wired.size).toBe(1);
  });

  it('GC releases attachments of this network that are not valid', async () => {
    await start();
    await send(request('ADD', 'c1', 'a'));
    await send(request('ADD', 'c2', 'b'));
    wiring.addStray('cali0123456789a');
    await send(request('GC', '', undefined, { validAttachments: [{ containerID: 'c1', ifname: 'eth0' }] }));
    expect(await handles()).toEqual(['k8s-pod-network.c1']);
    expect(await weps()).toEqual(['ns1/node--a-k8s-a-eth0']);
    expect([...wiring.wired.keys()]).toEqual([hostInterfaceName({ hashInput: 'ns1.a' })]);
  });
});

describe('restart', () => {
  it('a new agent adopts routes and interfaces of live pods and sweeps leftovers', async () => {
    const first = await start();
    const { result } = await send(request('ADD', 'c1', 'web-0'));
    const address = result!.ips![0]!.address;
    await first.stop();
    agents.splice(agents.indexOf(first), 1);
    // Nothing was torn down on stop.
    expect(kernel.get(address)).toBeDefined();
    expect(wiring.wired.size).toBe(1);
    // While no agent ran, a crashed ADD left an interface behind.
    wiring.addStray('calideadbeef000');
    const opsBefore = kernel.ops.length;
    await start();
    expect([...wiring.wired.keys()]).toEqual([hostInterfaceName({ hashInput: 'ns1.web-0' })]);
    // The live pod's route was adopted as it was: not rewritten, not deleted.
    expect(kernel.ops.slice(opsBefore).filter((o) => o.dst === address)).toEqual([]);
    expect(kernel.get(address)).toMatchObject({ protocol: TABBY_ROUTE_PROTOCOL });
    await send(request('DEL', 'c1', 'web-0'));
    expect(await handles()).toEqual([]);
  });
});
