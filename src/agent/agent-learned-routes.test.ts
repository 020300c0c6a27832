/**
 * Routes learned from BGP peers outside the cluster (a ToR's networks, type `bgp`) survive
 * an agent restart: the whole agent on fakes (MemoryBackend, MemoryRouteKernel, fake BGP
 * sessions the test drives), in both dataplane modes.
 *
 * Cluster: node-a (this agent, 10.0.0.2) and node-b (10.0.0.3), the mesh peer. The peer
 * stands in for the ToR: it announces 198.51.100.0/24 and 203.0.113.0/24 via 10.0.0.254.
 * Convergence waits for the peer (maxWaitMs is far beyond the test), so the test decides
 * when BGP has converged by establishing the session; the assertions are on the kernel's
 * state, never on time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend } from '../datastore/backend.js';
import { Keys } from '../datastore/keys.js';
import { MemoryBackend } from '../datastore/memory.js';
import { MemoryBpfKernel } from '../dataplane/bpf/memory-kernel.js';
import { MemoryRouteKernel } from '../dataplane/legacy/memory-route-kernel.js';
import { TABBY_LEARNED_ROUTE_PROTOCOL, TABBY_ROUTE_PROTOCOL } from '../dataplane/legacy/route-kernel.js';
import { createLogger } from '../log/logger.js';
import { startAgent, type RunningAgent } from './agent.js';
import { resolveAgentSettings } from './config.js';
import { FakeBgpSession } from './fake-bgp-session.js';
import { FakeWorkloadWiring } from './fake-workload-wiring.js';

const TOR = '10.0.0.254';
const KEPT = '198.51.100.0/24';
const GONE = '203.0.113.0/24';

let counter = 0;
let dir: string;
let backend: MemoryBackend;
let kernel: MemoryRouteKernel;
let sessions: Map<string, FakeBgpSession>;
const agents: RunningAgent[] = [];
const keys = new Keys('/calico');

/** close() is a no-op so a restarted agent can use the same store. */
function shared(be: MemoryBackend): Backend {
  return { get: (k) => be.get(k), list: (p) => be.list(p), create: (k, v, o) => be.create(k, v, o), update: (k, v, r) => be.update(k, v, r), delete: (k, r) => be.delete(k, r), watch: (p, r, h) => be.watch(p, r, h), close: async () => undefined };
}

