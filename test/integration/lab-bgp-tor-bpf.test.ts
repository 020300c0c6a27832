/**
 * Learned routes in bpf mode: the programs pass destinations the routes map does not know
 * to the kernel, so the agent programs what BGP learned outside the pools as kernel routes
 * next to the BpfDataplane (withLearnedKernelRoutes). 2 nodes x 1 pod on the bpf dataplane,
 * a BIRD ToR peering with node1: the ToR learns both blocks, its network is a kernel route
 * via the ToR on node1 (eBGP) and on node2 (iBGP from node1, next hop kept), no routes-map
 * entry is made for it, and the pods still connect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { blockContaining, formatCidr, parseIPv4 } from '../../src/ipam/cidr.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState, type LabState } from '../../src/lab/state.js';
import { TOR_DEFAULT_ANNOUNCE } from '../../src/lab/tor.js';
import { isRoot, needsRoot } from '../support/root.js';
import { runTabby } from '../support/cli.js';
import { lab, mustLab, routesIn, uniqueLabName, untilEverySecond as until } from '../support/lab.js';

const name = uniqueLabName();
const names = new LabNames(name);

describe.skipIf(!isRoot)(needsRoot('tabby lab: learned BGP routes on the bpf dataplane'), () => {
  let state: LabState;

  beforeAll(async () => {
    await lab(name, ['down']);
    await mustLab(name, ['up', '--nodes', '2', '--pods-per-node', '1', '--dataplane', 'bpf', '--log-level', 'warn']);
    state = await mustReadState(names);
  });

  afterAll(async () => {
    await lab(name, ['down']);
  });

  it('the ToR learns both blocks, and its network becomes a kernel route via the ToR on both nodes', async () => {
    const up = await mustLab(name, ['tor', 'up', '--peer', 'node1']);
    const tor = /^ToR (\S+) AS/.exec(up.stdout)?.[1] as string;
    const r = await lab(name, ['ctl', '--', 'apply', '-f', '-'], { stdin: toYaml({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { node: 'node1', peerIP: tor, asNumber: 65001 } }) });
    expect(r.code, r.stderr).toBe(0);

    const blocks = state.pods.map((p) => formatCidr(blockContaining(parseIPv4(p.ip), state.pool.blockSize)));
    const torRoutes = async () => (await mustLab(name, ['tor', 'birdc', '--', 'show', 'route'])).stdout;
    await until('the ToR to learn both blocks', async () => {
      const t = await torRoutes();
      return blocks.every((b) => t.includes(b));
    }, 60_000, torRoutes);

    for (const node of state.nodes) {
      const want = `${TOR_DEFAULT_ANNOUNCE} via ${tor} dev eth0 proto 85`;
      await until(`${node.name}: ${want}`, () => routesIn(node.netns).some((l) => l.startsWith(want)), 30_000, () => routesIn(node.netns).join('\n'));
      // The routes map (pinned, read from here) has the cluster's blocks but not the learned
      // route: the programs leave it to the kernel.
      const dump = await runTabby(['bpf', 'routes', 'dump', '--pin-dir', node.pinDir]);
      expect(dump.code, dump.stderr).toBe(0);
      for (const b of blocks) expect(dump.stdout).toContain(b);
      expect(dump.stdout).not.toContain(TOR_DEFAULT_ANNOUNCE);
    }

    const probe = await lab(name, ['probe', '--ascii']);
    expect(probe.stdout).toContain('2/2 pairs connected over TCP, 2/2 over UDP');
  });
});
