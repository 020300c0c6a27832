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
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBpfKernel } from '../dataplane/bpf/memory-kernel.js';
import { TABBY_LEARNED_ROUTE_PROTOCOL, TABBY_ROUTE_PROTOCOL } from '../dataplane/legacy/route-kernel.js';
import type { RunningAgent } from './agent.js';
import { FakeNode } from './fake-node.js';

const TOR = '10.0.0.254';
const KEPT = '198.51.100.0/24';
const GONE = '203.0.113.0/24';

let node: FakeNode;

async function start(mode: 'legacy' | 'bpf', bgp: 'enabled' | 'disabled' = 'enabled'): Promise<RunningAgent> {
  let bpf: MemoryBpfKernel | undefined;
  if (mode === 'bpf') {
    bpf = new MemoryBpfKernel({});
    bpf.interfaces.set('eth0', 2);
  }
  return node.start({ bgp, maxWaitMs: 600_000, ...(bpf ? { bpf } : {}) });
}

/** Our learned route's gateway, or undefined. */
const learnedVia = (dst: string): string | undefined => {
  const r = node.kernel.get(dst);
  return r && r.protocol === TABBY_LEARNED_ROUTE_PROTOCOL ? r.gateway : undefined;
};

/** A full cycle of the agent's loop after everything sent so far. */
async function settled(agent: RunningAgent): Promise<void> {
  agent.applyLoop.kick();
  await agent.applyLoop.whenFirstApplied();
  await new Promise((r) => setTimeout(r, 20));
}

beforeEach(async () => {
  node = await FakeNode.create('lr');
});

afterEach(() => node.close());

describe.each(['legacy', 'bpf'] as const)('learned routes across an agent restart (%s)', (mode) => {
  it('keeps them while BGP comes back; afterwards removes what it did not bring back and leaves the rest untouched', async () => {
    // The first run learns both networks from the peer.
    const first = await start(mode);
    const s1 = await node.session('10.0.0.3');
    s1.establish();
    s1.announce([KEPT, GONE], TOR);
    await node.until('both learned routes', () => learnedVia(KEPT) === TOR && learnedVia(GONE) === TOR);
    await node.stop(first);
    // A cluster route nobody wants any more, as a previous run could leave it.
    node.kernel.seed({ dst: '10.65.9.0/26', type: 'blackhole', protocol: TABBY_ROUTE_PROTOCOL });

    const opsBefore = node.kernel.ops.length;
    const agent = await start(mode);
    // startAgent returned after the first apply that followed InSync: the cluster sweep ran...
    expect(node.kernel.get('10.65.9.0/26')).toBeUndefined();
    // ...the learned routes are still there, the session not up yet.
    const s2 = await node.session('10.0.0.3');
    await settled(agent);
    expect(learnedVia(KEPT)).toBe(TOR);
    expect(learnedVia(GONE)).toBe(TOR);

    // BGP comes back with only one of the two; once converged the other goes.
    s2.establish();
    s2.announce([KEPT], TOR);
    await node.until('the unannounced learned route removed', () => node.kernel.get(GONE) === undefined);
    expect(learnedVia(KEPT)).toBe(TOR);
    // Adopted as it was: never deleted nor rewritten during the restart.
    expect(node.kernel.ops.slice(opsBefore).filter((o) => o.dst === KEPT)).toEqual([]);
    expect(node.kernel.get('0.0.0.0/0')).toMatchObject({ gateway: '10.0.0.1', protocol: 3 });
  });
});

describe('learned routes with --bgp disabled', () => {
  it('are removed at InSync (no speaker will bring them back)', async () => {
    node.kernel.seed({ dst: GONE, type: 'unicast', gateway: TOR, scope: 'universe', protocol: TABBY_LEARNED_ROUTE_PROTOCOL });
    await start('legacy', 'disabled');
    expect(node.kernel.get(GONE)).toBeUndefined();
  });
});
