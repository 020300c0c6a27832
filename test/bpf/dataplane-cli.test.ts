// `tabby bpf ...` against real pinned maps: a dataplane object loaded into a pin directory,
// some routes and flows, then the CLI (a child process, as a user runs it) reads them back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { BpfObject } from '../../src/native/index.js';
import { runTabby } from '../support/cli.js';
import { isRoot, needsRoot } from '../support/root.js';
import { addRoute, loadDataplane, TCP, tcpPacket } from './dataplane-support.js';
import { ensureBpffs, newPinDir, removePinDir } from './support.js';

describe.skipIf(!isRoot)(needsRoot('tabby bpf on pinned maps'), () => {
  let dir: string;
  let obj: BpfObject;

  beforeAll(() => {
    ensureBpffs();
    dir = newPinDir();
    obj = loadDataplane(dir, '192.168.9.1', 1);
    addRoute(obj, '10.65.0.0/26', { type: 'blackhole' });
    addRoute(obj, '10.65.1.0/26', { type: 'remote', nextHop: '192.168.9.2', ipip: true });
    addRoute(obj, '10.65.0.7/32', { type: 'local-workload', ifindex: 1 });
    addRoute(obj, '192.168.9.1/32', { type: 'host' });
    obj.program('from_workload').testRun({ data: tcpPacket({ src: '10.65.0.7', dst: '10.65.1.3', sport: 33000, dport: 8080, flags: TCP.SYN }) });
    obj.program('from_workload').testRun({ data: tcpPacket({ src: '10.65.0.7', dst: '10.65.0.9', sport: 33001, dport: 80, flags: TCP.SYN }) });
  });
  afterAll(() => {
    obj?.close();
    if (dir) removePinDir(dir);
  });

  it('routes dump prints a table, sorted, with where each prefix goes', async () => {
    const r = await runTabby(['bpf', 'routes', 'dump', '--pin-dir', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^DESTINATION\s+TYPE\s+VIA\s+ENCAP$/);
    expect(lines.slice(1).map((l) => l.split(/\s{3,}/))).toEqual([
      ['10.65.0.0/26', 'blackhole'],
      ['10.65.0.7/32', 'local-workload', 'lo (1)'],
      ['10.65.1.0/26', 'remote', '192.168.9.2', 'ipip'],
      ['192.168.9.1/32', 'host'],
    ]);
  });

  it('conntrack dump -o json shows the flow from its initiator, in SYN_SENT', async () => {
    const r = await runTabby(['bpf', 'conntrack', 'dump', '--pin-dir', dir, '-o', 'json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { proto: string; initiator: string; responder: string; state: string }[];
    expect(rows.map(({ proto, initiator, responder, state }) => ({ proto, initiator, responder, state }))).toEqual([
      { proto: 'tcp', initiator: '10.65.0.7:33000', responder: '10.65.1.3:8080', state: 'SYN_SENT' },
      { proto: 'tcp', initiator: '10.65.0.7:33001', responder: '10.65.0.9:80', state: 'SYN_SENT' },
    ]);
  });

  it('counters lists what happened (one IPIP redirect, one blackhole drop, two new flows)', async () => {
    const r = await runTabby(['bpf', 'counters', '--pin-dir', dir, '-o', 'json']);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as Record<string, { packets: number }>;
    expect(c.redirect_ipip?.packets).toBe(1);
    expect(c.drop_blackhole?.packets).toBe(1);
    expect(c.ct_new?.packets).toBe(2);
    const t = await runTabby(['bpf', 'counters', '--pin-dir', dir]);
    expect(t.stdout).toMatch(/^drop_blackhole\s+1\s+\d+$/m);
    expect(t.stdout).not.toMatch(/^pass\s/m); // zero rows hidden without --all
  });

  it('says clearly when there are no maps', async () => {
    const r = await runTabby(['bpf', 'routes', 'dump', '--node', `no-such-node-${process.pid}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: no pinned map at \/sys\/fs\/bpf\/tabby\/no-such-node-\d+\/routes: is the agent running in bpf mode/);
  });

  it('ifaces runs and prints its header', async () => {
    const r = await runTabby(['bpf', 'ifaces']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^INTERFACE\s+IFINDEX\s+HOOK\s+PROGRAM/);
  });
});
