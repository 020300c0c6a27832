// Real packets: the counters programs on tc ingress and egress of a veth inside namespaces
// this test makes, ping across it, per-CPU counters move; then detach and unpin, and check
// that nothing is left (query API, `tc filter show`, the pin directory).
import { existsSync, readdirSync } from 'node:fs';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { BpfObject, Interfaces, Tc, type TcAttachment } from '../../src/native/index.js';
import { currentNetns, NetnsLab, run, type Netns, type VethEnd } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';
import { countersObject, ensureBpffs, newPinDir, readCounters, removePinDir, sweepStalePins } from './support.js';

const PINGS = 5;

describe.skipIf(!isRoot)(needsRoot('counters on a veth between two namespaces'), () => {
  let lab: NetnsLab;
  let nsA: Netns;
  let nsB: Netns;
  let endA: VethEnd;
  let endB: VethEnd;
  const tc = isRoot ? new Tc() : (undefined as unknown as Tc);
  const attachments: TcAttachment[] = [];
  const objects: BpfObject[] = [];
  const dirs: string[] = [];
  let hostNetns: string;

  beforeAll(() => {
    if (run(['sh', '-c', 'command -v ping']).status !== 0) {
      throw new Error('this test sends real pings: install iputils-ping (scripts/install-deps.sh lists it)');
    }
    ensureBpffs();
    sweepStalePins();
    hostNetns = currentNetns();
    lab = new NetnsLab();
    nsA = lab.netns();
    nsB = lab.netns();
    [endA, endB] = lab.veth({ netns: nsA, address: '10.251.0.1/30' }, { netns: nsB, address: '10.251.0.2/30' });
  });

  afterEach(() => {
    // Whatever a failed test left: detach, close, unpin.
    for (const a of attachments.splice(0)) {
      try {
        tc.detach(a);
      } catch {
        /* already gone */
      }
    }
    for (const o of objects.splice(0)) o.close();
    for (const d of dirs.splice(0)) removePinDir(d);
  });

  afterAll(() => {
    lab?.cleanup();
    expect(lab?.leftovers() ?? []).toEqual([]);
  });

  function load(globals: Record<string, number> = {}): { obj: BpfObject; dir: string } {
    const dir = newPinDir();
    dirs.push(dir);
    const obj = BpfObject.open(countersObject(), { pinRoot: dir, globals });
    objects.push(obj);
    return { obj, dir };
  }

  function attachBoth(obj: BpfObject): { ingress: TcAttachment; egress: TcAttachment } {
    const ingress = tc.attach({ interface: endB.name, direction: 'ingress', netns: nsB.path }, obj.program('count_ingress'));
    attachments.push(ingress);
    const egress = tc.attach({ interface: endB.name, direction: 'egress', netns: nsB.path }, obj.program('count_egress'));
    attachments.push(egress);
    return { ingress, egress };
  }

  it('finds interfaces by name inside a namespace, and leaves the thread where it was', () => {
    const ifs = new Interfaces();
    const idx = ifs.index(endB.name, { netns: nsB.path });
    expect(idx).toBe(lab.ifindexOf(endB));
    expect(ifs.name(idx, { netns: nsB.path })).toBe(endB.name);
    expect(ifs.index('lo', { netns: nsA.path })).toBe(1);
    expect(currentNetns()).toBe(hostNetns);
  });

  it('counts pings on tc ingress and egress, then detaches and unpins without leftovers', () => {
    const { obj, dir } = load();
    const { ingress, egress } = attachBoth(obj);
    expect(currentNetns()).toBe(hostNetns);
    const ifindexB = lab.ifindexOf(endB);
    expect(ingress.ifindex).toBe(ifindexB);
    expect(ingress.progId).toBe(obj.program('count_ingress').id);
    expect(egress.progId).toBe(obj.program('count_egress').id);

    // What is attached, by the query API, by the netlink listing and by the tc tool.
    expect(tc.query(ingress)).toMatchObject({ progId: ingress.progId, name: 'count_ingress' });
    expect(tc.query(egress)).toMatchObject({ progId: egress.progId, name: 'count_egress' });
    expect(tc.list({ ifindex: ifindexB, direction: 'ingress', netns: nsB.path })).toEqual([
      expect.objectContaining({ handle: ingress.handle, priority: ingress.priority, progId: ingress.progId, directAction: true }),
    ]);
    const shown = lab.exec(nsB, ['tc', 'filter', 'show', 'dev', endB.name, 'ingress']).stdout;
    expect(shown).toContain(`id ${ingress.progId}`);

    const counters = obj.map('counters');
    const beforeIn = readCounters(counters, ifindexB, 'ingress');
    const beforeOut = readCounters(counters, ifindexB, 'egress');
    const ping = lab.exec(nsA, ['ping', '-c', String(PINGS), '-i', '0.2', '-W', '2', '10.251.0.2']);
    expect(ping.status, ping.stdout + ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(new RegExp(`${PINGS} packets transmitted, ${PINGS} received`));

    const afterIn = readCounters(counters, ifindexB, 'ingress');
    const afterOut = readCounters(counters, ifindexB, 'egress');
    // Echo requests arrive on B's ingress, replies leave by its egress (ARP adds a little).
    expect(afterIn.packets - beforeIn.packets).toBeGreaterThanOrEqual(BigInt(PINGS));
    expect(afterOut.packets - beforeOut.packets).toBeGreaterThanOrEqual(BigInt(PINGS));
    expect(afterIn.bytes - beforeIn.bytes).toBeGreaterThanOrEqual(BigInt(PINGS * 98));
    expect(afterIn.dropped).toBe(0n);

    // Detach both; nothing may be left at either hook.
    tc.detach(ingress);
    tc.detach(egress);
    attachments.splice(0);
    expect(tc.query(ingress)).toBeNull();
    expect(tc.query(egress)).toBeNull();
    expect(tc.list({ ifindex: ifindexB, direction: 'ingress', netns: nsB.path })).toEqual([]);
    expect(tc.list({ ifindex: ifindexB, direction: 'egress', netns: nsB.path })).toEqual([]);
    for (const hook of ['ingress', 'egress']) {
      const r = lab.exec(nsB, ['tc', 'filter', 'show', 'dev', endB.name, hook]);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe('');
    }
    expect(tc.destroyHook({ interface: endB.name, netns: nsB.path })).toBe(true);
    expect(lab.exec(nsB, ['tc', 'qdisc', 'show', 'dev', endB.name]).stdout).not.toContain('clsact');
    expect(tc.destroyHook({ interface: endB.name, netns: nsB.path })).toBe(false);

    // Unpin: the pin directory empties, then goes.
    expect(readdirSync(dir)).toEqual(['counters']);
    obj.unpinMaps();
    expect(readdirSync(dir)).toEqual([]);
    obj.close();
    removePinDir(dir);
    expect(existsSync(dir)).toBe(false);
    expect(currentNetns()).toBe(hostNetns);
  });

  it('drops real ICMP when loaded with drop_ipv4_proto = 1, and counts the drops', () => {
    const { obj } = load({ drop_ipv4_proto: 1 });
    const { ingress } = attachBoth(obj);
    const ping = lab.exec(nsA, ['ping', '-c', '3', '-i', '0.2', '-W', '1', '10.251.0.2']);
    expect(ping.status).not.toBe(0);
    expect(ping.stdout).toMatch(/3 packets transmitted, 0 received/);
    const c = readCounters(obj.map('counters'), ingress.ifindex, 'ingress');
    expect(c.dropped).toBeGreaterThanOrEqual(3n);
    expect(c.malformed).toBe(0n);
  });

  it('replaces a filter in place with replace: true', () => {
    const { obj } = load();
    const first = tc.attach({ interface: endB.name, direction: 'ingress', netns: nsB.path }, obj.program('count_ingress'), { handle: 7, priority: 3 });
    attachments.push(first);
    expect(first).toMatchObject({ handle: 7, priority: 3 });
    const second = tc.attach({ interface: endB.name, direction: 'ingress', netns: nsB.path }, obj.program('count_egress'), {
      handle: 7,
      priority: 3,
      replace: true,
    });
    expect(tc.query(first)).toMatchObject({ progId: second.progId, name: 'count_egress' });
    expect(tc.list({ ifindex: first.ifindex, direction: 'ingress', netns: nsB.path })).toHaveLength(1);
    let dup: unknown;
    try {
      tc.attach({ interface: endB.name, direction: 'ingress', netns: nsB.path }, obj.program('count_ingress'), { handle: 7, priority: 3 });
    } catch (err) {
      dup = err;
    }
    expect(dup).toMatchObject({ op: 'bpf_tc_attach', code: 'EEXIST' });
  });
});
