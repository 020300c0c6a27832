/**
 * A node for whole-agent tests on fakes: node-a (10.0.0.2 on eth0) with its default route
 * via 10.0.0.1, node-b (10.0.0.3) registered as its mesh peer, a MemoryBackend that outlives
 * agent restarts, a MemoryRouteKernel, and FakeBgpSessions the test drives. `start` runs a
 * real agent on them; `close` stops every agent it started and removes its directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../datastore/backend.js';
import { Keys } from '../datastore/keys.js';
import { MemoryBackend } from '../datastore/memory.js';
import type { MemoryBpfKernel } from '../dataplane/bpf/memory-kernel.js';
import { MemoryRouteKernel } from '../dataplane/legacy/memory-route-kernel.js';
import { createLogger } from '../log/logger.js';
import { startAgent, type RunningAgent } from './agent.js';
import { resolveAgentSettings, type SettingSources } from './config.js';
import { FakeBgpSession } from './fake-bgp-session.js';
import { FakeWorkloadWiring } from './fake-workload-wiring.js';

export interface FakeNodeStart {
  /** Agent flags on top of the node's own (socket, state dir, HTTP, default pool). */
  flags?: SettingSources['flags'];
  /** Run the bpf dataplane on this kernel. */
  bpf?: MemoryBpfKernel;
  bgp?: 'enabled' | 'disabled';
  /** BgpConvergence's upper bound (its settle time is 20 ms). */
  maxWaitMs?: number;
}

export class FakeNode {
  readonly backend = new MemoryBackend();
  readonly kernel = new MemoryRouteKernel({ links: ['eth0'] });
  readonly keys = new Keys('/calico');
  /** The sessions of the last agent started, by peer address. */
  sessions = new Map<string, FakeBgpSession>();
  private readonly agents: RunningAgent[] = [];
  private starts = 0;

  private constructor(readonly dir: string) {}

  static async create(name: string): Promise<FakeNode> {
    const node = new FakeNode(mkdtempSync(join(tmpdir(), `tabby-${name}-${process.pid}-`)));
    node.kernel.seed({ dst: '0.0.0.0/0', type: 'unicast', gateway: '10.0.0.1', ifName: 'eth0', protocol: 3 });
    await node.backend.create(
      node.keys.resource({ plural: 'nodes', name: 'node-b' }),
      JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-b' }, spec: { bgp: { ipv4Address: '10.0.0.3/24' } } }),
    );
    return node;
  }

  /** The backend as an agent gets it: close() is a no-op so a restarted agent can use the same store. */
  sharedBackend(): Backend {
    const be = this.backend;
    return { get: (k) => be.get(k), list: (p) => be.list(p), create: (k, v, o) => be.create(k, v, o), update: (k, v, r) => be.update(k, v, r), delete: (k, r) => be.delete(k, r), watch: (p, r, h) => be.watch(p, r, h), commit: (ops) => be.commit(ops), close: async () => undefined };
  }

  async start(o: FakeNodeStart = {}): Promise<RunningAgent> {
    const flags = { cniSocket: join(this.dir, `cni-${this.starts++}.sock`), stateDir: join(this.dir, 'state'), httpListen: '127.0.0.1:0', defaultPoolCidr: '10.65.0.0/16', dataplane: o.bpf ? 'bpf' : 'legacy', ...o.flags };
    const settings = { ...resolveAgentSettings({ hostname: 'node-a', flags, env: {} }), ...(o.bgp ? { bgp: o.bgp } : {}) };
    const bpf = o.bpf;
    this.sessions = new Map();
    const agent = await startAgent({
      settings,
      backend: this.sharedBackend(),
      platform: {
        routeKernel: this.kernel,
        wiring: new FakeWorkloadWiring(this.kernel),
        hasIpipModule: async () => false,
        enableForwarding: async () => undefined,
        interfaces: () => ({ eth0: [{ address: '10.0.0.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '10.0.0.2/24' }] }),
        ...(bpf ? { bpf: { probe: () => ({ ok: true }), kernel: () => bpf } } : {}),
      },
      logger: createLogger({ level: 'silent' }),
      bgpTransport: { listen: false, sessionFactory: (opts) => (this.sessions.set(opts.peerAddress, new FakeBgpSession(opts)), this.sessions.get(opts.peerAddress)!) },
      bgpConvergence: { settleMs: 20, maxWaitMs: o.maxWaitMs ?? 60_000, pollMs: 5 },
    });
    this.agents.push(agent);
    return agent;
  }

  async stop(agent: RunningAgent): Promise<void> {
    this.agents.splice(this.agents.indexOf(agent), 1);
    await agent.stop();
  }

  /** Waits (bounded) for a state; the assertion is on the state, not the time. */
  async until(what: string, f: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!f()) throw new Error(`timed out waiting for: ${what}; kernel: ${JSON.stringify(this.kernel.dump())}`);
  }

  /** The session the last agent opened towards `addr` (waits for it). */
  async session(addr: string): Promise<FakeBgpSession> {
    await this.until(`a session with ${addr}`, () => this.sessions.has(addr));
    return this.sessions.get(addr)!;
  }

  async close(): Promise<void> {
    try {
      for (const a of this.agents.splice(0)) await a.stop();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
