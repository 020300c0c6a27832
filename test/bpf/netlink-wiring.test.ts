// Workload wiring for real: a "node" namespace with an uplink (a veth to a third namespace and
// a default route through it, so proxy ARP has a route for 169.254.1.1) and a "pod" namespace.
// NetlinkWorkloadWiring wires the pod, the route manager's kernel adds the host /32, and a
// ping from the pod to the node's address must work through proxy ARP. Then unwire (twice),
// rollback on a failure part way, and typed errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NetlinkRouteKernel } from '../../src/dataplane/linux/netlink-route-kernel.js';
import { NetlinkWorkloadWiring, WorkloadWiringError } from '../../src/dataplane/linux/netlink-workload-wiring.js';
import { Sysctl, SysctlError, type SysctlKey } from '../../src/dataplane/linux/sysctl.js';
import { Netlink } from '../../src/native/netlink.js';
import { currentNetns, mustRun, NetnsLab, run, type Netns } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';

const NODE_ADDR = '10.254.0.1';
let counter = 0;

function hostIfName(): string {
  counter += 1;
  return `cali${((process.pid % 0xfffff) * 0x1000 + counter).toString(16).padStart(11, '0')}`.slice(0, 15);
}

class FailingSysctl extends Sysctl {
  override write(key: SysctlKey): void {
    throw new SysctlError('write', String(key), 13, 'injected failure');
  }
}

