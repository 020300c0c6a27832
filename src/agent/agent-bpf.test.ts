/**
 * The agent in bpf mode on fakes: MemoryBackend, MemoryBpfKernel (maps and tc hooks in
 * memory), FakeWorkloadWiring, the real CNI socket. Checks the mode decision (auto with a
 * passing and a failing probe, explicit bpf with a failing probe), that ADD programs the
 * endpoint with its MAC before answering, the IPIP MTU, the bpf metrics, and that stopping
 * never detaches a program.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResourceClient } from '../client/resources.js';
import { sendCniRequest } from '../cni/client.js';
import { PROTOCOL_VERSION, type CniRequest } from '../cni/protocol.js';
import type { CniResult } from '../cni/result.js';
import { Keys } from '../datastore/keys.js';
import { MemoryBackend } from '../datastore/memory.js';
import { endpointKey, endpointValue } from '../dataplane/bpf/codecs/endpoints.js';
import { dropSlot, verdictCount, verdictSlot } from '../dataplane/bpf/codecs/verdicts.js';
import { MemoryBpfKernel } from '../dataplane/bpf/memory-kernel.js';
import type { ProbeResult } from '../dataplane/bpf/probe.js';
import { MemoryRouteKernel } from '../dataplane/legacy/memory-route-kernel.js';
import type { WorkloadWiring } from '../dataplane/linux/workload-wiring.js';
import { createLogger } from '../log/logger.js';
import type { IPPool } from '../resources/index.js';
import { startAgent, type RunningAgent } from './agent.js';
import { resolveAgentSettings, type DataplaneChoice } from './config.js';
import { FakeWorkloadWiring } from './fake-workload-wiring.js';

let counter = 0;
let dir: string;
let backend: MemoryBackend;
let routes: MemoryRouteKernel;
let wiring: FakeWorkloadWiring;
let bpfKernel: MemoryBpfKernel;
let probes: string[];
const agents: RunningAgent[] = [];

/** The fake wiring, with each new interface also made known to the bpf kernel (as Linux would). */
function linked(w: FakeWorkloadWiring): WorkloadWiring {
  return {
    wire: async (spec) => {
      const r = await w.wire(spec);
      bpfKernel.interfaces.set(r.hostIfName, r.hostIfIndex);
      return r;
    },
    unwire: async (name) => {
      await w.unwire(name);
      bpfKernel.interfaces.delete(name);
    },
    listHostInterfaces: (p) => w.listHostInterfaces(p),
    hostInterface: (n) => w.hostInterface(n),
  };
}

async function start(dataplane: DataplaneChoice, probe: ProbeResult): Promise<RunningAgent> {
  const settings = resolveAgentSettings({
    hostname: 'node-b',
    flags: { dataplane, cniSocket: join(dir, 'cni.sock'), stateDir: join(dir, 'state'), httpListen: '127.0.0.1:0', defaultPoolCidr: '10.66.0.0/16' },
    env: {},
  });
  const agent = await startAgent({
    settings,
    backend,
    platform: {
      routeKernel: routes,
      wiring: linked(wiring),
      hasIpipModule: async () => false,
      enableForwarding: async () => undefined,
      interfaces: () => ({ eth0: [{ address: '10.0.0.3', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:03', internal: false, cidr: '10.0.0.3/24' }] }),
      bpf: {
        probe: (pinDir) => {
          probes.push(pinDir);
          return probe;
        },
        kernel: () => bpfKernel,
      },
    },
    logger: createLogger({ level: 'silent' }),
    programTimeoutMs: 5000,
  });
  agents.push(agent);
  return agent;
}

function add(containerId: string, pod: string): Promise<{ result?: CniResult }> {
  const req: CniRequest = {
    protocol: PROTOCOL_VERSION,
    id: `t-${counter++}`,
    verb: 'ADD',
    cniVersion: '1.0.0',
    network: 'k8s-pod-network',
    containerId,
    netns: `/var/run/netns/${containerId}`,
    ifname: 'eth0',
    args: {},
    pod: { namespace: 'ns1', name: pod },
    config: { cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'tabby-cni' },
  };
  return sendCniRequest(req, { socketPath: join(dir, 'cni.sock'), connectTimeoutMs: 2000, timeoutMs: 10_000 });
}

async function createPool(ipipMode: 'Always' | 'Never'): Promise<void> {
  const pool: IPPool = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'p1' },
    spec: { cidr: '10.66.0.0/16', blockSize: 26, ipipMode, vxlanMode: 'Never', natOutgoing: false },
  } as IPPool;
  await new ResourceClient(backend, new Keys('/calico')).apply(pool);
}

const failing: ProbeResult = { ok: false, reason: 'no-bpffs', message: 'bpffs: /tmp/x is not on a bpf filesystem' };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), `tabby-agent-bpf-${process.pid}-${counter++}-`));
  backend = new MemoryBackend();
  routes = new MemoryRouteKernel({ links: ['eth0'] });
  routes.seed({ dst: '0.0.0.0/0', type: 'unicast', gateway: '10.0.0.1', ifName: 'eth0', protocol: 3 });
  wiring = new FakeWorkloadWiring(routes);
  bpfKernel = new MemoryBpfKernel();
  bpfKernel.interfaces.set('eth0', 2);
  probes = [];
});

