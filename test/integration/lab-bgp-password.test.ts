/**
 * BGP passwords end to end, the way a Calico user sets them: a BIRD top-of-rack router with
 * `password`, a BGPPeer whose `password.secretKeyRef` names a Secret, and the Secret as
 * the agents read it (`tabby lab secret`, a file under every agent's --bgp-secrets-dir).
 *   1. Secret missing: node1 does not peer at all (never unsigned); `tabby node status`
 *      says why, and BIRD learns nothing.
 *   2. Secret written: within the agent's re-read the session comes up, BIRD learns the
 *      cluster's blocks and node1's kernel the ToR's network.
 *   3. Secret rotated to a wrong value: node1 resets that session; the ToR's kernel drops the
 *      badly signed SYNs and counts them (TcpExtTCPMD5Failure in the ToR's namespace); no
 *      session. Rotated back: up again.
 *   4. BGPConfiguration `nodeMeshPassword`: the mesh session stops until its Secret exists,
 *      then comes back signed on both ends.
 * What the ToR and the kernels see decides, not what the agent says of itself: that a
 * session is signed is read from the kernel's socket table (`ss -tie` lists the TCP-MD5
 * keys of a connection as `md5keys:<peer>/32=...`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { blockContaining, formatCidr, parseIPv4 } from '../../src/ipam/cidr.js';
import type { BgpStatus } from '../../src/bgp/speaker/speaker.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState, type LabState } from '../../src/lab/state.js';
import { torPaths, TOR_DEFAULT_ANNOUNCE } from '../../src/lab/tor.js';
import { run } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';
import { footprint, lab, leftovers, mustLab, routesIn, uniqueLabName, type LabFootprint, untilEverySecond as until } from '../support/lab.js';

const name = uniqueLabName();
const names = new LabNames(name);
const PASSWORD = 'tor md5 pass';

describe.skipIf(!isRoot)(needsRoot('tabby lab: a BGP password from a Secret, against a BIRD ToR'), () => {
  let before: LabFootprint;
  let state: LabState;
  let tor: string;

  const torPeer = async (): Promise<BgpStatus['peers'][number] | undefined> => {
    const r = await mustLab(name, ['node-status', 'node1', '-o', 'json']);
    return (JSON.parse(r.stdout) as BgpStatus).peers.find((p) => p.peerAddress === tor);
  };
  const birdc = async (...command: string[]): Promise<string> => (await mustLab(name, ['tor', 'birdc', '--', ...command])).stdout;
  const torEstablished = async (): Promise<boolean> => /BGP state:\s+Established/.test(await birdc('show', 'protocols', 'all', 'node1'));
  const torMd5Failures = (): number => {
    const lines = run(['ip', 'netns', 'exec', torPaths(names).netns, 'cat', '/proc/net/netstat']).stdout.split('\n').filter((l) => l.startsWith('TcpExt:'));
    const [keys, values] = lines.map((l) => l.trim().split(/\s+/));
    return Number(values?.[keys?.indexOf('TCPMD5Failure') ?? -1] ?? NaN);
  };
  const secret = async (value: string, key = 'tor'): Promise<void> => {
    await mustLab(name, ['secret', 'bgp-passwords', key, value]);
  };
  const netnsOf = (node: string): string => state.nodes.find((n) => n.name === node)!.netns;
  const addressOf = (node: string): string => state.nodes.find((n) => n.name === node)!.address.split('/')[0]!;
  /** The TCP-MD5 key peers of node's established connections with `peer` (ss prints each socket's details on the line after it). */
  const md5KeysTo = (node: string, peer: string): string[] => {
    const lines = run(['ip', 'netns', 'exec', netnsOf(node), 'ss', '-tnie', 'state', 'established']).stdout.split('\n');
    return lines.flatMap((l, i) => (l.includes(` ${peer}:`) ? [/md5keys:(\S+?)=/.exec(lines[i + 1] ?? '')?.[1] ?? 'unsigned'] : []));
  };
  const meshPeer = async (node: string, peer: string): Promise<BgpStatus['peers'][number] | undefined> => {
    const r = await mustLab(name, ['node-status', node, '-o', 'json']);
    return (JSON.parse(r.stdout) as BgpStatus).peers.find((p) => p.peerAddress === addressOf(peer));
  };

  beforeAll(async () => {
    await lab(name, ['down']);
    before = footprint(name);
    await mustLab(name, ['up', '--nodes', '2', '--pods-per-node', '1', '--dataplane', 'legacy', '--log-level', 'warn']);
    state = await mustReadState(names);
    const up = await mustLab(name, ['tor', 'up', '--peer', 'node1', '--password', PASSWORD]);
    tor = /^ToR (\S+) AS/.exec(up.stdout)?.[1] as string;
    const bgpPeer = {
      apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' },
      spec: { node: 'node1', peerIP: tor, asNumber: 65001, password: { secretKeyRef: { name: 'bgp-passwords', key: 'tor' } } },
    };
    const r = await lab(name, ['ctl', '--', 'apply', '-f', '-'], { stdin: toYaml(bgpPeer) });
    expect(r.code, r.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await lab(name, ['down']);
    expect(leftovers(before, footprint(name))).toEqual([]);
  }, 120_000);

  it('without the Secret, node1 does not peer with the ToR and says why', async () => {
    await until('node1 to list the ToR peer', async () => (await torPeer()) !== undefined, 60_000);
    expect(await torPeer()).toMatchObject({ state: 'start', info: 'Idle Password unavailable: secret "bgp-passwords" key "tor" not found' });
    expect(await torEstablished()).toBe(false);
    expect(await birdc('show', 'route', 'protocol', 'node1')).not.toMatch(/\/26/);
  }, 120_000);

  it('with the Secret, the signed session comes up and routes flow both ways', async () => {
    await secret(PASSWORD);
    await until('the ToR session up', torEstablished, 60_000, () => birdc('show', 'protocols', 'all', 'node1'));
    const blocks = [...new Set(state.pods.map((p) => formatCidr(blockContaining(parseIPv4(p.ip), state.pool.blockSize))))].sort();
    await until('every block at the ToR', async () => {
      const routes = await birdc('show', 'route', 'protocol', 'node1');
      return blocks.every((b) => routes.includes(b));
    }, 60_000, () => birdc('show', 'route'));
    const node1 = state.nodes.find((n) => n.name === 'node1')!;
    await until('the ToR network in node1\'s kernel', () => routesIn(node1.netns).some((l) => l.startsWith(`${TOR_DEFAULT_ANNOUNCE} via ${tor}`)), 30_000, () => routesIn(node1.netns).join('\n'));
    expect(await torPeer()).toMatchObject({ state: 'up', info: 'Established' });
    expect(md5KeysTo('node1', tor)).toEqual([`${tor}/32`]);
    expect(md5KeysTo('node1', addressOf('node2'))).toEqual(['unsigned']); // the mesh has no password (yet)
  }, 180_000);

  it('a rotated wrong password resets the session and the ToR\'s kernel drops it; the right one brings it back', async () => {
    const failures = torMd5Failures();
    expect(Number.isFinite(failures)).toBe(true);
    await secret('not the password');
    await until('the ToR to drop badly signed segments from node1', () => torMd5Failures() > failures, 60_000);
    await until('the ToR session down', async () => !(await torEstablished()), 30_000);
    expect((await torPeer())?.state).toBe('start');
    await secret(PASSWORD);
    await until('the ToR session up again', torEstablished, 60_000, () => birdc('show', 'protocols', 'all', 'node1'));
    await until('node1 reports it up', async () => (await torPeer())?.state === 'up', 30_000);
  }, 180_000);

  it('nodeMeshPassword: the mesh stops until its Secret exists, then comes back signed on both ends', async () => {
    const config = { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeMeshPassword: { secretKeyRef: { name: 'bgp-passwords', key: 'mesh' } } } };
    const r = await lab(name, ['ctl', '--', 'apply', '-f', '-'], { stdin: toYaml(config) });
    expect(r.code, r.stderr).toBe(0);
    for (const [node, peer] of [['node1', 'node2'], ['node2', 'node1']] as const) {
      await until(`${node} to hold its mesh peer`, async () => (await meshPeer(node, peer))?.info === 'Idle Password unavailable: secret "bgp-passwords" key "mesh" not found', 60_000);
    }
    expect(md5KeysTo('node1', addressOf('node2'))).toEqual([]);
    await secret('mesh md5 pass', 'mesh');
    for (const [node, peer] of [['node1', 'node2'], ['node2', 'node1']] as const) {
      await until(`${node}'s mesh session up`, async () => (await meshPeer(node, peer))?.state === 'up', 60_000);
    }
    expect(md5KeysTo('node1', addressOf('node2'))).toEqual([`${addressOf('node2')}/32`]);
    expect(md5KeysTo('node2', addressOf('node1'))).toEqual([`${addressOf('node1')}/32`]);
    expect(await torPeer()).toMatchObject({ state: 'up' }); // the ToR's session was not touched
  }, 180_000);
});