async function start(mode: 'legacy' | 'bpf', bgp: 'enabled' | 'disabled' = 'enabled'): Promise<RunningAgent> {
  const settings = {
    ...resolveAgentSettings({ hostname: 'node-a', flags: { cniSocket: join(dir, `cni-${counter}.sock`), stateDir: join(dir, 'state'), httpListen: '127.0.0.1:0', defaultPoolCidr: '10.65.0.0/16', dataplane: mode } }),
    bgp,
  };
  let bpf: MemoryBpfKernel | undefined;
  if (mode === 'bpf') {
    bpf = new MemoryBpfKernel({});
    bpf.interfaces.set('eth0', 2);
  }
  sessions = new Map();
  const agent = await startAgent({
    settings,
    backend: shared(backend),
    platform: {
      routeKernel: kernel,
      wiring: new FakeWorkloadWiring(kernel),
      hasIpipModule: async () => false,
      enableForwarding: async () => undefined,
      interfaces: () => ({ eth0: [{ address: '10.0.0.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '10.0.0.2/24' }] }),
      ...(bpf ? { bpf: { probe: () => ({ ok: true }), kernel: () => bpf } } : {}),
    },
    logger: createLogger({ level: 'silent' }),
    bgpTransport: { listen: false, sessionFactory: (o) => (sessions.set(o.peerAddress, new FakeBgpSession(o)), sessions.get(o.peerAddress)!) },
    bgpConvergence: { settleMs: 20, maxWaitMs: 600_000, pollMs: 5 },
  });
  agents.push(agent);
  return agent;
}

async function stop(agent: RunningAgent): Promise<void> {
  agents.splice(agents.indexOf(agent), 1);
  await agent.stop();
}

/** Our learned route's gateway, or undefined. */
const learnedVia = (dst: string): string | undefined => {
  const r = kernel.get(dst);
  return r && r.protocol === TABBY_LEARNED_ROUTE_PROTOCOL ? r.gateway : undefined;
};

/** Waits (bounded) for a state; the assertion is on the state, not the time. */
async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!f()) throw new Error(`timed out waiting for: ${what}; kernel: ${JSON.stringify(kernel.dump())}`);
}

async function session(addr: string): Promise<FakeBgpSession> {
  await until(`a session with ${addr}`, () => sessions.has(addr));
  return sessions.get(addr)!;
}

/** A full cycle of the agent's loop after everything sent so far. */
async function settled(agent: RunningAgent): Promise<void> {
  agent.applyLoop.kick();
  await agent.applyLoop.whenFirstApplied();
  await new Promise((r) => setTimeout(r, 20));
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), `tabby-lr-${process.pid}-${counter++}-`));
  backend = new MemoryBackend();
  kernel = new MemoryRouteKernel({ links: ['eth0'] });
  kernel.seed({ dst: '0.0.0.0/0', type: 'unicast', gateway: '10.0.0.1', ifName: 'eth0', protocol: 3 });
  await backend.create(keys.resource({ plural: 'nodes', name: 'node-b' }), JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-b' }, spec: { bgp: { ipv4Address: '10.0.0.3/24' } } }));
});

afterEach(async () => {
  try {
    for (const a of agents.splice(0)) await a.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe.each(['legacy', 'bpf'] as const)('learned routes across an agent restart (%s)', (mode) => {
  it('keeps them while BGP comes back; afterwards removes what it did not bring back and leaves the rest untouched', async () => {
    // The first run learns both networks from the peer.
    const first = await start(mode);
    const s1 = await session('10.0.0.3');
    s1.establish();
    s1.announce([KEPT, GONE], TOR);
    await until('both learned routes', () => learnedVia(KEPT) === TOR && learnedVia(GONE) === TOR);
    await stop(first);
    // A cluster route nobody wants any more, as a previous run could leave it.
    kernel.seed({ dst: '10.65.9.0/26', type: 'blackhole', protocol: TABBY_ROUTE_PROTOCOL });

    const opsBefore = kernel.ops.length;
    const agent = await start(mode);
    // startAgent returned after the first apply that followed InSync: the cluster sweep ran...
    expect(kernel.get('10.65.9.0/26')).toBeUndefined();
    // ...the learned routes are still there, the session not up yet.
    const s2 = await session('10.0.0.3');
    await settled(agent);
    expect(learnedVia(KEPT)).toBe(TOR);
    expect(learnedVia(GONE)).toBe(TOR);

    // BGP comes back with only one of the two; once converged the other goes.
    s2.establish();
    s2.announce([KEPT], TOR);
    await until('the unannounced learned route removed', () => kernel.get(GONE) === undefined);
    expect(learnedVia(KEPT)).toBe(TOR);
    // Adopted as it was: never deleted nor rewritten during the restart.
    expect(kernel.ops.slice(opsBefore).filter((o) => o.dst === KEPT)).toEqual([]);
    expect(kernel.get('0.0.0.0/0')).toMatchObject({ gateway: '10.0.0.1', protocol: 3 });
  });
});

describe('learned routes with --bgp disabled', () => {
  it('are removed at InSync (no speaker will bring them back)', async () => {
    kernel.seed({ dst: GONE, type: 'unicast', gateway: TOR, scope: 'universe', protocol: TABBY_LEARNED_ROUTE_PROTOCOL });
    await start('legacy', 'disabled');
    expect(kernel.get(GONE)).toBeUndefined();
  });
});
