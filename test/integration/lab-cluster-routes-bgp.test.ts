/**
 * `--cluster-routes bgp` in the lab: routes to other nodes' blocks come from what BGP
 * learned, so the route-reflector steps of a Calico user change connectivity for real:
 *   1. 3 nodes x 1 pod, legacy dataplane, mesh: every pair connects;
 *   2. the node-to-node mesh turned off (BGPConfiguration nodeToNodeMeshEnabled: false):
 *      the block affinities are still in the datastore, but no node has a route to another
 *      node's block any more, and the probe matrix shows no cross-node pair connecting;
 *      each node's own pod route stays (local routes are calc's, whatever the mode);
 *   3. Calico's reflector steps (label node3, routeReflectorClusterID, the BGPPeer
 *      `nodeSelector: all()` / `peerSelector: route-reflector == 'true'`): every pair
 *      connects again, and `tabby node status` on node1 and node2 lists only node3.
 * Connectivity is judged by packets (the lab's TCP+UDP probe matrix).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { BgpStatus } from '../../src/bgp/speaker/speaker.js';
import { blockContaining, formatCidr, parseIPv4 } from '../../src/ipam/cidr.js';
import { LabNames } from '../../src/lab/names.js';
import type { ProbeMatrix } from '../../src/lab/probe-matrix.js';
import { mustReadState, type LabState } from '../../src/lab/state.js';
import { footprint, lab, leftovers, mustLab, routesIn, uniqueLabName, type LabFootprint, untilEverySecond as until } from '../support/lab.js';
import { isRoot, needsRoot } from '../support/root.js';

const name = uniqueLabName();
const names = new LabNames(name);

describe.skipIf(!isRoot)(needsRoot('tabby lab --cluster-routes bgp: mesh off disconnects, a route reflector reconnects'), () => {
  let before: LabFootprint;
  let state: LabState;
  let labUp = false;
  const addr = (node: string) => state.nodes.find((n) => n.name === node)!.address.split('/')[0]!;
  const netns = (node: string) => state.nodes.find((n) => n.name === node)!.netns;
  const blockOf = (node: string) => {
    const pod = state.pods.find((p) => p.node === node)!;
    return formatCidr(blockContaining(parseIPv4(pod.ip), state.pool.blockSize));
  };
  const others = (node: string) => state.nodes.filter((n) => n.name !== node).map((n) => n.name);

  const status = async (node: string): Promise<BgpStatus> => JSON.parse((await mustLab(name, ['node-status', node, '-o', 'json'])).stdout) as BgpStatus;
  const statuses = async () => Object.fromEntries(await Promise.all(state.nodes.map(async (n) => [n.name, await status(n.name)] as const)));
  /** A node's peers' addresses (sorted), or undefined while any of them is not up. */
  const upPeers = (s: BgpStatus): string[] | undefined => (s.peers.every((p) => p.state === 'up') ? s.peers.map((p) => p.peerAddress).sort() : undefined);
  const showPeers = async () => JSON.stringify(Object.fromEntries(Object.entries(await statuses()).map(([n, s]) => [n, s.peers.map((p) => `${p.peerAddress} ${p.peerType} ${p.info}`)])), null, 1);
  const showRoutes = () => state.nodes.map((n) => `${n.name}:\n  ${routesIn(n.netns).join('\n  ')}`).join('\n');

  /** Whether `node` has a tabby route to `other`'s block via `other`'s address. */
  const routesTo = (node: string, other: string) => routesIn(netns(node)).some((l) => l.startsWith(`${blockOf(other)} via ${addr(other)} dev eth0 proto 84`));
  /** Whether `node` has any route at all for `other`'s block. */
  const anyRouteTo = (node: string, other: string) => routesIn(netns(node)).some((l) => l.startsWith(`${blockOf(other)} `));

  const apply = async (doc: object) => {
    const r = await lab(name, ['ctl', '--', 'apply', '-f', '-'], { stdin: toYaml(doc) });
    if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}${r.stdout}`);
  };
  const probe = async (): Promise<{ code: number; m: ProbeMatrix }> => {
    const r = await lab(name, ['probe', '--timeout-ms', '2000', '-o', 'json']);
    return { code: r.code, m: JSON.parse(r.stdout) as ProbeMatrix };
  };
  const failed = (m: ProbeMatrix) => m.cells.filter((c) => !c.tcp || !c.udp).map((c) => `${c.from}->${c.target}: tcp ${c.tcpError ?? 'ok'}, udp ${c.udpError ?? 'ok'}`).join('\n');

  beforeAll(async () => {
    await lab(name, ['down']);
    before = footprint(name);
    labUp = true;
    await mustLab(name, ['up', '--nodes', '3', '--pods-per-node', '1', '--dataplane', 'legacy', '--cluster-routes', 'bgp', '--log-level', 'warn']);
    state = await mustReadState(names);
  });

  afterAll(async () => {
    if (labUp) await lab(name, ['down']);
  });

  it('lab up passes the mode to every agent; with the mesh up, routes come from BGP and every pair connects', async () => {
    expect(state.clusterRoutes).toBe('bgp');
    expect((await mustLab(name, ['status'])).stdout).toContain('cluster routes from bgp');
    for (const n of state.nodes) expect(readFileSync(`/proc/${n.agentPid}/cmdline`, 'utf8').split('\0')).toContain('--cluster-routes=bgp');

    await until('every mesh peer Established on every node', async () => {
      const s = await statuses();
      return state.nodes.every((n) => JSON.stringify(upPeers(s[n.name]!)) === JSON.stringify(others(n.name).map(addr).sort()));
    }, 60_000, showPeers);
    await until('every node to route to every other node\'s block', () => state.nodes.every((n) => others(n.name).every((o) => routesTo(n.name, o))), 30_000, showRoutes);
    const { code, m } = await probe();
    expect(m.pairs).toBe(6);
    expect([m.tcpConnected, m.udpConnected], failed(m)).toEqual([6, 6]);
    expect(code).toBe(0);
  });

  it('mesh off: no node keeps a route to another node\'s block, and no cross-node pair connects', async () => {
    await apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false, asNumber: 64512 } });
    await until('no BGP peers left on any node', async () => Object.values(await statuses()).every((s) => s.peers.length === 0), 60_000, showPeers);
    await until('the other nodes\' blocks to leave every node\'s routes', () => state.nodes.every((n) => others(n.name).every((o) => !anyRouteTo(n.name, o))), 30_000, showRoutes);

    const node1 = routesIn(netns('node1'));
    for (const o of others('node1')) expect(node1.filter((l) => l.startsWith(`${blockOf(o)} `)), node1.join('\n')).toEqual([]);
    // Local routes are still calc's: node1's own pod and its block's blackhole.
    const pod1 = state.pods.find((p) => p.node === 'node1')!;
    expect(node1.some((l) => l.startsWith(`${pod1.ip} dev cali`)), node1.join('\n')).toBe(true);
    expect(node1.some((l) => l.startsWith(`blackhole ${blockOf('node1')} proto 84`)), node1.join('\n')).toBe(true);
    // The datastore still says where every block lives: only BGP stopped saying it.
    const blocks = (await mustLab(name, ['ctl', '--', 'ipam', 'show', '--show-blocks'])).stdout;
    for (const n of state.nodes) expect(blocks).toContain(blockOf(n.name));

    const { code, m } = await probe();
    expect(m.pairs).toBe(6);
    expect(m.cells.every((c) => state.pods.find((p) => p.name === c.from)!.node !== state.pods.find((p) => p.name === c.target)!.node)).toBe(true);
    expect([m.tcpConnected, m.udpConnected], JSON.stringify(m.cells)).toEqual([0, 0]);
    expect(code).toBe(1);
  });

  it('route reflector: every pair connects again, and node1 and node2 peer only with the reflector', async () => {
    const got = await mustLab(name, ['ctl', '--', 'get', 'node', 'node3', '-o', 'yaml']);
    const node3 = parseYaml(got.stdout) as { metadata: { labels?: Record<string, string> }; spec: { bgp: Record<string, unknown> } };
    node3.metadata.labels = { ...node3.metadata.labels, 'route-reflector': 'true' };
    node3.spec.bgp.routeReflectorClusterID = '244.0.0.1';
    await apply(node3);
    await apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'peer-with-route-reflectors' }, spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" } });

    await until('node1 and node2 peering only with node3, node3 with both', async () => {
      const s = await statuses();
      return (
        JSON.stringify(upPeers(s.node1!)) === JSON.stringify([addr('node3')]) &&
        JSON.stringify(upPeers(s.node2!)) === JSON.stringify([addr('node3')]) &&
        JSON.stringify(upPeers(s.node3!)) === JSON.stringify([addr('node1'), addr('node2')].sort())
      );
      // Generous: the sessions themselves come up within ~20 ms of the BGPPeer (agent logs), but
      // each poll runs the CLI once per node, and on a loaded 2-core machine this step took 47 s.
    }, 120_000, showPeers);
    // The reflector keeps the next hop: node1 reaches node2's block via node2 itself.
    await until('every node to route to every other node\'s block again', () => state.nodes.every((n) => others(n.name).every((o) => routesTo(n.name, o))), 30_000, showRoutes);

    for (const client of ['node1', 'node2']) {
      const text = (await mustLab(name, ['node-status', client])).stdout;
      expect(text).toContain('tabby agent is running.');
      const rows = text.split('\n').filter((l) => /^\|\s*\d+\.\d+\.\d+\.\d+/.test(l));
      expect(rows, text).toHaveLength(1);
      expect(rows[0]).toContain(addr('node3'));
      expect(rows[0]).toMatch(/node specific\s*\|\s*up\s*\|.*Established/);
    }

    const { code, m } = await probe();
    expect([m.tcpConnected, m.udpConnected], failed(m)).toEqual([6, 6]);
    expect(code).toBe(0);
  });

  it('lab down removes everything', async () => {
    await mustLab(name, ['down']);
    labUp = false;
    expect(leftovers(before, footprint(name))).toEqual([]);
  });
});
