/**
 * A whole tabby cluster on one machine: the `tabby lab` verbs as methods. Each node is a
 * network namespace on a bridge (the underlay), runs its own agent, and gets pods through
 * real CNI calls; etcd runs for real in the underlay. See docs/design/lab.md.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentReadyNow, startAgent, stopProcess, waitAgentReady, type AgentSettings } from './agent-process.js';
import { firstIPv4, invokeCni, type CniCall } from './cni-invoke.js';
import { cniPluginCommand, entryCommand } from './entries.js';
import { LabError } from './errors.js';
import { etcdEndpoint, startEtcd } from './etcd-process.js';
import { checkMemberName, LAB_PIN_ROOT, LabNames, netnsPath } from './names.js';
import { probePods, type ProbeOptions } from './probe.js';
import type { ProbeMatrix } from './probe-matrix.js';
import { runCommand } from './run-command.js';
import { mustReadState, pidAlive, readState, updateState, writeState, type LabClusterRoutes, type LabDataplane, type LabIpipMode, type LabNode, type LabPod, type LabState } from './state.js';
import { teardownLab, labNamespaces } from './teardown.js';
import { createNetns, createNode, createUnderlay, hostAddress } from './underlay.js';

export const DEFAULT_LAB_NAME = 'tabby';
export const CNI_NETWORK = 'k8s-pod-network';
const AGENT_HTTP_LISTEN = '127.0.0.1:9099';

export interface LabUpOptions {
  nodes: number;
  podsPerNode: number;
  dataplane: LabDataplane;
  poolCidr: string;
  blockSize: number;
  underlayCidr: string;
  /** The lab pool's ipipMode (Never: nodes share one L2 segment, no encapsulation needed). */
  ipip: LabIpipMode;
  /** Every agent's --cluster-routes: routes to other nodes' blocks from the datastore or from BGP. */
  clusterRoutes: LabClusterRoutes;
  /**
   * Where node pin directories go (`<pinRoot>/<lab>-<node>`). A directory that is not on
   * bpffs makes every agent's bpf probe fail for real (no-bpffs): how to try the fallback.
   */
  pinRoot: string;
  logLevel: string;
  readyTimeoutMs: number;
  /** false: underlay, etcd and nodes only (to try other CNI plugins, or test the lab itself). */
  agents: boolean;
}

export const LAB_UP_DEFAULTS: LabUpOptions = {
  nodes: 3,
  podsPerNode: 2,
  dataplane: 'legacy',
  poolCidr: '10.65.0.0/16',
  blockSize: 26,
  underlayCidr: '10.199.0.0/24',
  ipip: 'Never',
  clusterRoutes: 'datastore',
  pinRoot: LAB_PIN_ROOT,
  logLevel: 'info',
  readyTimeoutMs: 90_000,
  agents: true,
};

export interface PodAddOptions {
  name: string;
  node?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

export interface NodeStatus {
  node: LabNode;
  agentAlive: boolean;
  agentReady: boolean;
  pods: number;
}

export type Progress = (line: string) => void;

export class Lab {
  readonly names: LabNames;

  private readonly progress: Progress;
  private readonly cniPlugin: string[];

  /** `cniPlugin` overrides the tabby-cni command line (the bench runs the built one). */
  constructor(name: string = DEFAULT_LAB_NAME, opts: { progress?: Progress; cniPlugin?: string[] } = {}) {
    this.names = new LabNames(name);
    this.progress = opts.progress ?? (() => undefined);
    this.cniPlugin = opts.cniPlugin ?? cniPluginCommand();
  }

