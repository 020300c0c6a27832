/**
 * BGP in the lab, the steps a Calico user knows, through the same commands a user runs:
 *   1. 3 nodes x 2 pods (legacy dataplane): the agents' speakers form the node-to-node
 *      mesh (`tabby node status -o json` inside each node shows both other nodes up), every
 *      node has a kernel route to every other node's block, and every pod pair connects;
 *   2. route reflector: label node3 `route-reflector=true` with a `routeReflectorClusterID`,
 *      add the BGPPeer `nodeSelector: all()` / `peerSelector: route-reflector == 'true'`,
 *      turn the mesh off: node1 and node2 peer only with node3, node3 with both, and every
 *      pod pair connects again;
 *   3. a top-of-rack router (BIRD, AS 65001) peers with the reflector through a BGPPeer
 *      `node: node3`: BIRD learns every node's block, and the external network it announces
 *      reaches every node's kernel as a learned (`bgp`) route via the ToR, reflected to the
 *      clients with its next hop kept.
 * Cluster routes come from the datastore (docs/design/bgp-speaker.md), so connectivity is
 * checked for not breaking across the switch; what BGP itself delivers is checked at the
 * ToR and with the learned external route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { blockContaining, formatCidr, parseIPv4 } from '../../src/ipam/cidr.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState, type LabState } from '../../src/lab/state.js';
import { torPaths, TOR_DEFAULT_ANNOUNCE } from '../../src/lab/tor.js';
import type { BgpStatus } from '../../src/bgp/speaker/speaker.js';
import { isRoot, needsRoot } from '../support/root.js';
import { footprint, lab, leftovers, mustLab, routesIn, uniqueLabName, type LabFootprint, untilEverySecond as until } from '../support/lab.js';

const name = uniqueLabName();
const names = new LabNames(name);
const TOR_AS = 65001;

describe.skipIf(!isRoot)(needsRoot('tabby lab: BGP mesh, route reflector and ToR with real agents'), () => {
  let before: LabFootprint;
  let state: LabState;
  const addr = (node: string) => state.nodes.find((n) => n.name === node)!.address.split('/')[0]!;
  const blocksOf = (node: string) => [...new Set(state.pods.filter((p) => p.node === node).map((p) => formatCidr(blockContaining(parseIPv4(p.ip), state.pool.blockSize))))];

  const status = async (node: string): Promise<BgpStatus> => {
    const r = await mustLab(name, ['node-status', node, '-o', 'json']);
    return JSON.parse(r.stdout) as BgpStatus;
  };
  const statuses = async () => Object.fromEntries(await Promise.all(state.nodes.map(async (n) => [n.name, await status(n.name)] as const)));
  /** node -> its peers' addresses (sorted), or undefined while any of them is not up. */
  const upPeers = (s: BgpStatus): string[] | undefined => (s.peers.every((p) => p.state === 'up') ? s.peers.map((p) => p.peerAddress).sort() : undefined);
  const showAll = async () => JSON.stringify(Object.fromEntries(Object.entries(await statuses()).map(([n, s]) => [n, s.peers.map((p) => `${p.peerAddress} ${p.peerType} ${p.info}`)])), null, 1);

  const apply = async (doc: object) => {
    const r = await lab(name, ['ctl', '--', 'apply', '-f', '-'], { stdin: toYaml(doc) });
    if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}${r.stdout}`);
  };
  const probeAll = async () => {
    const r = await lab(name, ['probe', '--ascii']);
    expect(r.stdout).toContain('30/30 pairs connected over TCP, 30/30 over UDP');
    expect(r.code).toBe(0);
  };

  beforeAll(async () => {
    await lab(name, ['down']);
    before = footprint(name);
    await mustLab(name, ['up', '--nodes', '3', '--pods-per-node', '2', '--dataplane', 'legacy', '--log-level', 'warn']);
    state = await mustReadState(names);
  });

  afterAll(async () => {
    await lab(name, ['down']);
  });

  it('the node-to-node mesh comes up; every node routes to every other node\'s blocks; all pods connect', async () => {
    const want = (node: string) => state.nodes.filter((n) => n.name !== node).map((n) => addr(n.name)).sort();
    await until('every mesh peer Established on every node', async () => {
      const s = await statuses();
      return state.nodes.every((n) => JSON.stringify(upPeers(s[n.name]!)) === JSON.stringify(want(n.name)));
    }, 60_000, showAll);
    const s = await status('node1');
    expect(s).toMatchObject({ enabled: true, asNumber: 64512, meshEnabled: true, routerId: addr('node1') });
    expect(s.peers.map((p) => [p.peerType, p.info])).toEqual([['node-to-node mesh', 'Established'], ['node-to-node mesh', 'Established']]);

    for (const node of state.nodes) {
      const routes = routesIn(node.netns);
      for (const other of state.nodes.filter((n) => n.name !== node.name)) {
        for (const block of blocksOf(other.name)) {
          expect(routes.some((l) => l.startsWith(`${block} via ${addr(other.name)} dev eth0`)), `${node.name}: route to ${block} via ${other.name} in\n${routes.join('\n')}`).toBe(true);
        }
      }
    }
    await probeAll();
  });

  it('route reflector: after the Calico steps clients peer only with the reflector, and all pods still connect', async () => {
    const got = await mustLab(name, ['ctl', '--', 'get', 'node', 'node3', '-o', 'yaml']);
    const node3 = parseYaml(got.stdout) as { metadata: { labels?: Record<string, string> }; spec: { bgp: Record<string, unknown> } };
    node3.metadata.labels = { ...node3.metadata.labels, 'route-reflector': 'true' };
    node3.spec.bgp.routeReflectorClusterID = '244.0.0.1';
    await apply(node3);
    await apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'peer-with-route-reflectors' }, spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" } });
    await apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false, asNumber: 64512 } });

    await until('node1 and node2 peering only with node3, node3 with both', async () => {
      const s = await statuses();
      return (
        JSON.stringify(upPeers(s.node1!)) === JSON.stringify([addr('node3')]) &&
        JSON.stringify(upPeers(s.node2!)) === JSON.stringify([addr('node3')]) &&
        JSON.stringify(upPeers(s.node3!)) === JSON.stringify([addr('node1'), addr('node2')].sort())
      );
    }, 60_000, showAll);
    const rr = await status('node3');
    expect(rr).toMatchObject({ clusterId: '244.0.0.1', meshEnabled: false });
    expect(rr.peers.every((p) => p.peerType === 'node specific' && p.info === 'Established')).toBe(true);
    expect((await status('node1')).peers).toEqual([expect.objectContaining({ peerAddress: addr('node3'), peerType: 'node specific', source: 'bgppeer/peer-with-route-reflectors' })]);
    await probeAll();
  });

  it('a BIRD ToR in an external AS peers with the reflector, learns every block, and its network reaches every node', async () => {
    const up = await mustLab(name, ['tor', 'up', '--peer', 'node3', '--as', String(TOR_AS)]);
    const torAddress = /^ToR (\S+) AS/.exec(up.stdout)?.[1] as string;
    expect(torAddress).toMatch(/^10\.199\.0\.\d+$/);
    await apply({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { node: 'node3', peerIP: torAddress, asNumber: TOR_AS } });

    const torRoutes = async () => (await mustLab(name, ['tor', 'birdc', '--', 'show', 'route'])).stdout;
    const allBlocks = state.nodes.flatMap((n) => blocksOf(n.name));
    expect(allBlocks.length).toBeGreaterThanOrEqual(3);
    await until('the ToR to learn every block', async () => {
      const t = await torRoutes();
      return allBlocks.every((b) => t.includes(b));
    }, 60_000, async () => `${await torRoutes()}\n${await showAll()}`);
    expect((await mustLab(name, ['tor', 'birdc', '--', 'show', 'protocols', 'node3'])).stdout).toMatch(/Established/);
    const rr = await status('node3');
    expect(rr.peers.find((p) => p.peerAddress === torAddress)).toMatchObject({ state: 'up', peerType: 'node specific', asNumber: TOR_AS });
    // The clients still see only the reflector: the ToR is node3's peer alone.
    expect((await status('node1')).peers.map((p) => p.peerAddress)).toEqual([addr('node3')]);

    // The ToR's network: learned by node3 over eBGP, reflected to the clients with its next
    // hop kept, programmed as a kernel route via the ToR on every node (routeType bgp).
    for (const node of state.nodes) {
      await until(`${node.name} to route ${TOR_DEFAULT_ANNOUNCE} via the ToR`, async () => routesIn(node.netns).some((l) => l.startsWith(`${TOR_DEFAULT_ANNOUNCE} via ${torAddress} dev eth0 proto 85`)), 30_000, () => routesIn(node.netns).join('\n'));
    }
    await probeAll();
  });

  it('lab down removes the ToR with the rest of the lab', async () => {
    expect(footprint(name).netns).toContain(torPaths(names).netns);
    const down = await mustLab(name, ['down']);
    expect(down.stdout).toContain(`removed netns ${torPaths(names).netns}`);
    expect(leftovers(before, footprint(name))).toEqual([]);
  });
});
