/**
 * The BGP speaker against real daemons, configured only through the datastore: a real etcd
 * holding Node / BGPConfiguration / BGPPeer / IPPool resources (ResourceClient) and blocks
 * (IPAM), one speaker process per node namespace (fixtures/bgp-speaker-node.ts: Syncer ->
 * BgpSyncerFeed -> BgpSpeaker), BIRD 2 as a ToR in its own namespace, all on one bridge.
 *
 * The steps build on each other (one topology, as a cluster grows):
 *   1. node A peers with BIRD (external AS): BIRD learns A's block, A learns BIRD's route;
 *      `tabby node status --socket` shows the session;
 *   2. node B joins: A and B form the node-to-node mesh and exchange blocks;
 *   3. node C becomes a route reflector, the RR BGPPeer is added and the mesh turned off:
 *      clients peer only with C, still learn each other's blocks (reflected, next hop kept),
 *      and the ToR session is never reset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { runTabby } from '../support/cli.js';
import { BgpSpeakerCluster, SUBNET_PREFIX, waitUntil, type BirdInNetns } from './fixtures/bgp-speaker-cluster.js';
import type { PeerStatus } from '../../src/bgp/speaker/peer-status.js';

const A = `${SUBNET_PREFIX}.1`;
const B = `${SUBNET_PREFIX}.2`;
const C = `${SUBNET_PREFIX}.3`;
const TOR = `${SUBNET_PREFIX}.254`;
const TOR_ROUTE = '10.200.1.0/24';

const torConfig = `
router id ${TOR};
protocol device { scan time 2; }
protocol static tor_routes { ipv4; route ${TOR_ROUTE} blackhole; }
protocol bgp tabby_a {
  local ${TOR} as 65000;
  neighbor ${A} as 64512;
  hold time 9;
  keepalive time 3;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import all; export where proto = "tor_routes"; };
}
`;

describe.skipIf(!isRoot)(needsRoot('BGP speaker with etcd, BIRD and node namespaces'), () => {
  const cl = new BgpSpeakerCluster();
  let bird: BirdInNetns;
  const blocks: Record<string, string> = {};

  const peers = async (node: string): Promise<Record<string, PeerStatus>> => Object.fromEntries((await cl.status(node)).peers.map((p) => [p.peerAddress, p]));
  const up = async (node: string, addresses: string[]): Promise<boolean> => {
    const p = await peers(node);
    return Object.keys(p).sort().join(',') === [...addresses].sort().join(',') && addresses.every((a) => p[a]?.state === 'up');
  };
  const routeTo = async (node: string, dst: string) => (await cl.routes(node)).find((r) => r.dst === dst);
  const output = (node: string) => () => cl.speakers.get(node)?.output() ?? '';
  const node = (name: string, address: string, extra: { labels?: Record<string, string>; clusterId?: string } = {}) =>
    cl.apply({
      kind: 'Node',
      metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
      spec: { bgp: { ipv4Address: `${address}/24`, ...(extra.clusterId ? { routeReflectorClusterID: extra.clusterId } : {}) } },
    } as never);
  const claimBlock = async (name: string): Promise<string> => {
    const [a] = await (cl.ipam as NonNullable<typeof cl.ipam>).autoAssign({ handle: `net.${name}-pod`, node: name, attrs: { node: name } });
    return a?.block as string;
  };

  beforeAll(async () => {
    await cl.start();
    await cl.apply({ kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 64512, nodeToNodeMeshEnabled: true } } as never);
    await cl.apply({ kind: 'IPPool', metadata: { name: 'pool' }, spec: { cidr: '172.30.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()' } } as never);
  }, 60_000);

  afterAll(async () => {
    await cl.close();
  }, 60_000);

  it('peers with BIRD as a ToR: BIRD learns our block, we learn its route, node status shows it', async () => {
    const torNs = cl.attach(254);
    bird = await cl.startBird(torNs.netns, torConfig);
    await node('na', A);
    blocks.na = await claimBlock('na');
    await cl.apply({ kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { node: 'na', peerIP: TOR, asNumber: 65000, keepaliveTime: '3s' } } as never);
    await cl.startSpeaker('na', cl.attach(1));

    await waitUntil('A established with the ToR', () => up('na', [TOR]), 30_000, output('na'));
    await waitUntil('BIRD to learn the block of A', async () => (await bird.birdc('show route protocol tabby_a')).includes(blocks.na as string), 20_000, output('na'));
    await waitUntil('A to learn the ToR route', async () => (await routeTo('na', TOR_ROUTE)) !== undefined, 20_000, output('na'));
    expect(await routeTo('na', TOR_ROUTE)).toEqual({ type: 'RouteUpdate', dst: TOR_ROUTE, routeType: 'bgp', nextHop: TOR, encap: 'none' });
    expect((await peers('na'))[TOR]).toMatchObject({ peerType: 'node specific', info: 'Established', asNumber: 65000 });
    expect(await bird.birdc('show protocols tabby_a')).toMatch(/Established/);

    const cli = await runTabby(['node', 'status', '--socket', (cl.speakers.get('na') as { statusSocket: string }).statusSocket]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^tabby agent is running\.\n\nIPv4 BGP status\n/);
    expect(cli.stdout).toMatch(new RegExp(`\\| ${TOR.replace(/\./g, '\\.')} +\\| node specific +\\| up +\\| \\d\\d:\\d\\d:\\d\\d +\\| Established +\\|`));
    expect(cli.stdout).toMatch(/IPv6 BGP status\nNo IPv6 peers found\.\n$/);
  }, 120_000);

  it('two speakers form the node-to-node mesh and exchange their blocks', async () => {
    await node('nb', B);
    blocks.nb = await claimBlock('nb');
    await cl.startSpeaker('nb', cl.attach(2));
    await waitUntil('A meshed with B (and still with the ToR)', () => up('na', [TOR, B]), 30_000, output('na'));
    await waitUntil('B meshed with A', () => up('nb', [A]), 30_000, output('nb'));
    await waitUntil('A to learn the block of B', async () => (await routeTo('na', blocks.nb as string)) !== undefined, 20_000, output('na'));
    await waitUntil('B to learn the block of A', async () => (await routeTo('nb', blocks.na as string)) !== undefined, 20_000, output('nb'));
    expect(await routeTo('na', blocks.nb as string)).toEqual({ type: 'RouteUpdate', dst: blocks.nb, routeType: 'remote-block', nextHop: B, dstNode: 'nb', encap: 'none', sameSubnet: true });
    expect(await routeTo('nb', blocks.na as string)).toMatchObject({ routeType: 'remote-block', nextHop: A, dstNode: 'na' });
    expect((await peers('nb'))[A]).toMatchObject({ peerType: 'node-to-node mesh', state: 'up' });
    // B also learns the ToR's route through A (iBGP from an eBGP-learned path keeps its next hop).
    await waitUntil('B to learn the ToR route via A', async () => (await routeTo('nb', TOR_ROUTE))?.nextHop === TOR, 20_000, output('nb'));
    // And the ToR learns B's block from A (eBGP: next hop A).
    await waitUntil('BIRD to learn the block of B', async () => (await bird.birdc('show route protocol tabby_a')).includes(blocks.nb as string), 20_000);
  }, 120_000);

  it('switching to a route reflector converges: clients peer only with the reflector, the ToR session is kept', async () => {
    const torSince = (await peers('na'))[TOR]?.since;
    await node('nc', C, { labels: { 'route-reflector': 'true' }, clusterId: '224.0.0.1' });
    await cl.startSpeaker('nc', cl.attach(3));
    await waitUntil('the full mesh of three', async () => (await up('na', [TOR, B, C])) && (await up('nb', [A, C])) && (await up('nc', [A, B])), 30_000, output('nc'));

    await cl.apply({ kind: 'BGPPeer', metadata: { name: 'peer-with-rr' }, spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" } } as never);
    await cl.apply({ kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 64512, nodeToNodeMeshEnabled: false } } as never);

    await waitUntil('A to peer only with the ToR and the reflector', () => up('na', [TOR, C]), 30_000, output('na'));
    await waitUntil('B to peer only with the reflector', () => up('nb', [C]), 30_000, output('nb'));
    await waitUntil('the reflector to peer with both clients', () => up('nc', [A, B]), 30_000, output('nc'));
    expect((await peers('na'))[C]).toMatchObject({ peerType: 'node specific', source: 'bgppeer/peer-with-rr' });
    expect((await cl.status('nc')).clusterId).toBe('224.0.0.1');

    // Blocks still travel between the clients, reflected with their next hop unchanged.
    await waitUntil('A to have the block of B via the reflector', async () => (await routeTo('na', blocks.nb as string))?.nextHop === B, 20_000, output('na'));
    await waitUntil('B to have the block of A via the reflector', async () => (await routeTo('nb', blocks.na as string))?.nextHop === A, 20_000, output('nb'));
    expect(await routeTo('na', blocks.nb as string)).toMatchObject({ routeType: 'remote-block', dstNode: 'nb' });
    // A block B claims now can only reach A through the reflector.
    const more = await (cl.ipam as NonNullable<typeof cl.ipam>).autoAssign({ handle: 'net.nb-more', node: 'nb', num: 64, attrs: { node: 'nb' } });
    const newBlock = more.map((a) => a.block).find((b) => b !== blocks.nb) as string;
    expect(newBlock).toBeDefined();
    await waitUntil('A to learn the new block of B via the reflector', async () => (await routeTo('na', newBlock))?.nextHop === B, 20_000, output('na'));
    expect(await routeTo('nc', newBlock)).toMatchObject({ routeType: 'remote-block', nextHop: B, dstNode: 'nb' });
    // The ToR session was not touched by any of this.
    expect((await peers('na'))[TOR]?.since).toBe(torSince);
    expect(await bird.birdc('show route protocol tabby_a')).toContain(blocks.na as string);
  }, 150_000);
});