  async up(options: Partial<LabUpOptions> = {}): Promise<LabState> {
    const o = { ...LAB_UP_DEFAULTS, ...options };
    if (!(o.nodes >= 1 && o.nodes <= 200)) throw new LabError('LAB_USAGE', `--nodes must be between 1 and 200, got ${o.nodes}`);
    if (!(o.podsPerNode >= 0)) throw new LabError('LAB_USAGE', `--pods-per-node must be 0 or more, got ${o.podsPerNode}`);
    if (!o.agents && o.podsPerNode > 0) throw new LabError('LAB_USAGE', 'pods need agents: use --pods-per-node 0 with --no-agents');
    if (!o.pinRoot.startsWith('/')) throw new LabError('LAB_USAGE', `--pin-root must be an absolute path, got ${o.pinRoot}`);
    const ipipProblem = legacyIpipProblem(o.dataplane, o.ipip, existsSync('/sys/module/ipip'));
    if (ipipProblem) throw new LabError('LAB_USAGE', ipipProblem);
    if ((await readState(this.names)) || (await labNamespaces(this.names)).length > 0) {
      throw new LabError('LAB_EXISTS', `lab '${this.names.lab}' already exists; run 'tabby lab down --name ${this.names.lab}' first`);
    }
    const n = this.names;
    const gateway = hostAddress(o.underlayCidr, 1);
    const prefixLen = o.underlayCidr.split('/')[1];
    const state: LabState = {
      version: 1,
      name: n.lab,
      createdAt: new Date().toISOString(),
      dataplane: o.dataplane,
      clusterRoutes: o.clusterRoutes,
      underlay: { netns: n.underlayNetns, bridge: 'br0', cidr: o.underlayCidr, gateway },
      etcd: { endpoint: etcdEndpoint(gateway), dataDir: n.etcdDir, logFile: join(n.dir, 'etcd.log') },
      pool: { cidr: o.poolCidr, blockSize: o.blockSize, ipipMode: o.ipip },
      nodes: [],
      pods: [],
    };
    for (let i = 1; i <= o.nodes; i++) {
      const name = `node${i}`;
      const dir = n.nodeDir(name);
      state.nodes.push({
        name,
        index: i,
        netns: n.nodeNetns(name),
        address: `${hostAddress(o.underlayCidr, 10 + i)}/${prefixLen}`,
        dir,
        stateDir: join(dir, 'state'),
        pinDir: n.pinDir(name, o.pinRoot),
        cniSocket: join(dir, 'cni.sock'),
        netconfFile: join(dir, 'netconf.json'),
        logFile: join(dir, 'agent.log'),
        httpListen: AGENT_HTTP_LISTEN,
      });
    }
    await mkdir(n.dir, { recursive: true });
    await writeState(n, state); // recorded first, so `down` finds everything even if `up` fails below

    this.progress(`underlay: ${n.underlayNetns} with bridge ${gateway}/${prefixLen}`);
    const plan = { netns: n.underlayNetns, bridge: 'br0', gatewayCidr: `${gateway}/${prefixLen}` };
    await createUnderlay(plan);
    for (const node of state.nodes) {
      await mkdir(node.dir, { recursive: true });
      await createNode(n, plan, { index: node.index, netns: node.netns, addressCidr: node.address, gateway });
      await writeFile(node.netconfFile, JSON.stringify(this.netconf(node), null, 2) + '\n');
    }
    this.progress(`nodes: ${state.nodes.map((x) => `${x.name} ${x.address}`).join(', ')}`);

    state.etcd.pid = await startEtcd({ netns: n.underlayNetns, address: gateway, dataDir: n.etcdDir, logFile: state.etcd.logFile });
    await writeState(n, state);
    this.progress(`etcd: ready at ${state.etcd.endpoint} (pid ${state.etcd.pid})`);
    await this.applyPool(state);
    this.progress(`pool: ${o.poolCidr} (block size /${o.blockSize}, ipipMode ${o.ipip})`);

    if (!o.agents) return mustReadState(n);
    for (const node of state.nodes) {
      node.agentPid = await startAgent(node, this.agentSettings(state, o.logLevel));
    }
    await writeState(n, state);
    let ready = 0;
    await Promise.all(
      state.nodes.map(async (node) => {
        await waitAgentReady(node, node.agentPid!, o.readyTimeoutMs);
        this.progress(`[${++ready}/${state.nodes.length}] ${node.name}: agent ready (pid ${node.agentPid})`);
      }),
    );

    const total = o.nodes * o.podsPerNode;
    let made = 0;
    for (const node of state.nodes) {
      for (let p = 1; p <= o.podsPerNode; p++) {
        const pod = await this.podAdd({ name: `${node.name}-p${p}`, node: node.name });
        this.progress(`[${++made}/${total}] pod ${pod.name} on ${pod.node}: ${pod.ip}`);
      }
    }
    return mustReadState(n);
  }

  /** The tabby-cni network configuration of a node (also written to its netconf.json). */
  netconf(node: LabNode): Record<string, unknown> {
    return { cniVersion: '1.0.0', name: CNI_NETWORK, type: 'tabby-cni', agent_socket: node.cniSocket, timeout_seconds: 60 };
  }