describe.skipIf(!isRoot)(needsRoot('workload wiring through netlink, with a real ping'), () => {
  let lab: NetnsLab;
  let node: Netns;
  let uplink: Netns;
  let hostNetns: string;
  const nl = isRoot ? new Netlink() : (undefined as unknown as Netlink);

  beforeAll(() => {
    if (run(['sh', '-c', 'command -v ping']).status !== 0) throw new Error('this test sends real pings: install iputils-ping');
    hostNetns = currentNetns();
    lab = new NetnsLab();
    node = lab.netns();
    uplink = lab.netns();
    lab.veth({ netns: node, address: `${NODE_ADDR}/24` }, { netns: uplink, address: '10.254.0.2/24' });
    mustRun(['ip', 'route', 'add', 'default', 'via', '10.254.0.2'], { netns: node.name });
    // Node-wide forwarding stays off: the wiring turns it on for the host side only, which is
    // all proxy ARP needs (the kernel proxies only what it could forward from that device).
    expect(new Sysctl({ netns: node.path }).read('net.ipv4.ip_forward')).toBe('0');
  });

  afterAll(() => {
    lab?.cleanup();
    expect(lab?.leftovers() ?? []).toEqual([]);
  });

  function sh(ns: Netns, argv: string[]): string {
    return mustRun(argv, { netns: ns.name }).trim();
  }

  it('wires a pod that can ping its node through proxy ARP, and unwires it idempotently', async () => {
    const pod = lab.netns();
    const name = hostIfName();
    const wiring = new NetlinkWorkloadWiring({ hostNetns: node.path });
    const wired = await wiring.wire({ netnsPath: pod.path, containerIfName: 'eth0', hostIfName: name, addresses: ['10.65.0.5/32'], mtu: 1400 });

    expect(wired).toMatchObject({ hostIfName: name, containerIfName: 'eth0', hostMac: 'ee:ee:ee:ee:ee:ee' });
    expect(wired.hostIfIndex).toBe(Number(/^(\d+):/.exec(sh(node, ['ip', '-o', 'link', 'show', 'dev', name]))?.[1]));
    expect(wired.containerIfIndex).toBe(Number(/^(\d+):/.exec(sh(pod, ['ip', '-o', 'link', 'show', 'dev', 'eth0']))?.[1]));

    // Host side: MAC, up, proxy ARP without delay, MTU.
    const hostLink = sh(node, ['ip', '-o', 'link', 'show', 'dev', name]);
    expect(hostLink).toContain('link/ether ee:ee:ee:ee:ee:ee');
    expect(hostLink).toMatch(/<[^>]*\bUP\b/);
    expect(hostLink).toMatch(/mtu 1400/);
    expect(sh(node, ['cat', `/proc/sys/net/ipv4/conf/${name}/proxy_arp`])).toBe('1');
    expect(sh(node, ['cat', `/proc/sys/net/ipv4/neigh/${name}/proxy_delay`])).toBe('0');
    expect(sh(node, ['cat', `/proc/sys/net/ipv4/conf/${name}/forwarding`])).toBe('1');
    // Nothing leaked into the test's own namespace.
    expect(run(['ip', 'link', 'show', 'dev', name]).status).not.toBe(0);
    expect(currentNetns()).toBe(hostNetns);

    // Pod side: eth0 with the /32, the link route to the gateway and the default route.
    expect(sh(pod, ['ip', '-o', 'link', 'show', 'dev', 'eth0'])).toContain(`link/ether ${wired.containerMac}`);
    expect(sh(pod, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toMatch(/inet 10\.65\.0\.5\/32/);
    const podRoutes = sh(pod, ['ip', '-4', 'route', 'show']).split('\n').map((l) => l.trim());
    expect(podRoutes).toEqual(['default via 169.254.1.1 dev eth0 proto 84', '169.254.1.1 dev eth0 proto 84 scope link']);

    // The host /32 is the route manager's job: do it the way the agent will.
    const routes = new NetlinkRouteKernel({ netns: node.path });
    await routes.replaceRoute({ dst: '10.65.0.5/32', type: 'unicast', ifName: name, scope: 'link', protocol: 84 });

    const ping = lab.exec(pod, ['ping', '-c', '2', '-W', '3', '-q', NODE_ADDR]);
    expect(ping.stdout + ping.stderr).toMatch(/2 received/);
    expect(ping.status).toBe(0);
    // 169.254.1.1 was resolved by proxy ARP to the host side's MAC.
    expect(sh(pod, ['ip', 'neigh', 'show', '169.254.1.1'])).toContain('lladdr ee:ee:ee:ee:ee:ee');

    expect((await wiring.listHostInterfaces('cali')).map((h) => h.name)).toContain(name);
    await wiring.unwire(name);
    await wiring.unwire(name);
    expect(run(['ip', 'link', 'show', 'dev', name], { netns: node.name }).status).not.toBe(0);
    expect(run(['ip', 'link', 'show', 'dev', 'eth0'], { netns: pod.name }).status).not.toBe(0);
    expect((await wiring.listHostInterfaces('cali')).map((h) => h.name)).not.toContain(name);
    // The host route went with its device.
    expect(await routes.listRoutes({ protocol: 84 })).toEqual([]);
  });

  it('wires again over a stale pair left by an earlier attempt', async () => {
    const pod = lab.netns();
    const name = hostIfName();
    const wiring = new NetlinkWorkloadWiring({ hostNetns: node.path });
    const spec = { netnsPath: pod.path, containerIfName: 'eth0', hostIfName: name, addresses: ['10.65.0.6/32'] };
    const first = await wiring.wire(spec);
    const second = await wiring.wire(spec);
    expect(second.hostIfIndex).not.toBe(first.hostIfIndex);
    expect(nl.links.list({ netns: pod.path }).map((l) => l.name).sort()).toEqual(['eth0', 'lo']);
    await wiring.unwire(name);
  });

  it('rolls back what it made when a step fails part way', async () => {
    const pod = lab.netns();
    const name = hostIfName();
    const wiring = new NetlinkWorkloadWiring({ hostNetns: node.path, hostSysctl: new FailingSysctl() });
    const err = await wiring.wire({ netnsPath: pod.path, containerIfName: 'eth0', hostIfName: name, addresses: ['10.65.0.7/32'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkloadWiringError);
    expect(err).toMatchObject({ code: 'WIRING_FAILED', step: `enable proxy ARP on ${name}`, errno: 13 });
    expect(nl.links.get(name, { netns: node.path })).toBeNull();
    expect(nl.links.list({ netns: pod.path }).map((l) => l.name)).toEqual(['lo']);
  });

  it('fails with typed errors and leaves nothing behind', async () => {
    const wiring = new NetlinkWorkloadWiring({ hostNetns: node.path });
    const pod = lab.netns();

    const name = hostIfName();
    const missing = await wiring
      .wire({ netnsPath: `/run/netns/${lab.prefix}nopod`, containerIfName: 'eth0', hostIfName: name, addresses: ['10.65.0.8/32'] })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'WIRING_FAILED', errno: 2 });
    expect((missing as Error).message).toMatch(/nopod cannot be opened/);
    expect(nl.links.get(name, { netns: node.path })).toBeNull();

    // The pod already has an eth0: EEXIST, and the host side is not left behind.
    mustRun(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1'], { netns: pod.name });
    const taken = await wiring.wire({ netnsPath: pod.path, containerIfName: 'eth0', hostIfName: name, addresses: ['10.65.0.8/32'] }).catch((e: unknown) => e);
    expect(taken).toMatchObject({ code: 'WIRING_FAILED', errno: 17 });
    expect(nl.links.get(name, { netns: node.path })).toBeNull();

    const invalid = await wiring.wire({ netnsPath: pod.path, containerIfName: 'eth0', hostIfName: name, addresses: ['10.65.0.300/32'] }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(WorkloadWiringError);
    expect(invalid).toMatchObject({ code: 'WIRING_INVALID' });
    await expect(wiring.unwire('bad/name')).rejects.toMatchObject({ code: 'WIRING_INVALID' });
  });
});
