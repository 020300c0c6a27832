// Real packets through the BPF dataplane, driven by BpfDataplane from messages (the same
// ones LegacyDataplane takes): two nodes (network namespaces) joined by a veth underlay,
// two pods on node 1 and one on node 2, each pod a namespace behind a veth whose host
// side carries the programs. The nodes have NO kernel routes for the pods and no tunl0:
// same-node traffic goes by bpf_redirect, cross-node traffic in IPIP done in BPF, which a
// capture on the underlay shows as IP protocol 4 between the node addresses. Then a second
// agent adopts the pinned maps and swaps the programs in place while traffic still flows.
import { spawn } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BpfDataplane } from '../../src/dataplane/bpf/bpf-dataplane.js';
import { routeKey, routeKeyOf } from '../../src/dataplane/bpf/codecs/routes.js';
import { nativeBpfKernel } from '../../src/dataplane/bpf/native-kernel.js';
import type { DataplaneMessage, WorkloadEndpointUpdate } from '../../src/dataplane/messages.js';
import { mustRun, NetnsLab, type Netns, type VethEnd } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';
import { ensureBpffs, newPinDir, removePinDir, sweepStalePins } from './support.js';

interface Pod {
  ns: Netns;
  ip: string;
  podEnd: VethEnd;
  hostEnd: VethEnd;
  mac: string;
}

interface Node {
  ns: Netns;
  ip: string;
  uplink: VethEnd;
  pods: Pod[];
  pinDir: string;
  dp: BpfDataplane | null;
}

const N1_IP = '192.168.77.1';
const N2_IP = '192.168.77.2';