  private agentSettings(state: LabState, logLevel: string): AgentSettings {
    return {
      etcdEndpoint: state.etcd.endpoint,
      dataplane: state.dataplane,
      poolCidr: state.pool.cidr,
      logLevel,
      bgpSecretsDir: this.names.bgpSecretsDir,
      ...(state.clusterRoutes ? { clusterRoutes: state.clusterRoutes } : {}),
    };
  }

  /** The IPPool is the lab's, not the agent's default, so block size and encapsulation are what the lab says. */
  private async applyPool(state: LabState): Promise<void> {
    const yaml = [
      'apiVersion: projectcalico.org/v3',
      'kind: IPPool',
      'metadata:',
      '  name: lab-pool',
      'spec:',
      `  cidr: ${state.pool.cidr}`,
      `  blockSize: ${state.pool.blockSize}`,
      `  ipipMode: ${state.pool.ipipMode ?? 'Never'}`,
      '  vxlanMode: Never',
      '  natOutgoing: false',
      '',
    ].join('\n');
    const r = await this.ctlCapture(state, ['apply', '-f', '-'], yaml);
    if (r.code !== 0) throw new LabError('LAB_COMMAND', `could not create the lab's IPPool: ${(r.stderr || r.stdout).trim()}`);
  }

  async down(): Promise<string[]> {
    return teardownLab(this.names, this.progress);
  }

  async state(): Promise<LabState> {
    return mustReadState(this.names);
  }

  async status(): Promise<{ state: LabState; nodes: NodeStatus[] }> {
    const state = await this.state();
    const nodes = await Promise.all(
      state.nodes.map(async (node) => {
        const agentAlive = node.agentPid !== undefined && pidAlive(node.agentPid);
        let agentReady = false;
        if (agentAlive) {
          agentReady = await agentReadyNow(node);
        }
        return { node, agentAlive, agentReady, pods: state.pods.filter((p) => p.node === node.name).length };
      }),
    );
    return { state, nodes };
  }

  /** The CNI call for a pod on its node; the bench and tests use it to time or vary the real invocation. */
  cniCall(state: LabState, node: LabNode, verb: CniCall['verb'], pod: { name: string; namespace: string; containerId: string; netns: string; labels: Record<string, string> }): CniCall {
    const netconf = this.netconf(node);
    return {
      plugin: this.cniPlugin,
      verb,
      containerId: pod.containerId,
      netnsPath: verb === 'DEL' ? '' : netnsPath(pod.netns),
      ifname: 'eth0',
      args: { K8S_POD_NAMESPACE: pod.namespace, K8S_POD_NAME: pod.name, K8S_POD_INFRA_CONTAINER_ID: pod.containerId },
      netconf: Object.keys(pod.labels).length ? { ...netconf, runtimeConfig: { labels: pod.labels } } : netconf,
      runIn: node.netns,
    };
  }

  async podAdd(o: PodAddOptions): Promise<LabPod> {
    checkMemberName('pod', o.name);
    const state = await this.state();
    if (state.pods.some((p) => p.name === o.name)) throw new LabError('LAB_USAGE', `pod ${o.name} already exists in lab '${state.name}'`);
    const node = o.node ? state.nodes.find((x) => x.name === o.node) : leastLoaded(state);
    if (!node) throw new LabError('LAB_USAGE', `no node '${o.node}' in lab '${state.name}'; nodes are ${state.nodes.map((x) => x.name).join(', ')}`);
    const pod: LabPod = {
      name: o.name,
      node: node.name,
      namespace: o.namespace ?? 'default',
      netns: this.names.podNetns(o.name),
      containerId: `lab-${state.name}-${o.name}-${randomBytes(4).toString('hex')}`,
      labels: o.labels ?? {},
      ip: '',
      ifname: 'eth0',
    };
    if (existsSync(netnsPath(pod.netns))) throw new LabError('LAB_EXISTS', `netns ${pod.netns} already exists; run 'tabby lab down --name ${state.name}' to clean up`);
    await createNetns(pod.netns, false);
    try {
      const result = await invokeCni(this.cniCall(state, node, 'ADD', pod));
      const ip = firstIPv4(result);
      if (!ip) throw new LabError('LAB_CNI', `CNI ADD for pod ${pod.name} returned no IPv4 address: ${JSON.stringify(result)}`);
      pod.ip = ip;
    } catch (err) {
      await runCommand(['ip', 'netns', 'del', pod.netns]);
      throw err;
    }
    await updateState(this.names, (s) => {
      s.pods.push(pod);
    });
    return pod;
  }

