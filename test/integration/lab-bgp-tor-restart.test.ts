/**
 * Restarts are free for routes learned from outside the cluster too: a BIRD ToR peers with
 * node1 and announces its network; node1's agent is restarted (SIGTERM) while its kernel
 * routes are watched. The learned route (protocol 85) must never leave the kernel: the new
 * agent adopts it and holds its sweep of learned routes until BGP has converged again.
 * Watched two ways in node1's namespace: `ip -4 route show <net>` every 50 ms, and
 * `ip monitor route`, which sees a delete-and-add however fast it is. Both dataplanes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import type { BgpStatus } from '../../src/bgp/speaker/speaker.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState, type LabState } from '../../src/lab/state.js';
import { TOR_DEFAULT_ANNOUNCE } from '../../src/lab/tor.js';
import { isRoot, needsRoot } from '../support/root.js';
import { lab, mustLab, routesIn, spawnIn, uniqueLabName, untilEverySecond as until } from '../support/lab.js';

const SAMPLE_END = '--sample--';

describe.skipIf(!isRoot).each(['legacy', 'bpf'] as const)(needsRoot('tabby lab: a ToR-learned route across an agent restart (%s)'), (dataplane) => {
  const name = uniqueLabName();
  const names = new LabNames(name);
  let state: LabState;
  let tor: string;

  beforeAll(async () => {
    await lab(name, ['down']);
    await mustLab(name, ['up', '--nodes', '2', '--pods-per-node', '1', '--dataplane', dataplane, '--log-level', 'warn']);
    state = await mustReadState(names);
    const up = await mustLab(name, ['tor', 'up', '--peer', 'node1']);
    tor = /^ToR (\S+) AS/.exec(up.stdout)?.[1] as string;
    const r = await lab(name, ['ctl', '--', 'apply', '-f', '-'], { stdin: toYaml({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { node: 'node1', peerIP: tor, asNumber: 65001 } }) });
    expect(r.code, r.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await lab(name, ['down']);
  }, 120_000);

  it('never leaves node1\'s kernel while node1\'s agent restarts and BGP comes back', async () => {
    const node1 = state.nodes.find((n) => n.name === 'node1')!;
    const want = `${TOR_DEFAULT_ANNOUNCE} via ${tor} dev eth0 proto 85`;
    await until(`node1: ${want}`, () => routesIn(node1.netns).some((l) => l.startsWith(want)), 60_000, () => routesIn(node1.netns).join('\n'));
    const torUp = async () => {
      const r = await lab(name, ['node-status', 'node1', '-o', 'json']);
      if (r.code !== 0) return false;
      return (JSON.parse(r.stdout) as BgpStatus).peers.some((p) => p.peerAddress === tor && p.state === 'up');
    };

    const monitor = spawnIn(node1.netns, ['ip', '-4', 'monitor', 'route']);
    const poller = spawnIn(node1.netns, ['sh', '-c', `while :; do ip -4 route show ${TOR_DEFAULT_ANNOUNCE}; echo ${SAMPLE_END}; sleep 0.05; done`]);
    try {
      await until('the poller to report', () => poller.output().includes(SAMPLE_END), 10_000);
      const restart = await lab(name, ['agent', 'restart', 'node1']);
      expect(restart.stderr).toContain('node1: agent ready');
      expect(restart.code, restart.stderr).toBe(0);
      // The session back up, then past the settle time (2 s), when the held sweep runs.
      await until('the ToR session back up', torUp, 60_000);
      const sampled = poller.output().split(SAMPLE_END).length;
      await until('3 s of samples after the session came back', () => poller.output().split(SAMPLE_END).length >= sampled + 30, 30_000);
    } finally {
      poller.child.kill();
      monitor.child.kill();
      await Promise.all([poller.exited, monitor.exited]);
    }

    const samples = poller.output().split(SAMPLE_END).slice(0, -1).map((s) => s.trim());
    expect(samples.length).toBeGreaterThan(30);
    const missing = samples.filter((s) => !s.startsWith(`${TOR_DEFAULT_ANNOUNCE} via ${tor} dev eth0 proto 85`));
    expect(missing, `samples without the learned route (of ${samples.length})`).toEqual([]);
    const changes = monitor.output().split('\n').filter((l) => l.includes(TOR_DEFAULT_ANNOUNCE));
    expect(changes, 'route changes seen by ip monitor').toEqual([]);
    expect(routesIn(node1.netns).some((l) => l.startsWith(want))).toBe(true);
  }, 240_000);
});