afterEach(async () => {
  try {
    for (const a of agents.splice(0)) await a.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('agent dataplane mode', () => {
  it('auto with a passing probe runs bpf, probing the node pin dir; the metric says why', async () => {
    const agent = await start('auto', { ok: true });
    expect(agent.dataplaneMode).toBe('bpf');
    expect(probes).toEqual(['/sys/fs/bpf/tabby/node-b']);
    expect(bpfKernel.loads).toEqual([{ pinDir: '/sys/fs/bpf/tabby/node-b', globals: { nodeIPv4: '10.0.0.3', uplinkIfindex: 2 } }]);
    expect(await agent.metrics.text()).toContain('tabby_dataplane_mode{mode="bpf",reason="bpf-supported"} 1');
    // The uplink carries from_uplink/to_uplink; no kernel route was programmed by a legacy driver.
    expect([...bpfKernel.hooks.keys()].sort()).toEqual(['2/egress', '2/ingress']);
  });

  it('auto with a failing probe runs legacy with the probe reason, and never loads bpf', async () => {
    const agent = await start('auto', failing);
    expect(agent.dataplaneMode).toBe('legacy');
    expect(bpfKernel.loads).toEqual([]);
    expect(await agent.metrics.text()).toContain('tabby_dataplane_mode{mode="legacy",reason="no-bpffs"} 1');
  });

  it('--dataplane bpf with a failing probe refuses to start, saying why and what to do', async () => {
    await expect(start('bpf', failing)).rejects.toThrow(/--dataplane bpf: this node cannot run the bpf dataplane \(no-bpffs\): bpffs: \/tmp\/x is not on a bpf filesystem; .*--dataplane legacy/);
  });

  it('--dataplane legacy does not probe', async () => {
    const agent = await start('legacy', { ok: true });
    expect(agent.dataplaneMode).toBe('legacy');
    expect(probes).toEqual([]);
  });
});

describe('agent in bpf mode', () => {
  it('ADD answers after the endpoint is in the endpoints map with the container MAC, and programs are attached', async () => {
    const agent = await start('bpf', { ok: true });
    const { result } = await add('c1', 'web-0');
    const host = result!.interfaces![0]!.name;
    const mac = result!.interfaces![1]!.mac!;
    const ifindex = bpfKernel.interfaces.get(host)!;
    const raw = bpfKernel.maps.endpoints.data.get(Buffer.from(endpointKey.encode({ ifindex })).toString('hex'));
    expect(raw).toBeInstanceOf(Buffer);
    expect(endpointValue.decode(raw as Buffer).mac).toBe(mac);
    expect(bpfKernel.hooks.get(`${ifindex}/ingress`)).toBeDefined();
    expect(bpfKernel.hooks.get(`${ifindex}/egress`)).toBeDefined();
    // Default pool has no IPIP: the kernel's default MTU.
    expect(wiring.wired.get(host)?.mtu).toBeUndefined();
    expect(agent.bpfDataplane).toBeDefined();
  });

  it('gives pods MTU 1480 when a pool uses IPIP', async () => {
    await createPool('Always');
    await start('bpf', { ok: true });
    const { result } = await add('c2', 'web-1');
    expect(wiring.wired.get(result!.interfaces![0]!.name)?.mtu).toBe(1480);
  });

  it('exports verdict counters and map fill levels', async () => {
    const agent = await start('bpf', { ok: true });
    await add('c3', 'web-2');
    const cpu = (packets: bigint, bytes: bigint) => Buffer.from(verdictCount.encode({ packets, bytes }));
    bpfKernel.maps.verdicts.update(verdictSlot.encode({ slot: dropSlot('malformed') }), [cpu(2n, 120n), cpu(1n, 60n)]);
    bpfKernel.maps.verdicts.update(verdictSlot.encode({ slot: 3 }), [cpu(5n, 500n), cpu(0n, 0n)]);
    const text = await agent.metrics.text();
    expect(text).toContain('tabby_bpf_packets_total{verdict="drop",reason="malformed"} 3');
    expect(text).toContain('tabby_bpf_bytes_total{verdict="drop",reason="malformed"} 180');
    expect(text).toContain('tabby_bpf_packets_total{verdict="redirect_local",reason=""} 5');
    expect(text).toContain('tabby_bpf_map_entries{map="endpoints"} 1');
    expect(text).toContain('tabby_bpf_map_max_entries{map="routes"} 1024');
  });

  it('stop leaves every program attached (the next agent adopts them)', async () => {
    const agent = await start('bpf', { ok: true });
    await add('c4', 'web-3');
    const before = new Map(bpfKernel.hooks);
    agents.splice(agents.indexOf(agent), 1);
    await agent.stop();
    expect(bpfKernel.tcCalls.filter((c) => c.op === 'detach')).toEqual([]);
    expect(bpfKernel.hooks).toEqual(before);
  });
});