  async podDel(name: string): Promise<LabPod> {
    const state = await this.state();
    const pod = state.pods.find((p) => p.name === name);
    if (!pod) throw new LabError('LAB_USAGE', `no pod '${name}' in lab '${state.name}'; pods are ${state.pods.map((p) => p.name).join(', ') || '(none)'}`);
    const node = state.nodes.find((x) => x.name === pod.node)!;
    await invokeCni(this.cniCall(state, node, 'DEL', pod));
    await runCommand(['ip', 'netns', 'del', pod.netns]);
    await updateState(this.names, (s) => {
      s.pods = s.pods.filter((p) => p.name !== name);
    });
    return pod;
  }

  async probe(opts: ProbeOptions): Promise<ProbeMatrix> {
    const state = await this.state();
    if (state.pods.length < 2) throw new LabError('LAB_USAGE', `lab '${state.name}' has ${state.pods.length} pod(s); probing needs at least 2 (tabby lab pod add NAME)`);
    return probePods(
      state.pods.map((p) => ({ name: p.name, node: p.node, ip: p.ip, netns: p.netns })),
      opts,
    );
  }

  /** Stops a node's agent (SIGTERM with a grace period, or SIGKILL) and starts a new one. */
  async agentRestart(nodeName: string, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', logLevel = 'info', readyTimeoutMs = 90_000): Promise<number> {
    const state = await this.state();
    const node = state.nodes.find((x) => x.name === nodeName);
    if (!node) throw new LabError('LAB_USAGE', `no node '${nodeName}' in lab '${state.name}'`);
    if (node.agentPid) {
      this.progress(`${node.name}: stopping agent pid ${node.agentPid} (${signal})`);
      await stopProcess(node.agentPid, signal, 20_000);
    }
    const pid = await startAgent(node, this.agentSettings(state, logLevel));
    await updateState(this.names, (s) => {
      const n = s.nodes.find((x) => x.name === nodeName);
      if (n) n.agentPid = pid;
    });
    this.progress(`${node.name}: agent started (pid ${pid}), waiting for /readyz`);
    await waitAgentReady({ ...node, agentPid: pid }, pid, readyTimeoutMs);
    this.progress(`${node.name}: agent ready`);
    return pid;
  }

  /** The namespace of a node or pod name. */
  async namespaceOf(target: string): Promise<string> {
    const state = await this.state();
    if (target === 'underlay' || target === 'ul') return state.underlay.netns;
    const node = state.nodes.find((x) => x.name === target);
    if (node) return node.netns;
    const pod = state.pods.find((x) => x.name === target);
    if (pod) return pod.netns;
    throw new LabError('LAB_USAGE', `'${target}' is neither a node nor a pod of lab '${state.name}' (nodes: ${state.nodes.map((x) => x.name).join(', ')}; pods: ${state.pods.map((x) => x.name).join(', ') || 'none'})`);
  }

  /** The tabby CLI inside the underlay, pointed at the lab's etcd; output captured. */
  async ctlCapture(state: LabState, args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
    return runCommand([...entryCommand('cli'), ...args], { netns: state.underlay.netns, env: { ...process.env, ETCD_ENDPOINTS: state.etcd.endpoint }, stdin, timeoutMs: 60_000 });
  }
}

/**
 * Legacy IPIP needs the kernel's ipip module (tunl0); without it every cross-node route
 * would fail. Say so before building anything. CrossSubnet is fine: lab nodes share one
 * subnet, so it never encapsulates.
 */
export function legacyIpipProblem(dataplane: LabDataplane, ipip: LabIpipMode, haveIpipModule: boolean): string | undefined {
  if (dataplane !== 'legacy' || ipip !== 'Always' || haveIpipModule) return undefined;
  return '--dataplane legacy with --ipip always needs the kernel\'s ipip module, which this kernel does not have (no /sys/module/ipip); use --dataplane bpf (IPIP is encapsulated in BPF, no module needed) or --ipip never';
}

function leastLoaded(state: LabState): LabNode | undefined {
  let best: LabNode | undefined;
  let bestCount = Infinity;
  for (const node of state.nodes) {
    const count = state.pods.filter((p) => p.node === node.name).length;
    if (count < bestCount) {
      best = node;
      bestCount = count;
    }
  }
  return best;
}