describe.skipIf(!isRoot)(needsRoot('BpfDataplane with real packets between pods in namespaces'), () => {
  let lab: NetnsLab;
  const nodes: Node[] = [];
  const dataplanes: BpfDataplane[] = [];

  function addPod(node: Node, ip: string): Pod {
    const ns = lab.netns();
    const [hostEnd, podEnd] = lab.veth({ netns: node.ns }, { netns: ns, address: `${ip}/32` });
    const inNode = { netns: node.ns.name };
    const inPod = { netns: ns.name };
    mustRun(['ip', 'link', 'set', 'dev', hostEnd.name, 'address', 'ee:ee:ee:ee:ee:ee'], inNode);
    // IPIP adds 20 bytes: pods get the underlay MTU minus that (as Calico does).
    mustRun(['ip', 'link', 'set', 'dev', podEnd.name, 'mtu', '1480'], inPod);
    mustRun(['ip', 'route', 'add', '169.254.1.1', 'dev', podEnd.name, 'scope', 'link'], inPod);
    mustRun(['ip', 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', podEnd.name], inPod);
    mustRun(['ip', 'neigh', 'replace', '169.254.1.1', 'lladdr', 'ee:ee:ee:ee:ee:ee', 'dev', podEnd.name, 'nud', 'permanent'], inPod);
    const info = JSON.parse(mustRun(['ip', '-j', 'link', 'show', 'dev', podEnd.name], inPod)) as { address: string }[];
    const pod: Pod = { ns, ip, podEnd, hostEnd, mac: info[0]?.address ?? '' };
    node.pods.push(pod);
    return pod;
  }

  function wep(pod: Pod): WorkloadEndpointUpdate {
    return {
      type: 'WorkloadEndpointUpdate',
      id: { orchestrator: 'k8s', workload: `default/${pod.ns.name}`, endpoint: 'eth0' },
      ifaceName: pod.hostEnd.name,
      mac: pod.mac,
      ipv4Nets: [`${pod.ip}/32`],
      labels: {},
      profileIds: [],
    };
  }

  /** What calc would send node `self` (its endpoints, blocks, the other node's block, host routes). */
  function messages(self: Node, other: Node, selfBlock: string, otherBlock: string): DataplaneMessage[] {
    return [
      { type: 'HostMetadataUpdate', hostname: self.ns.name, ipv4Addr: self.ip },
      ...self.pods.map(wep),
      ...self.pods.map((p): DataplaneMessage => ({ type: 'RouteUpdate', dst: `${p.ip}/32`, routeType: 'local-workload', iface: p.hostEnd.name, encap: 'none', dstNode: self.ns.name })),
      { type: 'RouteUpdate', dst: selfBlock, routeType: 'local-block', encap: 'none', dstNode: self.ns.name },
      { type: 'RouteUpdate', dst: otherBlock, routeType: 'remote-block', nextHop: other.ip, encap: 'ipip', dstNode: other.ns.name },
      { type: 'RouteUpdate', dst: `${self.ip}/32`, routeType: 'host', encap: 'none', dstNode: self.ns.name },
      { type: 'RouteUpdate', dst: `${other.ip}/32`, routeType: 'host', encap: 'none', dstNode: other.ns.name },
      { type: 'InSync' },
    ];
  }

  function startDataplane(node: Node): BpfDataplane {
    const dp = new BpfDataplane({ pinDir: node.pinDir, uplinkIfName: node.uplink.name, nodeIPv4: node.ip, kernel: nativeBpfKernel({ netns: node.ns.path }) });
    dataplanes.push(dp);
    node.dp = dp;
    return dp;
  }

  function ping(from: Pod, to: string, count = 2): boolean {
    return lab.exec(from.ns, ['ping', '-c', String(count), '-i', '0.2', '-W', '2', '-n', '-q', to], 20_000).status === 0;
  }

  /** A TCP exchange: a one-shot echo server in `server`, a client in `client`; returns what came back. */
  async function tcpEcho(client: Pod, server: Pod, port: number): Promise<string> {
    const srv = spawn('ip', ['netns', 'exec', server.ns.name, process.execPath, '-e', `
      const s = require('net').createServer((c) => { c.on('data', (d) => { c.end('echo:' + d); s.close(); }); });
      s.listen(${port}, '${server.ip}', () => console.log('ready'));
      setTimeout(() => process.exit(3), 15000);`]);
    try {
      await new Promise<void>((resolve, reject) => {
        srv.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        srv.on('exit', (code) => reject(new Error(`echo server exited ${code}`)));
      });
      const r = lab.exec(client.ns, [process.execPath, '-e', `
        const c = require('net').connect(${port}, '${server.ip}', () => c.write('hello ${port}'));
        let got = ''; c.on('data', (d) => (got += d)); c.on('end', () => { console.log(got); process.exit(0); });
        c.on('error', (e) => { console.error(e.message); process.exit(2); });
        setTimeout(() => process.exit(4), 10000);`], 20_000);
      return r.stdout.trim();
    } finally {
      srv.kill();
    }
  }

  /** Sends `bytes` from client to server over TCP; returns the count the server received. */
  async function tcpBulk(client: Pod, server: Pod, port: number, bytes: number): Promise<string> {
    const srv = spawn('ip', ['netns', 'exec', server.ns.name, process.execPath, '-e', `
      const s = require('net').createServer((c) => { let n = 0; c.on('data', (d) => (n += d.length)); c.on('end', () => { c.end(String(n)); s.close(); }); });
      s.listen(${port}, '${server.ip}', () => console.log('ready'));
      setTimeout(() => process.exit(3), 30000);`]);
    try {
      await new Promise<void>((resolve, reject) => {
        srv.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        srv.on('exit', (code) => reject(new Error(`bulk server exited ${code}`)));
      });
      const r = lab.exec(client.ns, [process.execPath, '-e', `
        const c = require('net').connect(${port}, '${server.ip}', () => c.end(Buffer.alloc(${bytes}, 7)));
        let got = ''; c.on('data', (d) => (got += d)); c.on('end', () => { console.log(got); process.exit(0); });
        c.on('error', (e) => { console.error(e.message); process.exit(2); });
        setTimeout(() => process.exit(4), 25000);`], 30_000);
      return r.stdout.trim();
    } finally {
      srv.kill();
    }
  }

  beforeAll(async () => {
    ensureBpffs();
    sweepStalePins();
    lab = new NetnsLab();
    const n1 = lab.netns();
    const n2 = lab.netns();
    const [u1, u2] = lab.veth({ netns: n1, address: `${N1_IP}/24` }, { netns: n2, address: `${N2_IP}/24` });
    nodes.push({ ns: n1, ip: N1_IP, uplink: u1, pods: [], pinDir: newPinDir(), dp: null });
    nodes.push({ ns: n2, ip: N2_IP, uplink: u2, pods: [], pinDir: newPinDir(), dp: null });
    const [node1, node2] = nodes as [Node, Node];
    addPod(node1, '10.65.0.2');
    addPod(node1, '10.65.0.3');
    addPod(node2, '10.65.1.2');
    for (const [self, other, sb, ob] of [
      [node1, node2, '10.65.0.0/26', '10.65.1.0/26'],
      [node2, node1, '10.65.1.0/26', '10.65.0.0/26'],
    ] as const) {
      const dp = startDataplane(self);
      dp.send(messages(self, other, sb, ob));
      const report = await dp.apply();
      expect(report).toEqual({ inSync: true, failures: [] });
    }
  });

  afterAll(() => {
    for (const dp of dataplanes) dp.close();
    lab?.cleanup();
    for (const n of nodes) removePinDir(n.pinDir);
    expect(lab?.leftovers() ?? []).toEqual([]);
  });

  it('the nodes have no kernel routes for pod addresses and no tunl0', () => {
    for (const n of nodes) {
      expect(mustRun(['ip', 'route', 'show'], { netns: n.ns.name })).not.toMatch(/10\.65\./);
      expect(mustRun(['ip', '-o', 'link', 'show'], { netns: n.ns.name })).not.toMatch(/tunl0/);
    }
  });

  it('pings between two pods on one node through from_workload redirects', () => {
    const [p1, p2] = nodes[0]?.pods as [Pod, Pod];
    const before = nodes[0]?.dp?.readCounters().redirect_local?.packets ?? 0n;
    expect(ping(p1, p2.ip)).toBe(true);
    expect(ping(p2, p1.ip)).toBe(true);
    // 2 x (request + reply) per direction, each redirected once by from_workload.
    expect((nodes[0]?.dp?.readCounters().redirect_local?.packets ?? 0n) - before).toBeGreaterThanOrEqual(8n);
  });

  it('carries TCP between two pods on one node, and conntrack sees the flow', async () => {
    const [p1, p2] = nodes[0]?.pods as [Pod, Pod];
    expect(await tcpEcho(p1, p2, 7001)).toBe('echo:hello 7001');
    expect(nodes[0]?.dp?.mapFill().ct.entries).toBeGreaterThan(0);
  });

  it('pings and TCP across nodes in IPIP done in BPF, seen as protocol 4 between node addresses on the underlay', async () => {
    const [node1, node2] = nodes as [Node, Node];
    const p1 = node1.pods[0] as Pod;
    const p3 = node2.pods[0] as Pod;
    const cap = spawn('ip', ['netns', 'exec', node1.ns.name, 'tcpdump', '-i', node1.uplink.name, '-nn', '-l', '-c', '2', 'ip proto 4']);
    let captured = '';
    cap.stdout.on('data', (d: Buffer) => (captured += d.toString()));
    const done = new Promise<void>((resolve) => cap.on('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        cap.stderr.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
        cap.on('exit', (code) => reject(new Error(`tcpdump exited ${code} before listening`)));
      });
      expect(ping(p1, p3.ip, 1)).toBe(true);
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    } finally {
      cap.kill();
    }
    const lines = captured.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`IP ${N1_IP.replace(/\./g, '\\.')} > ${N2_IP.replace(/\./g, '\\.')}: IP 10\\.65\\.0\\.2 > 10\\.65\\.1\\.2: ICMP echo request`));
    expect(lines[1]).toMatch(new RegExp(`IP ${N2_IP.replace(/\./g, '\\.')} > ${N1_IP.replace(/\./g, '\\.')}: IP 10\\.65\\.1\\.2 > 10\\.65\\.0\\.2: ICMP echo reply`));
    expect(await tcpEcho(p1, p3, 7002)).toBe('echo:hello 7002');
    expect(await tcpEcho(p3, p1, 7003)).toBe('echo:hello 7003');
    const c1 = node1.dp?.readCounters();
    const c2 = node2.dp?.readCounters();
    expect(c1?.redirect_ipip?.packets).toBeGreaterThan(0n);
    expect(c1?.decap?.packets).toBeGreaterThan(0n);
    expect(c2?.decap?.packets).toBeGreaterThan(0n);
  });

  it('moves a bulk TCP transfer across nodes (large GSO segments through BPF IPIP and back out of it)', async () => {
    const [node1, node2] = nodes as [Node, Node];
    expect(await tcpBulk(node1.pods[0] as Pod, node2.pods[0] as Pod, 7004, 4 * 1024 * 1024)).toBe(String(4 * 1024 * 1024));
  });

  it("the node's own packets reach a pod on the other node (to_uplink encapsulates them)", () => {
    const [node1, node2] = nodes as [Node, Node];
    // The node sends by its default route; the reply from the pod to a node address is the
    // kernel's to forward on node 2.
    mustRun(['ip', 'route', 'add', 'default', 'via', N2_IP], { netns: node1.ns.name });
    mustRun(['sysctl', '-qw', 'net.ipv4.ip_forward=1'], { netns: node2.ns.name });
    try {
      const before = node1.dp?.readCounters().host_ipip?.packets ?? 0n;
      const r = mustRun(['ping', '-c', '2', '-i', '0.2', '-W', '2', '-n', '-q', (node2.pods[0] as Pod).ip], { netns: node1.ns.name });
      expect(r).toMatch(/2 received/);
      expect((node1.dp?.readCounters().host_ipip?.packets ?? 0n) - before).toBe(2n);
    } finally {
      mustRun(['ip', 'route', 'del', 'default'], { netns: node1.ns.name });
      mustRun(['sysctl', '-qw', 'net.ipv4.ip_forward=0'], { netns: node2.ns.name });
    }
  });

  it('a restarted agent adopts the pinned maps, replaces the programs in place, and sweeps what is no longer wanted', async () => {
    const [node1, node2] = nodes as [Node, Node];
    const [p1, p2] = node1.pods as [Pod, Pod];
    const old = node1.dp as BpfDataplane;
    const kernel = nativeBpfKernel({ netns: node1.ns.path });
    const ifindex = kernel.ifindex(p1.hostEnd.name) ?? 0;
    const oldProg = kernel.tcQuery(ifindex, 'ingress');
    // A stale entry the new agent will not be told about.
    old.dataplane().map('routes').update(routeKey.encode(routeKeyOf('10.99.0.0/24')), Buffer.alloc(16));

    const fresh = startDataplane(node1);
    fresh.send(messages(node1, node2, '10.65.0.0/26', '10.65.1.0/26'));
    expect(await fresh.apply()).toEqual({ inSync: true, failures: [] });
    old.close();

    const newProg = kernel.tcQuery(ifindex, 'ingress');
    expect(newProg).not.toBe(oldProg);
    expect(newProg).toBe(fresh.dataplane().program('from_workload').id);
    const dsts = [...fresh.dataplane().map('routes').keys()].map((k) => routeKey.decode(k)).map((k) => `${k.addr}/${k.prefixlen}`);
    expect(dsts).not.toContain('10.99.0.0/24');
    expect(dsts).toContain('10.65.1.0/26');
    expect(ping(p1, p2.ip)).toBe(true);
    expect(ping(p1, (node2.pods[0] as Pod).ip)).toBe(true);
  });

  it('an endpoint removal detaches its programs and removes its map entry', async () => {
    const node1 = nodes[0] as Node;
    const p2 = node1.pods[1] as Pod;
    const dp = node1.dp as BpfDataplane;
    const kernel = nativeBpfKernel({ netns: node1.ns.path });
    const ifindex = kernel.ifindex(p2.hostEnd.name) ?? 0;
    expect(kernel.tcQuery(ifindex, 'ingress')).not.toBeNull();
    dp.send([
      { type: 'RouteRemove', dst: `${p2.ip}/32` },
      { type: 'WorkloadEndpointRemove', id: wep(p2).id },
    ]);
    expect(await dp.apply()).toEqual({ inSync: true, failures: [] });
    expect(kernel.tcQuery(ifindex, 'ingress')).toBeNull();
    expect(kernel.tcQuery(ifindex, 'egress')).toBeNull();
    expect(dp.mapFill().endpoints.entries).toBe(1);
    // Its address is now a blackholed part of the local block.
    expect(ping(node1.pods[0] as Pod, p2.ip, 1)).toBe(false);
  });
});
