/**
 * The lab's own machinery, without agents: underlay, nodes, etcd, `lab ctl`, `lab exec`,
 * `lab probe` against pods wired here by hand (as the agent would wire them), and
 * `lab down` after a simulated crash (state file gone, processes left running).
 */
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { footprint, lab, leftovers, mustLab, routesIn, uniqueLabName, type LabFootprint } from '../support/lab.js';
import { mustRun, run } from '../support/netns.js';
import { LabNames } from '../../src/lab/names.js';
import { updateState } from '../../src/lab/state.js';

const name = uniqueLabName();
const names = new LabNames(name);

/** Wires a pod namespace to a node the way the agent does: /32, proxy ARP via 169.254.1.1, host route. */
function wirePod(pod: string, node: string, ip: string, hostIf: string): void {
  const podNs = names.podNetns(pod);
  const nodeNs = names.nodeNetns(node);
  mustRun(['ip', 'netns', 'add', podNs]);
  mustRun(['ip', '-n', podNs, 'link', 'set', 'lo', 'up']);
  mustRun(['ip', '-n', nodeNs, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs]);
  mustRun(['sysctl', '-qw', `net.ipv4.conf.${hostIf}.proxy_arp=1`], { netns: nodeNs });
  mustRun(['ip', '-n', nodeNs, 'link', 'set', hostIf, 'up']);
  mustRun(['ip', '-n', nodeNs, 'route', 'add', `${ip}/32`, 'dev', hostIf]);
  mustRun(['ip', '-n', podNs, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
  mustRun(['ip', '-n', podNs, 'link', 'set', 'eth0', 'up']);
  mustRun(['ip', '-n', podNs, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
  mustRun(['ip', '-n', podNs, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
}

describe.skipIf(!isRoot)(needsRoot('tabby lab infrastructure (no agents)'), () => {
  let before: LabFootprint;

  beforeAll(async () => {
    await lab(name, ['down']);
    before = footprint(name);
    await mustLab(name, ['up', '--no-agents', '--nodes', '2', '--pods-per-node', '0']);
  });

  afterAll(async () => {
    await lab(name, ['down']);
  });

  it('builds nodes on an underlay that ends inside the lab', async () => {
    const fp = footprint(name);
    expect(fp.netns.sort()).toEqual([names.nodeNetns('node1'), names.nodeNetns('node2'), names.underlayNetns].sort());
    expect(leftovers(before, { ...fp, netns: [], processes: [], runDir: false })).toEqual([]); // nothing on the host's own namespace
    expect(routesIn(names.nodeNetns('node1'))).toContain('default via 10.199.0.1 dev eth0');
    expect(run(['ping', '-c1', '-W2', '10.199.0.12'], { netns: names.nodeNetns('node1') }).status).toBe(0);
    expect(run(['sysctl', '-n', 'net.ipv4.ip_forward'], { netns: names.nodeNetns('node2') }).stdout.trim()).toBe('1');
  });

  it('runs etcd in the underlay and the CLI against it with lab ctl', async () => {
    const r = await lab(name, ['ctl', '--', 'get', 'ippool', '-o', 'wide']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/lab-pool\s+10\.65\.0\.0\/16\s+false\s+Never\s+Never/);
  });

  it('lab exec passes the exit code', async () => {
    expect((await lab(name, ['exec', 'node1', '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    const r = await lab(name, ['exec', 'node2', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(r.stdout).toContain('10.199.0.12/24');
    expect((await lab(name, ['exec', 'nosuch', '--', 'true'])).stderr).toMatch(/neither a node nor a pod/);
  });

  it('probes every ordered pair over TCP and UDP, and reports a broken path', async () => {
    const pods = [
      { pod: 'm1', node: 'node1', ip: '10.65.1.1', hostIf: 'calim1' },
      { pod: 'm2', node: 'node1', ip: '10.65.1.2', hostIf: 'calim2' },
      { pod: 'm3', node: 'node2', ip: '10.65.2.1', hostIf: 'calim3' },
    ];
    for (const p of pods) wirePod(p.pod, p.node, p.ip, p.hostIf);
    mustRun(['ip', '-n', names.nodeNetns('node1'), 'route', 'add', '10.65.2.0/24', 'via', '10.199.0.12']);
    mustRun(['ip', '-n', names.nodeNetns('node2'), 'route', 'add', '10.65.1.0/24', 'via', '10.199.0.11']);
    await updateState(names, (s) => {
      s.pods = pods.map((p) => ({ name: p.pod, node: p.node, namespace: 'default', netns: names.podNetns(p.pod), containerId: `manual-${p.pod}`, labels: {}, ip: p.ip, ifname: 'eth0' }));
    });

    const ok = await lab(name, ['probe', '--ascii', '--timeout-ms', '2000']);
    expect(ok.stdout).toContain('6/6 pairs connected over TCP, 6/6 over UDP');
    expect(ok.code).toBe(0);
    const json = JSON.parse((await lab(name, ['probe', '-o', 'json'])).stdout) as { ok: boolean; cells: Array<{ tcp: boolean; udp: boolean }> };
    expect(json.ok).toBe(true);
    expect(json.cells).toHaveLength(6);

    // Break node2's way back to node1's pods: every pair across nodes must fail, both ways.
    mustRun(['ip', '-n', names.nodeNetns('node2'), 'route', 'del', '10.65.1.0/24']);
    const bad = await lab(name, ['probe', '--ascii', '--timeout-ms', '800']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('2/6 pairs connected over TCP, 2/6 over UDP');
    expect(bad.stdout).toMatch(/m3 -> m1 \(10\.65\.1\.1\): tcp: .*; udp: /);
  });

  it('lab down removes everything after a crash, and is idempotent', async () => {
    // A crash: processes keep running inside the lab, and the state file is gone.
    const sleeper = spawn('ip', ['netns', 'exec', names.podNetns('m1'), 'sleep', '600'], { detached: true, stdio: 'ignore' });
    sleeper.unref();
    await mkdir(`${names.pinDir('node1')}/globals`, { recursive: true }); // as a bpf agent leaves its pins
    await rm(names.stateFile);
    expect(footprint(name).processes.length).toBeGreaterThan(0); // etcd at least

    const down = await lab(name, ['down']);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(`removed netns ${names.underlayNetns}`);
    expect(down.stdout).toMatch(/removed process \d+/);
    expect(down.stdout).toContain(`removed pins ${names.pinDir('node1')}`);
    expect(leftovers(before, footprint(name))).toEqual([]);
    const again = await lab(name, ['down']);
    expect(again.stdout).toContain('nothing to remove');
  });
});
